// The calling sidecar's side of CallLocalStream against another sidecar that misbehaves: a
// frame that does not parse, payload frames out of sequence, an answer that breaks off
// mid-frame, and a body shorter than the content-length it announced. Each ends the call
// with an error (never a hang, never a body taken as whole). The other sidecar is our own
// GrpcServer on 127.0.0.1 with a hand-written CallLocalStream handler.
#include "channel/call_local_stream.h"

#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <future>
#include <thread>

#include "api/grpc/server.h"
#include "api/grpc/wire.h"
#include "channel/internal_invoke.h"
#include "channel/payload_body.h"

namespace dapr::channel {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

// What the other sidecar answers, as raw bytes after reading the whole request.
using Script = std::function<void(std::shared_ptr<grpcapi::ServerStream>)>;

std::string ResponseFrame(uint64_t* seq_of_payload = nullptr, std::string payload = {},
                          std::optional<uint64_t> content_length = std::nullopt) {
  internals::InternalInvokeResponseStream first;
  first.mutable_response()->mutable_status()->set_code(200);
  if (content_length) PutContentLength(*content_length, *first.mutable_response()->mutable_headers());
  if (seq_of_payload) {
    first.mutable_payload()->set_data(std::move(payload));
    first.mutable_payload()->set_seq(*seq_of_payload);
  }
  return grpcapi::FrameMessage(first.SerializeAsString());
}

struct Outcome {
  grpcapi::GrpcStatus status;
  std::string body;
  Status body_status = Status::Ok();
};

class CallLocalStreamClientTest : public ::testing::Test {
 protected:
  void Start(Script script) {
    server_ = std::make_unique<grpcapi::GrpcServer>(io_, grpcapi::GrpcServerOptions{{"127.0.0.1"}, 0, 4 << 20});
    server_->AddStream(kCallLocalStreamMethod, [script](std::shared_ptr<grpcapi::ServerStream> stream) {
      stream->OnRequest([](std::string_view) {}, [stream, script] { script(stream); }, [] {});
    });
    ASSERT_TRUE(server_->Start().ok());
    thread_ = std::thread([this] { io_.run(); });
    channel_ = grpcapi::GrpcChannel::Create(io_, "127.0.0.1", server_->Port());
  }
  void TearDown() override {
    if (channel_) channel_->Close();
    if (server_) server_->Stop();
    work_.reset();
    io_.stop();
    if (thread_.joinable()) thread_.join();
  }

  // One call with a small request; the answer's body read to its end when it streams.
  Outcome Call() {
    auto done = std::make_shared<std::promise<Outcome>>();
    AppRequest request;
    request.method = "m";
    request.body = "hi";
    request.stream_response = true;
    asio::post(io_, [this, done, request = std::move(request)]() mutable {
      CallLocalStream(*channel_, std::move(request), [done](grpcapi::GrpcStatus status, AppResponse answer) {
        auto outcome = std::make_shared<Outcome>();
        outcome->status = std::move(status);
        outcome->body = std::move(answer.body);
        if (!answer.body_reader) return done->set_value(*outcome);
        ReadAll(std::move(answer.body_reader), outcome, done);
      });
    });
    auto future = done->get_future();
    if (future.wait_for(10s) != std::future_status::ready) {
      ADD_FAILURE() << "the call did not end";
      return {};
    }
    return future.get();
  }

  static void ReadAll(std::shared_ptr<BodyReader> reader, std::shared_ptr<Outcome> outcome,
                      std::shared_ptr<std::promise<Outcome>> done) {
    reader->Read([reader, outcome, done](Status status, BodyPiece piece) {
      outcome->body += piece.bytes;
      if (!status.ok()) {
        outcome->body_status = std::move(status);
        return done->set_value(*outcome);
      }
      if (piece.last) return done->set_value(*outcome);
      ReadAll(reader, outcome, done);
    });
  }

  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_ = asio::make_work_guard(io_);
  std::unique_ptr<grpcapi::GrpcServer> server_;
  std::shared_ptr<grpcapi::GrpcChannel> channel_;
  std::thread thread_;
};

TEST_F(CallLocalStreamClientTest, AWellFormedAnswerComesBackWhole) {
  Start([](std::shared_ptr<grpcapi::ServerStream> stream) {
    uint64_t seq = 0;
    stream->EndWith(ResponseFrame(&seq, "answer"), grpcapi::GrpcStatus::Ok(), {});
  });
  Outcome outcome = Call();
  EXPECT_TRUE(outcome.status.ok()) << outcome.status.message;
  EXPECT_EQ(outcome.body, "answer");
}

TEST_F(CallLocalStreamClientTest, AFrameThatDoesNotParseFailsTheCall) {
  Start([](std::shared_ptr<grpcapi::ServerStream> stream) {
    stream->EndWith(grpcapi::FrameMessage(std::string("\xff\xff\xff\xff\x0f garbage", 13)),
                   grpcapi::GrpcStatus::Ok(), {});
  });
  Outcome outcome = Call();
  EXPECT_FALSE(outcome.status.ok());
  EXPECT_NE(outcome.status.message.find("malformed"), std::string::npos) << outcome.status.message;
}

TEST_F(CallLocalStreamClientTest, PayloadFramesOutOfSequenceFailTheCall) {
  Start([](std::shared_ptr<grpcapi::ServerStream> stream) {
    uint64_t seq = 0;
    std::string bytes = ResponseFrame(&seq, "first");
    bytes += FramedPayload("skipped one", 2);  // 1 is missing
    stream->EndWith(std::move(bytes), grpcapi::GrpcStatus::Ok(), {});
  });
  Outcome outcome = Call();
  EXPECT_FALSE(outcome.status.ok() && outcome.body_status.ok());
  std::string why = outcome.status.ok() ? outcome.body_status.message() : outcome.status.message;
  EXPECT_NE(why.find("out of sequence"), std::string::npos) << why;
}

TEST_F(CallLocalStreamClientTest, AnAnswerThatEndsMidFrameIsNotTakenAsWhole) {
  Start([](std::shared_ptr<grpcapi::ServerStream> stream) {
    uint64_t seq = 0;
    std::string bytes = ResponseFrame(&seq, "first");
    std::string next = FramedPayload("second piece", 1);
    bytes += next.substr(0, next.size() - 4);
    stream->EndWith(std::move(bytes), grpcapi::GrpcStatus::Ok(), {});
  });
  Outcome outcome = Call();
  EXPECT_FALSE(outcome.status.ok() && outcome.body_status.ok()) << "body: " << outcome.body;
}

TEST_F(CallLocalStreamClientTest, AStreamedAnswerShorterThanItsContentLengthBreaksOff) {
  // The answer's end comes in a later write than its first frame, so its body streams.
  Start([](std::shared_ptr<grpcapi::ServerStream> stream) {
    stream->SendData(ResponseFrame(nullptr, {}, 100));
    std::thread([stream] {
      std::this_thread::sleep_for(50ms);
      stream->SendData(FramedPayload("only ten b", 0));
      stream->End(grpcapi::GrpcStatus::Ok(), {});
    }).detach();
  });
  Outcome outcome = Call();
  ASSERT_TRUE(outcome.status.ok()) << outcome.status.message;
  EXPECT_EQ(outcome.body_status.code(), StatusCode::kInvalidArgument) << outcome.body_status.message();
}

}  // namespace
}  // namespace dapr::channel
