// CallLocalStream on the internal port: the request gathered from its frames, the app
// called once, the answer sent back in frames; malformed streams refused. Against our own
// GrpcServer and GrpcChannel on 127.0.0.1.
#include "api/grpc/internal_service.h"

#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <future>
#include <thread>

#include "api/grpc/client.h"
#include "blocks/invocation/invocation_block.h"
#include "channel/internal_invoke.h"

namespace dapr::grpcapi {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
namespace internals = channel::internals;

// An app that answers 201 with a header and a body of `answer_bytes` bytes, and keeps what it got.
class RecordingApp final : public channel::AppChannel {
 public:
  explicit RecordingApp(size_t answer_bytes) : answer_bytes_(answer_bytes) {}
  void Invoke(channel::AppRequest request, channel::AppCallback done) override {
    ++calls;
    seen = std::move(request);
    channel::AppResponse response;
    response.status = 201;
    response.content_type = "application/octet-stream";
    response.headers.emplace_back("x-app", "yes");
    response.body.resize(answer_bytes_);
    for (size_t i = 0; i < answer_bytes_; ++i) response.body[i] = static_cast<char>('a' + i % 26);
    done(std::move(response));
  }
  void CheckHealth(channel::AppRequest, std::function<void(bool)> done) override { done(true); }

  int calls = 0;
  channel::AppRequest seen;

 private:
  size_t answer_bytes_;
};

struct Answer {
  GrpcStatus status;
  std::vector<internals::InternalInvokeResponseStream> frames;
};

class CallLocalStreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<GrpcServer>(io_, GrpcServerOptions{{"127.0.0.1"}, 0, 4 << 20});
    AddServiceInvocationRpcs(*server_, invocation_, 256 << 10);
    ASSERT_TRUE(server_->Start().ok());
    thread_ = std::thread([this] { io_.run(); });
    channel_ = GrpcChannel::Create(io_, "127.0.0.1", server_->Port());
  }
  void TearDown() override {
    channel_->Close();
    server_->Stop();
    work_.reset();
    io_.stop();
    thread_.join();
  }

  // Sends the frames, then ends the request; waits for the answer.
  Answer Call(const std::vector<internals::InternalInvokeRequestStream>& frames) {
    auto answer = std::make_shared<std::promise<Answer>>();
    auto bytes = std::make_shared<std::string>();
    GrpcStreamCallbacks callbacks;
    callbacks.on_data = [bytes](std::string_view data) { bytes->append(data); };
    callbacks.on_close = [answer, bytes](GrpcStatus status, GrpcMetadata) {
      Answer result{std::move(status), {}};
      MessageReader reader(16 << 20);
      reader.Append(*bytes);
      for (auto message = reader.Next(); message.ok() && *message; message = reader.Next()) {
        result.frames.emplace_back().ParseFromString(**message);
      }
      answer->set_value(std::move(result));
    };
    auto stream = channel_->StartStream(channel::kCallLocalStreamMethod, {}, std::move(callbacks));
    for (const auto& frame : frames) EXPECT_TRUE(stream->Write(FrameMessage(frame.SerializeAsString())));
    stream->CloseSend();
    auto future = answer->get_future();
    EXPECT_EQ(future.wait_for(5s), std::future_status::ready);
    return future.get();
  }

  static internals::InternalInvokeRequestStream First() {
    channel::AppRequest request;
    request.verb = "POST";
    request.method = "orders/7";
    request.query = "x=1";
    request.content_type = "text/plain";
    request.headers.emplace_back("x-caller", "test");
    internals::InternalInvokeRequestStream frame;
    *frame.mutable_request() = channel::ToInternalRequest(std::move(request));
    return frame;
  }
  static internals::InternalInvokeRequestStream Payload(std::string data, uint64_t seq) {
    internals::InternalInvokeRequestStream frame;
    frame.mutable_payload()->set_data(std::move(data));
    frame.mutable_payload()->set_seq(seq);
    return frame;
  }

  RecordingApp app_{150 << 10};
  blocks::InvocationBlock invocation_{"app", "", &app_};
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_{io_.get_executor()};
  std::unique_ptr<GrpcServer> server_;
  std::thread thread_;
  std::shared_ptr<GrpcChannel> channel_;
};

TEST_F(CallLocalStreamTest, GathersTheBodyCallsTheAppOnceAndAnswersInFrames) {
  std::string body(200 << 10, 'q');
  auto first = First();
  *first.mutable_payload() = Payload(body.substr(0, 50 << 10), 0).payload();
  Answer answer = Call({first, Payload(body.substr(50 << 10, 100 << 10), 1),
                        Payload(body.substr(150 << 10), 2)});
  ASSERT_TRUE(answer.status.ok()) << answer.status.message;
  EXPECT_EQ(app_.calls, 1);
  EXPECT_EQ(app_.seen.verb, "POST");
  EXPECT_EQ(app_.seen.method, "orders/7");
  EXPECT_EQ(app_.seen.query, "x=1");
  EXPECT_EQ(app_.seen.body, body);
  ASSERT_FALSE(answer.frames.empty());
  ASSERT_TRUE(answer.frames[0].has_response());
  EXPECT_EQ(answer.frames[0].response().status().code(), 201);
  std::string got;
  for (size_t i = 0; i < answer.frames.size(); ++i) {
    EXPECT_EQ(answer.frames[i].has_response(), i == 0);
    EXPECT_EQ(answer.frames[i].payload().seq(), i);
    got += answer.frames[i].payload().data();
  }
  EXPECT_EQ(got.size(), 150u << 10);
  EXPECT_EQ(answer.frames.size(), 3u);  // 64 KiB payload frames
}

TEST_F(CallLocalStreamTest, RefusesPayloadOutOfSequence) {
  Answer answer = Call({First(), Payload("a", 0), Payload("b", 2)});
  EXPECT_EQ(answer.status.code, StatusCode::kInvalidArgument);
  EXPECT_EQ(app_.calls, 0);
}

TEST_F(CallLocalStreamTest, RefusesABodyOverTheLimit) {
  std::string chunk(100 << 10, 'x');
  Answer answer = Call({First(), Payload(chunk, 0), Payload(chunk, 1), Payload(chunk, 2)});
  EXPECT_EQ(answer.status.code, StatusCode::kResourceExhausted);
  EXPECT_EQ(app_.calls, 0);
}

TEST_F(CallLocalStreamTest, RefusesAStreamWithoutTheRequest) {
  Answer answer = Call({Payload("orphan", 0)});
  EXPECT_EQ(answer.status.code, StatusCode::kInvalidArgument);
  EXPECT_EQ(app_.calls, 0);
}

}  // namespace
}  // namespace dapr::grpcapi
