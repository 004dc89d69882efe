// Tests for GrpcChannel (client.h), end to end against our own GrpcServer (server.h) on
// 127.0.0.1, on ports the kernel picks.
#include "api/grpc/client.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "api/grpc/server.h"

namespace dapr::grpcapi {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

const std::string kEcho = "/test.Echo/Echo";
const std::string kFail = "/test.Echo/Fail";
const std::string kHold = "/test.Echo/Hold";
const std::string kLarge = "/test.Echo/Large";
const std::string kUpper = "/test.Stream/Upper";
const std::string kRefuse = "/test.Stream/Refuse";
const std::string kForever = "/test.Stream/Forever";
const std::string kHoldWindow = "/test.Stream/HoldWindow";
const std::string kPour = "/test.Stream/Pour";

// What a flow-controlled server stream has seen, and the stream, so that a test decides
// when its bytes are passed on.
struct HeldStream {
  std::mutex mutex;
  std::shared_ptr<ServerStream> stream;
  size_t received = 0;
  bool ended = false;
  bool sent = false;  // WhenSent ran
};

// What a client stream saw, complete once on_close ran.
struct StreamRecord {
  std::mutex mutex;
  std::condition_variable closed_cv;
  GrpcMetadata headers;
  std::string data;
  std::optional<GrpcStatus> status;
  GrpcMetadata trailers;

  GrpcStreamCallbacks Callbacks(const std::shared_ptr<StreamRecord>& self) {
    GrpcStreamCallbacks callbacks;
    callbacks.on_headers = [self](GrpcMetadata h) { std::lock_guard l(self->mutex); self->headers = std::move(h); };
    callbacks.on_data = [self](std::string_view b) { std::lock_guard l(self->mutex); self->data.append(b); };
    callbacks.on_close = [self](GrpcStatus st, GrpcMetadata t) {
      std::lock_guard l(self->mutex);
      self->status = std::move(st);
      self->trailers = std::move(t);
      self->closed_cv.notify_all();
    };
    return callbacks;
  }
  bool WaitClosed(std::chrono::milliseconds timeout) {
    std::unique_lock l(mutex);
    return closed_cv.wait_for(l, timeout, [&] { return status.has_value(); });
  }
};

// A port nothing listens on right now.
uint16_t FreePort() {
  asio::io_context io;
  asio::ip::tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
  return acceptor.local_endpoint().port();
}

std::optional<std::string> Find(const GrpcMetadata& metadata, std::string_view key) {
  for (const auto& [k, v] : metadata) {
    if (k == key) return v;
  }
  return std::nullopt;
}

// Calls a handler keeps unanswered, so that the test decides when they end.
class HeldCalls {
 public:
  void Hold(std::shared_ptr<ServerCall> call) {
    std::lock_guard lock(mutex_);
    calls_.push_back(std::move(call));
    ++total_;
    changed_.notify_all();
  }
  bool WaitForTotal(size_t count, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return total_ >= count; });
  }
  size_t total() {
    std::lock_guard lock(mutex_);
    return total_;
  }
  // Answers each held call with its own request.
  void EchoAll() {
    std::vector<std::shared_ptr<ServerCall>> calls;
    {
      std::lock_guard lock(mutex_);
      calls.swap(calls_);
    }
    for (auto& call : calls) call->Finish(GrpcStatus::Ok(), std::string(call->request()));
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::shared_ptr<ServerCall>> calls_;
  size_t total_ = 0;
};

// Replies collected from many calls.
class Replies {
 public:
  void Add(GrpcReply reply) {
    std::lock_guard lock(mutex_);
    replies_.push_back(std::move(reply));
    changed_.notify_all();
  }
  bool WaitFor(size_t count, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return replies_.size() >= count; });
  }
  std::vector<GrpcReply> Take() {
    std::lock_guard lock(mutex_);
    return std::move(replies_);
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<GrpcReply> replies_;
};

class GrpcClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    io_thread_ = std::thread([this] { io_.run(); });
    port_ = FreePort();
    channel_ = GrpcChannel::Create(io_, "127.0.0.1", port_);
  }

  void TearDown() override {
    held_->EchoAll();
    channel_->Close();
    if (server_) server_->Stop();
    work_.reset();
    io_.stop();
    io_thread_.join();
  }

  // A server on port_ with the test methods. Binding may have to wait for a server that
  // was just stopped to close its acceptor (on the loop).
  void StartServer() {
    server_ = std::make_unique<GrpcServer>(io_, GrpcServerOptions{{"127.0.0.1"}, port_, 4 << 20});
    server_->AddUnary(kEcho, [](std::shared_ptr<ServerCall> call) {
      std::string answer(call->request());
      answer += "|" + std::string(call->Metadata("x-key").value_or("-"));
      answer += "|" + std::string(call->Metadata("x-data-bin").value_or("-"));
      call->Finish(GrpcStatus::Ok(), std::move(answer));
    });
    server_->AddUnary(kFail, [](std::shared_ptr<ServerCall> call) {
      call->Finish({StatusCode::kFailedPrecondition, "état 100% échoué",
                    std::string("\x08\x09\x00\xff", 4)});
    });
    server_->AddUnary(
        kHold, [held = held_](std::shared_ptr<ServerCall> call) { held->Hold(std::move(call)); });
    server_->AddUnary(kLarge, [](std::shared_ptr<ServerCall> call) {
      size_t size = std::stoul(std::string(call->request()));
      std::string answer(size, '\0');
      for (size_t i = 0; i < size; ++i) answer[i] = static_cast<char>(i * 7 + i / 251);
      call->Finish(GrpcStatus::Ok(), std::move(answer));
    });
    // Streams: Upper answers each request piece upper-cased, with a header first and a
    // trailer at the end; Refuse ends at once with an error; Forever answers nothing and
    // counts cancels.
    server_->AddStream(kUpper, [](std::shared_ptr<ServerStream> stream) {
      stream->SendHeaders({{"x-stream", "yes"}});
      stream->OnRequest(
          [stream](std::string_view bytes) {
            std::string upper(bytes);
            for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
            stream->SendData(std::move(upper));
          },
          [stream] { stream->End(GrpcStatus::Ok(), {{"x-done", "1"}}); }, [] {});
    });
    server_->AddStream(kRefuse, [](std::shared_ptr<ServerStream> stream) {
      stream->End({StatusCode::kPermissionDenied, "not you", {}}, {{"x-why", "test"}});
    });
    // HoldWindow holds its request window and records what arrives; Pour sends 8 MiB in
    // 64 KiB pieces and records when all of it was taken for sending.
    server_->AddStream(kHoldWindow, [held = held_stream_](std::shared_ptr<ServerStream> stream) {
      stream->HoldRequestWindow();
      {
        std::lock_guard lock(held->mutex);
        held->stream = stream;
      }
      stream->OnRequest(
          [held](std::string_view bytes) {
            std::lock_guard lock(held->mutex);
            held->received += bytes.size();
          },
          [held, stream] {
            std::lock_guard lock(held->mutex);
            held->ended = true;
            stream->End(GrpcStatus::Ok(), {});
          },
          [] {});
    });
    server_->AddStream(kPour, [held = held_stream_](std::shared_ptr<ServerStream> stream) {
      for (int i = 0; i < 128; ++i) stream->SendData(std::string(64 << 10, 'p'));
      stream->WhenSent([held, stream] {
        std::lock_guard lock(held->mutex);
        held->sent = true;
        stream->End(GrpcStatus::Ok(), {});
      });
      stream->OnRequest([](std::string_view) {}, [] {}, [] {});
    });
    server_->AddStream(kForever, [cancels = cancels_](std::shared_ptr<ServerStream> stream) {
      stream->OnRequest([](std::string_view) {}, [] {}, [cancels] { cancels->fetch_add(1); });
    });
    auto until = Clock::now() + 1s;
    Status started = server_->Start();
    while (!started.ok() && Clock::now() < until) {
      std::this_thread::sleep_for(10ms);
      started = server_->Start();
    }
    ASSERT_TRUE(started.ok()) << started.message();
  }

  void StopServer() {
    server_->Stop();
    server_.reset();
  }

  GrpcReply CallAndWait(const std::string& path, std::string request, GrpcCallOptions options = {},
                        GrpcChannel* channel = nullptr) {
    auto done = std::make_shared<std::promise<GrpcReply>>();
    auto reply = done->get_future();
    (channel ? channel : channel_.get())
        ->Call(path, std::move(request), std::move(options),
               [done](GrpcReply reply) { done->set_value(std::move(reply)); });
    if (reply.wait_for(3s) != std::future_status::ready) {
      ADD_FAILURE() << "no reply within 3 s";
      return {{StatusCode::kUnknown, "test: no reply", {}}, {}, {}, {}};
    }
    return reply.get();
  }

  void ExpectEchoWorks() {
    GrpcReply reply = CallAndWait(kEcho, "again");
    EXPECT_TRUE(reply.status.ok()) << reply.status.message;
    EXPECT_EQ(reply.message, "again|-|-");
  }

  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_ = asio::make_work_guard(io_);
  std::thread io_thread_;
  uint16_t port_ = 0;
  std::shared_ptr<HeldCalls> held_ = std::make_shared<HeldCalls>();
  std::shared_ptr<std::atomic<int>> cancels_ = std::make_shared<std::atomic<int>>(0);
  std::shared_ptr<HeldStream> held_stream_ = std::make_shared<HeldStream>();
  std::unique_ptr<GrpcServer> server_;
  std::shared_ptr<GrpcChannel> channel_;
};

TEST_F(GrpcClientTest, UnaryCallRoundTripsBytesAndMetadata) {
  StartServer();
  std::string binary("\x00\xff\x10 bin\n", 8);
  GrpcCallOptions options;
  options.metadata = {{"x-key", "value-1"}, {"x-data-bin", binary}};
  std::string request("req\x00\x01", 5);

  GrpcReply reply = CallAndWait(kEcho, request, options);

  ASSERT_TRUE(reply.status.ok()) << reply.status.message;
  EXPECT_EQ(reply.message, request + "|value-1|" + binary);
  EXPECT_EQ(Find(reply.headers, "content-type"), "application/grpc");
  EXPECT_FALSE(Find(reply.trailers, "grpc-status"));  // in reply.status, not relayed
}

TEST_F(GrpcClientTest, ErrorStatusRoundTripsMessageAndDetails) {
  StartServer();
  GrpcReply reply = CallAndWait(kFail, "x");
  EXPECT_EQ(reply.status.code, StatusCode::kFailedPrecondition);
  EXPECT_EQ(reply.status.message, "état 100% échoué");
  EXPECT_EQ(reply.status.details, std::string("\x08\x09\x00\xff", 4));
  EXPECT_TRUE(reply.message.empty());
}

TEST_F(GrpcClientTest, UnknownMethodIsUnimplemented) {
  StartServer();
  GrpcReply reply = CallAndWait("/test.Echo/Nope", "x");
  EXPECT_EQ(reply.status.code, StatusCode::kUnimplemented);
  EXPECT_NE(reply.status.message.find("/test.Echo/Nope"), std::string::npos);
}

TEST_F(GrpcClientTest, TimeoutEndsDeadlineExceededAndChannelStillWorks) {
  StartServer();
  GrpcCallOptions options;
  options.timeout = 100ms;
  auto start = Clock::now();
  GrpcReply reply = CallAndWait(kHold, "slow", options);
  auto elapsed = Clock::now() - start;
  EXPECT_EQ(reply.status.code, StatusCode::kDeadlineExceeded) << reply.status.message;
  EXPECT_GE(elapsed, 90ms);
  EXPECT_LT(elapsed, 1s);
  held_->EchoAll();  // a late answer to a cancelled stream is dropped
  ExpectEchoWorks();
}

// A peer that accepts and never speaks: only the client's own timer can end the call.
TEST_F(GrpcClientTest, DeadlineIsEnforcedLocally) {
  asio::ip::tcp::acceptor silent(io_, {asio::ip::make_address("127.0.0.1"), 0});
  asio::ip::tcp::socket peer(io_);
  silent.async_accept(peer, [](boost::system::error_code) {});
  auto channel = GrpcChannel::Create(io_, "127.0.0.1", silent.local_endpoint().port());
  GrpcCallOptions options;
  options.timeout = 100ms;
  auto start = Clock::now();
  GrpcReply reply = CallAndWait(kEcho, "x", options, channel.get());
  EXPECT_EQ(reply.status.code, StatusCode::kDeadlineExceeded) << reply.status.message;
  EXPECT_LT(Clock::now() - start, 1s);
  channel->Close();
  std::promise<void> closed;
  asio::post(io_, [&] {
    boost::system::error_code ignored;
    silent.close(ignored);
    peer.close(ignored);
    closed.set_value();
  });
  closed.get_future().wait();
}

TEST_F(GrpcClientTest, ManyConcurrentCallsShareTheChannel) {
  StartServer();
  constexpr size_t kCalls = 200;
  Replies replies;
  for (size_t i = 0; i < kCalls; ++i) {
    channel_->Call(kHold, "call-" + std::to_string(i), {},
                   [&replies](GrpcReply reply) { replies.Add(std::move(reply)); });
  }
  // All of them reach the handler before any is answered: they are in flight together.
  ASSERT_TRUE(held_->WaitForTotal(kCalls, 2s)) << held_->total();
  held_->EchoAll();
  ASSERT_TRUE(replies.WaitFor(kCalls, 2s));
  std::vector<bool> seen(kCalls, false);
  for (auto& reply : replies.Take()) {
    ASSERT_TRUE(reply.status.ok()) << reply.status.message;
    seen[std::stoul(reply.message.substr(5))] = true;
  }
  EXPECT_EQ(std::count(seen.begin(), seen.end(), true), static_cast<long>(kCalls));
}

// Our server allows 1000 streams per connection: the calls beyond wait for a free one
// instead of being refused.
TEST_F(GrpcClientTest, CallsBeyondMaxConcurrentStreamsWait) {
  StartServer();
  constexpr size_t kCalls = 1100;
  Replies replies;
  for (size_t i = 0; i < kCalls; ++i) {
    channel_->Call(kHold, "call-" + std::to_string(i), {},
                   [&replies](GrpcReply reply) { replies.Add(std::move(reply)); });
  }
  ASSERT_TRUE(held_->WaitForTotal(1000, 2s)) << held_->total();
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(held_->total(), 1000u);
  EXPECT_TRUE(replies.Take().empty());
  held_->EchoAll();
  ASSERT_TRUE(held_->WaitForTotal(kCalls, 2s)) << held_->total();
  held_->EchoAll();
  ASSERT_TRUE(replies.WaitFor(kCalls, 2s));
  for (auto& reply : replies.Take()) ASSERT_TRUE(reply.status.ok()) << reply.status.message;
}

TEST_F(GrpcClientTest, NothingListeningIsUnavailable) {
  auto start = Clock::now();
  GrpcReply reply = CallAndWait(kEcho, "x");
  EXPECT_EQ(reply.status.code, StatusCode::kUnavailable);
  EXPECT_NE(reply.status.message.find("failed to connect to 127.0.0.1:" + std::to_string(port_)),
            std::string::npos)
      << reply.status.message;
  EXPECT_LT(Clock::now() - start, 500ms);
}

TEST_F(GrpcClientTest, ReconnectsAfterTheServerComesBack) {
  StartServer();
  ExpectEchoWorks();
  StopServer();

  GrpcReply reply = CallAndWait(kEcho, "x");
  EXPECT_EQ(reply.status.code, StatusCode::kUnavailable) << reply.status.message;

  StartServer();
  ExpectEchoWorks();
}

TEST_F(GrpcClientTest, CloseFailsCallsInFlightAndTheChannelReconnects) {
  StartServer();
  auto done = std::make_shared<std::promise<GrpcReply>>();
  channel_->Call(kHold, "x", {}, [done](GrpcReply reply) { done->set_value(std::move(reply)); });
  ASSERT_TRUE(held_->WaitForTotal(1, 2s));
  channel_->Close();
  auto reply = done->get_future();
  ASSERT_EQ(reply.wait_for(2s), std::future_status::ready);
  EXPECT_EQ(reply.get().status.code, StatusCode::kUnavailable);
  ExpectEchoWorks();
}

TEST_F(GrpcClientTest, LargeResponseRoundTrips) {
  StartServer();
  constexpr size_t kSize = 3 << 20;
  GrpcReply reply = CallAndWait(kLarge, std::to_string(kSize));
  ASSERT_TRUE(reply.status.ok()) << reply.status.message;
  ASSERT_EQ(reply.message.size(), kSize);
  bool same = true;
  for (size_t i = 0; i < kSize && same; ++i)
    same = reply.message[i] == static_cast<char>(i * 7 + i / 251);
  EXPECT_TRUE(same);
}

TEST_F(GrpcClientTest, LargeRequestRoundTrips) {
  StartServer();
  std::string request(2 << 20, 'r');
  GrpcReply reply = CallAndWait(kEcho, request);
  ASSERT_TRUE(reply.status.ok()) << reply.status.message;
  EXPECT_EQ(reply.message, request + "|-|-");
}

TEST_F(GrpcClientTest, ResponseOverTheLimitIsResourceExhausted) {
  StartServer();
  GrpcCallOptions options;
  options.max_response_bytes = 1 << 20;
  GrpcReply reply = CallAndWait(kLarge, std::to_string(2 << 20), options);
  EXPECT_EQ(reply.status.code, StatusCode::kResourceExhausted) << reply.status.message;
  ExpectEchoWorks();
}

TEST_F(GrpcClientTest, HostMustBeNumeric) {
  auto channel = GrpcChannel::Create(io_, "example.invalid", 80);
  GrpcReply reply = CallAndWait(kEcho, "x", {}, channel.get());
  EXPECT_EQ(reply.status.code, StatusCode::kInvalidArgument);
}

TEST(GrpcClientHttpStatus, MapsAsGrpcDoes) {
  EXPECT_EQ(GrpcCodeForHttpStatus(400), StatusCode::kInternal);
  EXPECT_EQ(GrpcCodeForHttpStatus(401), StatusCode::kUnauthenticated);
  EXPECT_EQ(GrpcCodeForHttpStatus(403), StatusCode::kPermissionDenied);
  EXPECT_EQ(GrpcCodeForHttpStatus(404), StatusCode::kUnimplemented);
  EXPECT_EQ(GrpcCodeForHttpStatus(429), StatusCode::kUnavailable);
  EXPECT_EQ(GrpcCodeForHttpStatus(502), StatusCode::kUnavailable);
  EXPECT_EQ(GrpcCodeForHttpStatus(503), StatusCode::kUnavailable);
  EXPECT_EQ(GrpcCodeForHttpStatus(504), StatusCode::kUnavailable);
  EXPECT_EQ(GrpcCodeForHttpStatus(500), StatusCode::kUnknown);
}

TEST_F(GrpcClientTest, AStreamCarriesBytesBothWaysWithHeadersAndTrailers) {
  StartServer();
  auto record = std::make_shared<StreamRecord>();
  auto stream = channel_->StartStream(kUpper, {}, record->Callbacks(record));
  for (const std::string& piece : {std::string("abc"), std::string("def"), std::string(100000, 'x')}) {
    ASSERT_TRUE(stream->Write(piece));
  }
  stream->CloseSend();
  ASSERT_TRUE(record->WaitClosed(5s));
  std::lock_guard lock(record->mutex);
  EXPECT_TRUE(record->status->ok()) << record->status->message;
  EXPECT_EQ(record->data, "ABCDEF" + std::string(100000, 'X'));
  EXPECT_EQ(Find(record->headers, "x-stream"), "yes");
  EXPECT_EQ(Find(record->trailers, "x-done"), "1");
}

TEST_F(GrpcClientTest, AStreamRefusedAtOnceGetsTheStatusAndItsMetadataAsTrailers) {
  StartServer();
  auto record = std::make_shared<StreamRecord>();
  auto stream = channel_->StartStream(kRefuse, {}, record->Callbacks(record));
  stream->CloseSend();
  ASSERT_TRUE(record->WaitClosed(5s));
  std::lock_guard lock(record->mutex);
  EXPECT_EQ(record->status->code, StatusCode::kPermissionDenied);
  EXPECT_EQ(record->status->message, "not you");
  EXPECT_EQ(Find(record->trailers, "x-why"), "test");
}

TEST_F(GrpcClientTest, CancellingAStreamEndsItOnBothSides) {
  StartServer();
  auto record = std::make_shared<StreamRecord>();
  auto stream = channel_->StartStream(kForever, {}, record->Callbacks(record));
  ASSERT_TRUE(stream->Write("hello"));
  auto until = Clock::now() + 2s;
  std::this_thread::sleep_for(50ms);  // let the stream reach the server
  stream->Cancel();
  ASSERT_TRUE(record->WaitClosed(5s));
  while (cancels_->load() == 0 && Clock::now() < until) std::this_thread::sleep_for(5ms);
  EXPECT_EQ(cancels_->load(), 1);
  std::lock_guard lock(record->mutex);
  EXPECT_EQ(record->status->code, StatusCode::kCancelled);
}

TEST_F(GrpcClientTest, AStreamsDeadlineEndsItDeadlineExceeded) {
  StartServer();
  auto record = std::make_shared<StreamRecord>();
  GrpcCallOptions options;
  options.timeout = 100ms;
  auto started = Clock::now();
  auto stream = channel_->StartStream(kForever, std::move(options), record->Callbacks(record));
  ASSERT_TRUE(record->WaitClosed(5s));
  EXPECT_LT(Clock::now() - started, 2s);
  std::lock_guard lock(record->mutex);
  EXPECT_EQ(record->status->code, StatusCode::kDeadlineExceeded);
}

// The stream window is 1 MiB: that, and not the 8 MiB written, is what may arrive before
// the receiver passes anything on.
constexpr size_t kMostAhead = (1 << 20) + (64 << 10);

TEST_F(GrpcClientTest, AServerStreamHoldingItsWindowLetsTheClientOnlyAWindowAhead) {
  StartServer();
  auto record = std::make_shared<StreamRecord>();
  auto stream = channel_->StartStream(kHoldWindow, {}, record->Callbacks(record));
  auto all_taken = std::make_shared<std::atomic<bool>>(false);
  for (int i = 0; i < 32; ++i) ASSERT_TRUE(stream->Write(std::string(256 << 10, 'w')));
  stream->CloseSend();
  stream->WhenSent([all_taken] { all_taken->store(true); });
  std::this_thread::sleep_for(300ms);
  size_t early;
  {
    std::lock_guard lock(held_stream_->mutex);
    early = held_stream_->received;
  }
  EXPECT_GT(early, 0u);
  EXPECT_LE(early, kMostAhead);
  EXPECT_FALSE(all_taken->load());
  // Passing on what came lets more come, until all 8 MiB are in.
  auto until = Clock::now() + 5s;
  size_t released = 0;
  for (;;) {
    {
      std::lock_guard lock(held_stream_->mutex);
      if (held_stream_->ended || Clock::now() > until) break;
      held_stream_->stream->Consumed(held_stream_->received - released);
      released = held_stream_->received;
    }
    std::this_thread::sleep_for(1ms);
  }
  ASSERT_TRUE(record->WaitClosed(5s));
  std::lock_guard lock(held_stream_->mutex);
  EXPECT_EQ(held_stream_->received, 8u << 20);
  EXPECT_TRUE(all_taken->load());
}

TEST_F(GrpcClientTest, AClientStreamHoldingItsWindowHoldsTheServerBack) {
  StartServer();
  auto received = std::make_shared<std::atomic<size_t>>(0);
  auto record = std::make_shared<StreamRecord>();
  GrpcStreamCallbacks callbacks = record->Callbacks(record);
  callbacks.on_data = [received](std::string_view bytes) { received->fetch_add(bytes.size()); };
  GrpcCallOptions options;
  options.hold_response_window = true;
  auto stream = channel_->StartStream(kPour, std::move(options), std::move(callbacks));
  stream->CloseSend();
  std::this_thread::sleep_for(300ms);
  EXPECT_GT(received->load(), 0u);
  EXPECT_LE(received->load(), kMostAhead);
  {
    std::lock_guard lock(held_stream_->mutex);
    EXPECT_FALSE(held_stream_->sent);  // the server's WhenSent waits for the window
  }
  auto until = Clock::now() + 5s;
  size_t released = 0;
  while (!record->WaitClosed(1ms) && Clock::now() < until) {
    size_t now = received->load();
    stream->Consumed(now - released);
    released = now;
  }
  EXPECT_EQ(received->load(), 8u << 20);
  std::lock_guard lock(held_stream_->mutex);
  EXPECT_TRUE(held_stream_->sent);
}

}  // namespace
}  // namespace dapr::grpcapi
