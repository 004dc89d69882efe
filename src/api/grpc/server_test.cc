// Tests for GrpcServer (server.h) and the typed unary helpers (unary.h), end to end: a real
// server on 127.0.0.1 driven by gRPC's own C++ client.
#include "api/grpc/server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
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

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <google/protobuf/util/message_differencer.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "api/grpc/dapr_service.h"
#include "api/grpc/unary.h"
#include "common/worker_pool.h"
#include "dapr/proto/runtime/v1/dapr.grpc.pb.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "security/api_token.h"

namespace dapr::grpcapi {
namespace {

namespace asio = boost::asio;
namespace runtime = dapr::proto::runtime::v1;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// A port nothing listens on right now: the server binds the port it is given, so the
// test asks the kernel for a free one and releases it.
uint16_t FreePort() {
  asio::io_context io;
  asio::ip::tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
  return acceptor.local_endpoint().port();
}

// A channel of its own (no subchannel shared with other channels), so that one test's
// connection state cannot leak into another channel.
std::shared_ptr<grpc::Channel> NewChannel(uint16_t port) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(port),
                                   grpc::InsecureChannelCredentials(), args);
}

void SetDeadline(grpc::ClientContext& context, std::chrono::milliseconds timeout) {
  context.set_deadline(std::chrono::system_clock::now() + timeout);
}

// GetStateResponse serialized, as a handler built on the raw AddUnary answers.
std::string StateResponse(std::string_view data, std::string_view etag) {
  runtime::GetStateResponse response;
  response.set_data(std::string(data));
  response.set_etag(std::string(etag));
  return response.SerializeAsString();
}

// A GetState call started with the callback API, so that the test can act while it is
// in flight. Shared with the callback, which may outlive a failed test's scope.
struct PendingGetState {
  grpc::ClientContext context;
  runtime::GetStateRequest request;
  runtime::GetStateResponse response;
  std::promise<grpc::Status> done;
  std::future<grpc::Status> status = done.get_future();
};

std::shared_ptr<PendingGetState> StartGetState(runtime::Dapr::Stub& stub, std::string key,
                                               std::optional<std::chrono::milliseconds> timeout) {
  auto call = std::make_shared<PendingGetState>();
  call->request.set_key(std::move(key));
  if (timeout) SetDeadline(call->context, *timeout);
  stub.async()->GetState(&call->context, &call->request, &call->response,
                         [call](grpc::Status status) { call->done.set_value(status); });
  return call;
}

// A unary call of raw bytes to any path, for requests the typed stub cannot produce.
grpc::Status RawCall(const std::shared_ptr<grpc::Channel>& channel, const std::string& path,
                     std::string_view bytes) {
  grpc::GenericStub stub(channel);
  grpc::Slice slice(bytes.data(), bytes.size());
  grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer response;
  grpc::ClientContext context;
  SetDeadline(context, 2000ms);
  std::promise<grpc::Status> done;
  stub.UnaryCall(&context, path, grpc::StubOptions(), &request, &response,
                 [&done](grpc::Status status) { done.set_value(status); });
  return done.get_future().get();
}

// Calls a handler keeps unanswered, so that the test decides when they end.
class HeldCalls {
 public:
  void Hold(std::shared_ptr<ServerCall> call) {
    std::lock_guard lock(mutex_);
    calls_.push_back(std::move(call));
    changed_.notify_all();
  }

  bool WaitForCount(size_t count, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return calls_.size() >= count; });
  }

  void FinishAll(const GrpcStatus& status, const std::string& response = {}) {
    std::vector<std::shared_ptr<ServerCall>> calls;
    {
      std::lock_guard lock(mutex_);
      calls.swap(calls_);
    }
    for (auto& call : calls) call->Finish(status, response);
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::shared_ptr<ServerCall>> calls_;
};

// Polls until the server counts `expected` calls in flight, or the timeout passes.
bool WaitForInFlight(const GrpcServer& server, size_t expected, std::chrono::milliseconds timeout) {
  auto until = Clock::now() + timeout;
  while (server.InFlight() != expected) {
    if (Clock::now() > until) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

const std::string kGetState = DaprMethod("GetState");
const std::string kGetBulkState = DaprMethod("GetBulkState");

class GrpcServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    io_thread_ = std::thread([this] { io_.run(); });
    CreateServer(GrpcServerOptions{});
  }

  void TearDown() override {
    held_.FinishAll(GrpcStatus::Ok());
    server_->Stop();
    work_.reset();
    io_.stop();
    io_thread_.join();
    pool_.Stop();
  }

  // Replaces the server (before Start) by one with these options, on a fresh free port.
  void CreateServer(GrpcServerOptions options) {
    port_ = FreePort();
    options.listen_addresses = {"127.0.0.1"};
    options.port = port_;
    server_ = std::make_unique<GrpcServer>(io_, std::move(options));
  }

  void StartServer() {
    Status started = server_->Start();
    ASSERT_TRUE(started.ok()) << started.message();
    channel_ = NewChannel(port_);
    stub_ = runtime::Dapr::NewStub(channel_);
  }

  // GetState whose handler echoes the key into data and the store name into etag.
  void AddEchoGetState() {
    server_->AddUnary(kGetState, [](std::shared_ptr<ServerCall> call) {
      runtime::GetStateRequest request;
      if (!request.ParseFromArray(call->request().data(),
                                  static_cast<int>(call->request().size()))) {
        return call->Finish({StatusCode::kInvalidArgument, "test: bad request", {}});
      }
      call->Finish(GrpcStatus::Ok(),
                   StateResponse("value of " + request.key(), "etag-" + request.store_name()));
    });
  }

  // A GetState handler that keeps every call in held_.
  void AddHoldingGetState() {
    server_->AddUnary(kGetState, [this](std::shared_ptr<ServerCall> call) {
      held_.Hold(std::move(call));
    });
  }

  grpc::Status GetState(const std::string& key, runtime::GetStateResponse* response,
                        std::chrono::milliseconds timeout = 2000ms) {
    grpc::ClientContext context;
    SetDeadline(context, timeout);
    runtime::GetStateRequest request;
    request.set_key(key);
    return stub_->GetState(&context, request, response);
  }

  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_ = asio::make_work_guard(io_);
  std::thread io_thread_;
  WorkerPool pool_{4};
  security::ApiToken no_token_;
  HeldCalls held_;
  uint16_t port_ = 0;
  std::unique_ptr<GrpcServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<runtime::Dapr::Stub> stub_;
};

TEST_F(GrpcServerTest, UnaryCallRoundTrips) {
  AddEchoGetState();
  StartServer();

  grpc::ClientContext context;
  SetDeadline(context, 2000ms);
  runtime::GetStateRequest request;
  request.set_store_name("statestore");
  request.set_key("order-1");
  runtime::GetStateResponse response;
  grpc::Status status = stub_->GetState(&context, request, &response);

  ASSERT_TRUE(status.ok()) << status.error_code() << ": " << status.error_message();
  EXPECT_EQ(response.data(), "value of order-1");
  EXPECT_EQ(response.etag(), "etag-statestore");
  EXPECT_EQ(server_->InFlight(), 0u);
}

// Beyond the HTTP/2 flow-control windows in both directions: the client's default 64 KiB
// and the server's 1 MiB stream window.
TEST_F(GrpcServerTest, LargeMessagesRoundTrip) {
  const size_t response_bytes = 2 << 20;
  server_->AddUnary(kGetState, [&](std::shared_ptr<ServerCall> call) {
    runtime::GetStateRequest request;
    request.ParseFromArray(call->request().data(), static_cast<int>(call->request().size()));
    call->Finish(GrpcStatus::Ok(),
                 StateResponse(std::string(response_bytes, 'r'), std::to_string(request.key().size())));
  });
  StartServer();

  runtime::GetStateResponse response;
  const size_t key_bytes = 3 << 20;  // under the default 4 MiB limit
  grpc::Status status = GetState(std::string(key_bytes, 'k'), &response);

  ASSERT_TRUE(status.ok()) << status.error_code() << ": " << status.error_message();
  EXPECT_EQ(response.etag(), std::to_string(key_bytes));
  EXPECT_EQ(response.data(), std::string(response_bytes, 'r'));
}

TEST_F(GrpcServerTest, UnregisteredMethodIsUnimplemented) {
  AddEchoGetState();
  StartServer();

  grpc::ClientContext context;
  SetDeadline(context, 2000ms);
  runtime::GetBulkStateResponse response;
  grpc::Status status = stub_->GetBulkState(&context, runtime::GetBulkStateRequest(), &response);

  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_EQ(status.error_message(), "unknown method " + kGetBulkState);
}

TEST_F(GrpcServerTest, ErrorStatusCarriesMessageAndDetails) {
  // Non-ASCII UTF-8, '%' and a control byte: all must survive grpc-message's percent-encoding.
  const std::string message = "\xc3\xa9tat invalide: 100% \xe2\x9c\x93\tfin";
  google::rpc::Status details;
  details.set_code(static_cast<int>(StatusCode::kFailedPrecondition));
  details.set_message(message);
  google::rpc::ErrorInfo info;
  info.set_reason("DAPR_STATE_ETAG_MISMATCH");
  info.set_domain("dapr.io");
  (*info.mutable_metadata())["store"] = "statestore";
  details.add_details()->PackFrom(info);
  server_->AddUnary(kGetState, [&](std::shared_ptr<ServerCall> call) {
    call->Finish({StatusCode::kFailedPrecondition, message, details.SerializeAsString()},
                 "ignored: a response is only sent with OK");
  });
  StartServer();

  runtime::GetStateResponse response;
  grpc::Status status = GetState("k", &response);

  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(status.error_message(), message);
  google::rpc::Status received;
  ASSERT_TRUE(received.ParseFromString(status.error_details()));
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(received, details))
      << received.DebugString();
  ASSERT_EQ(received.details_size(), 1);
  google::rpc::ErrorInfo received_info;
  ASSERT_TRUE(received.details(0).UnpackTo(&received_info));
  EXPECT_EQ(received_info.reason(), "DAPR_STATE_ETAG_MISMATCH");
  EXPECT_EQ(received_info.metadata().at("store"), "statestore");
}

TEST_F(GrpcServerTest, OversizedRequestIsResourceExhaustedAndChannelStillWorks) {
  GrpcServerOptions options;
  options.max_message_bytes = 1024;
  CreateServer(options);
  std::atomic<int> handled{0};
  server_->AddUnary(kGetState, [&](std::shared_ptr<ServerCall> call) {
    ++handled;
    call->Finish(GrpcStatus::Ok(), StateResponse("small", ""));
  });
  StartServer();

  // Within one DATA frame, and beyond the stream window (the rest must be refused).
  for (size_t key_bytes : {2000u, 300000u}) {
    runtime::GetStateRequest request;
    request.set_key(std::string(key_bytes, 'k'));
    const std::string expected = "grpc: received message larger than max (" +
                                 std::to_string(request.ByteSizeLong()) + " vs. 1024)";
    grpc::ClientContext context;
    SetDeadline(context, 2000ms);
    runtime::GetStateResponse response;
    grpc::Status status = stub_->GetState(&context, request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << key_bytes;
    EXPECT_EQ(status.error_message(), expected);
  }
  EXPECT_EQ(handled.load(), 0);
  EXPECT_EQ(server_->InFlight(), 0u);

  runtime::GetStateResponse response;
  grpc::Status status = GetState("small", &response);
  ASSERT_TRUE(status.ok()) << status.error_code() << ": " << status.error_message();
  EXPECT_EQ(response.data(), "small");
  EXPECT_EQ(handled.load(), 1);
}

// max_message_bytes must bound what a call can make the server buffer. The limit is
// checked against the first message's header only, so the test sends a small first
// message, then one 100 times the limit, and never half-closes: the server should refuse
// the call as soon as the body outgrows the limit, not buffer on until the client is done.
TEST_F(GrpcServerTest, MessageAfterTheFirstIsAlsoHeldToMaxMessageBytes) {
  GrpcServerOptions options;
  options.max_message_bytes = 1024;
  CreateServer(options);
  std::atomic<int> handled{0};
  server_->AddUnary(kGetState, [&](std::shared_ptr<ServerCall> call) {
    ++handled;
    call->Finish(GrpcStatus::Ok(), StateResponse("", ""));
  });
  StartServer();

  grpc::GenericStub stub(channel_);
  grpc::CompletionQueue queue;
  grpc::ClientContext context;
  SetDeadline(context, 1000ms);
  auto call = stub.PrepareCall(&context, kGetState, &queue);
  ASSERT_NE(call, nullptr);
  // Waits for the operation tagged `expected`; false when it failed.
  auto completed = [&queue](void* expected) {
    void* tag = nullptr;
    bool ok = false;
    return queue.Next(&tag, &ok) && tag == expected && ok;
  };
  int start_tag = 0, write_tag = 0, finish_tag = 0;
  call->StartCall(&start_tag);
  ASSERT_TRUE(completed(&start_tag));
  int writes_accepted = 0;
  for (size_t size : {10u, 100u * 1024u}) {
    std::string message(size, 'm');
    grpc::Slice slice(message.data(), message.size());
    grpc::ByteBuffer buffer(&slice, 1);
    call->Write(buffer, &write_tag);
    if (!completed(&write_tag)) break;  // the server answered already: fine
    ++writes_accepted;
  }
  grpc::Status status;
  call->Finish(&status, &finish_tag);  // no WritesDone: the client never half-closes
  ASSERT_TRUE(completed(&finish_tag));
  queue.Shutdown();
  void* tag = nullptr;
  bool ok = false;
  while (queue.Next(&tag, &ok)) {
  }

  EXPECT_TRUE(status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED ||
              status.error_code() == grpc::StatusCode::INTERNAL)
      << status.error_code() << ": " << status.error_message() << " (writes accepted "
      << writes_accepted << ")";
  EXPECT_EQ(handled.load(), 0);
}

TEST_F(GrpcServerTest, HandlerFinishesFromAnotherThreadAndOnlyFirstFinishCounts) {
  std::promise<void> second_finish_done;
  server_->AddUnary(kGetState, [&](std::shared_ptr<ServerCall> call) {
    pool_.Post([call, &second_finish_done] {
      std::this_thread::sleep_for(100ms);
      call->Finish(GrpcStatus::Ok(), StateResponse("first", ""));
      call->Finish({StatusCode::kAborted, "second answer must be ignored", {}});
      second_finish_done.set_value();
    });
  });
  StartServer();

  auto started = Clock::now();
  runtime::GetStateResponse response;
  grpc::Status status = GetState("k", &response);

  ASSERT_TRUE(status.ok()) << status.error_code() << ": " << status.error_message();
  EXPECT_EQ(response.data(), "first");
  EXPECT_GE(Clock::now() - started, 100ms);
  ASSERT_EQ(second_finish_done.get_future().wait_for(2s), std::future_status::ready);
  // Counted down once: a second decrement would wrap the counter.
  EXPECT_EQ(server_->InFlight(), 0u);
}

TEST_F(GrpcServerTest, FinishFramedSendsThePreFramedResponse) {
  server_->AddUnary(kGetState, [](std::shared_ptr<ServerCall> call) {
    call->FinishFramed(FrameMessage(StateResponse("framed", "e1")));
    call->Finish({StatusCode::kAborted, "second answer must be ignored", {}});
    call->FinishFramed(FrameMessage(StateResponse("framed again", "e2")));
  });
  StartServer();

  runtime::GetStateResponse response;
  grpc::Status status = GetState("k", &response);

  ASSERT_TRUE(status.ok()) << status.error_code() << ": " << status.error_message();
  EXPECT_EQ(response.data(), "framed");
  EXPECT_EQ(response.etag(), "e1");
  EXPECT_EQ(server_->InFlight(), 0u);
}

TEST_F(GrpcServerTest, ClientDeadlineEndsCallWhileHandlerNeverFinishes) {
  AddHoldingGetState();
  StartServer();

  auto started = Clock::now();
  auto call = StartGetState(*stub_, "slow", 200ms);
  ASSERT_TRUE(held_.WaitForCount(1, 1000ms));
  EXPECT_EQ(server_->InFlight(), 1u);

  ASSERT_EQ(call->status.wait_for(2s), std::future_status::ready);
  grpc::Status status = call->status.get();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_EQ(status.error_message(), "Deadline Exceeded");
  EXPECT_LT(Clock::now() - started, 2s);

  // The late answer is dropped, and the call stops counting.
  held_.FinishAll(GrpcStatus::Ok(), StateResponse("late", ""));
  EXPECT_TRUE(WaitForInFlight(*server_, 0, 1000ms)) << server_->InFlight();
}

TEST_F(GrpcServerTest, HandlerSeesClientMetadata) {
  std::promise<std::vector<std::optional<std::string>>> seen;
  server_->AddUnary(kGetState, [&](std::shared_ptr<ServerCall> call) {
    std::vector<std::optional<std::string>> values;
    for (const char* key : {"x-custom", "x-raw-bin", "x-absent"}) {
      auto value = call->Metadata(key);
      values.push_back(value ? std::optional<std::string>(*value) : std::nullopt);
    }
    seen.set_value(std::move(values));
    call->Finish(GrpcStatus::Ok(), StateResponse("", ""));
  });
  StartServer();

  grpc::ClientContext context;
  SetDeadline(context, 2000ms);
  context.AddMetadata("x-custom", "custom value");
  context.AddMetadata("x-raw-bin", std::string("\x00\x01\xff", 3));
  runtime::GetStateResponse response;
  grpc::Status status = stub_->GetState(&context, runtime::GetStateRequest(), &response);

  ASSERT_TRUE(status.ok()) << status.error_code() << ": " << status.error_message();
  auto values = seen.get_future().get();
  EXPECT_EQ(values[0], "custom value");
  EXPECT_EQ(values[1], std::string("\x00\x01\xff", 3));
  EXPECT_EQ(values[2], std::nullopt);
}

TEST_F(GrpcServerTest, TypedUnaryChecksApiToken) {
  security::ApiToken token("s3cret-token");
  AddUnary<runtime::GetStateRequest, runtime::GetStateResponse>(
      *server_, kGetState, token, pool_, Blocking::kNo,
      [](const runtime::GetStateRequest& request, runtime::GetStateResponse& response) {
        response.set_data("value of " + request.key());
        return GrpcStatus::Ok();
      });
  StartServer();

  auto call_with_token = [&](std::optional<std::string> sent, runtime::GetStateResponse* response) {
    grpc::ClientContext context;
    SetDeadline(context, 2000ms);
    if (sent) context.AddMetadata("dapr-api-token", *sent);
    runtime::GetStateRequest request;
    request.set_key("k");
    return stub_->GetState(&context, request, response);
  };
  for (std::optional<std::string> wrong : {std::optional<std::string>(), std::optional<std::string>("s3cret")}) {
    runtime::GetStateResponse response;
    grpc::Status status = call_with_token(wrong, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED) << wrong.value_or("(none)");
    EXPECT_EQ(status.error_message(), "authentication error: api token mismatch");
  }
  runtime::GetStateResponse response;
  grpc::Status status = call_with_token("s3cret-token", &response);
  ASSERT_TRUE(status.ok()) << status.error_code() << ": " << status.error_message();
  EXPECT_EQ(response.data(), "value of k");
}

TEST_F(GrpcServerTest, TypedUnaryRejectsInvalidProtobuf) {
  std::atomic<int> worked{0};
  AddUnary<runtime::GetStateRequest, runtime::GetStateResponse>(
      *server_, kGetState, no_token_, pool_, Blocking::kYes,
      [&](const runtime::GetStateRequest&, runtime::GetStateResponse&) {
        ++worked;
        return GrpcStatus::Ok();
      });
  AddAsyncUnary<runtime::GetBulkStateRequest, runtime::GetBulkStateResponse>(
      *server_, kGetBulkState, no_token_, [&](const runtime::GetBulkStateRequest&, auto answer) {
        ++worked;
        answer(GrpcStatus::Ok(), runtime::GetBulkStateResponse());
      });
  StartServer();

  // A field tag whose varint never ends: no protobuf parser accepts it.
  const std::string garbage("\xff\xff\xff", 3);
  for (const std::string& path : {kGetState, kGetBulkState}) {
    grpc::Status status = RawCall(channel_, path, garbage);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INTERNAL) << path;
    EXPECT_EQ(status.error_message(), "grpc: error unmarshalling request") << path;
  }
  EXPECT_EQ(worked.load(), 0);
  // The same paths answer a valid (empty) message.
  EXPECT_TRUE(RawCall(channel_, kGetState, "").ok());
  EXPECT_TRUE(RawCall(channel_, kGetBulkState, "").ok());
  EXPECT_EQ(worked.load(), 2);
}

TEST_F(GrpcServerTest, CompressedRequestIsUnimplemented) {
  std::atomic<int> handled{0};
  server_->AddUnary(kGetState, [&](std::shared_ptr<ServerCall> call) {
    ++handled;
    call->Finish(GrpcStatus::Ok(), StateResponse("", ""));
  });
  StartServer();

  grpc::ClientContext context;
  SetDeadline(context, 2000ms);
  // gRPC sends a message uncompressed when gzip does not shrink it; this one shrinks.
  context.set_compression_algorithm(GRPC_COMPRESS_GZIP);
  runtime::GetStateRequest request;
  request.set_key(std::string(10000, 'z'));
  runtime::GetStateResponse response;
  grpc::Status status = stub_->GetState(&context, request, &response);

  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_EQ(status.error_message(), "message compression (gzip) is not supported");
  EXPECT_EQ(handled.load(), 0);
}

TEST_F(GrpcServerTest, ConcurrentCallsOnOneChannelAllSucceed) {
  server_->AddUnary(kGetState, [this](std::shared_ptr<ServerCall> call) {
    pool_.Post([call] {
      runtime::GetStateRequest request;
      request.ParseFromArray(call->request().data(), static_cast<int>(call->request().size()));
      call->Finish(GrpcStatus::Ok(), StateResponse("value of " + request.key(), ""));
    });
  });
  StartServer();

  constexpr int kThreads = 8;
  constexpr int kCallsPerThread = 25;
  std::atomic<int> succeeded{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < kThreads; ++t) {
    clients.emplace_back([&, t] {
      for (int i = 0; i < kCallsPerThread; ++i) {
        std::string key = std::to_string(t) + "-" + std::to_string(i);
        runtime::GetStateResponse response;
        grpc::Status status = GetState(key, &response);
        if (status.ok() && response.data() == "value of " + key) ++succeeded;
      }
    });
  }
  for (auto& client : clients) client.join();

  EXPECT_EQ(succeeded.load(), kThreads * kCallsPerThread);
  EXPECT_EQ(server_->InFlight(), 0u);
}

// Connects a raw TCP socket, sends `request`, and reads until the server hangs up.
// Returns whether it hung up (EOF or reset) before `timeout`.
bool ServerHangsUpOn(uint16_t port, std::string_view request, std::chrono::seconds timeout) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval read_timeout{static_cast<time_t>(timeout.count()), 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &read_timeout, sizeof(read_timeout));
  bool hung_up = false;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
      ::send(fd, request.data(), request.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(request.size())) {
    auto until = Clock::now() + timeout;
    char buffer[4096];
    while (Clock::now() < until) {
      ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
      if (n > 0) continue;  // the server's SETTINGS frame, sent before it read anything
      hung_up = n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
      break;
    }
  }
  ::close(fd);
  return hung_up;
}

TEST_F(GrpcServerTest, PlainHttp1RequestIsHungUpOn) {
  AddEchoGetState();
  StartServer();

  auto started = Clock::now();
  EXPECT_TRUE(ServerHangsUpOn(port_, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 2s));
  EXPECT_LT(Clock::now() - started, 2s);

  runtime::GetStateResponse response;
  grpc::Status status = GetState("after", &response);
  ASSERT_TRUE(status.ok()) << status.error_code() << ": " << status.error_message();
  EXPECT_EQ(response.data(), "value of after");
}

TEST_F(GrpcServerTest, StopAcceptingRefusesNewConnectionsButAnswersCallsInFlight) {
  AddHoldingGetState();
  StartServer();
  auto before = StartGetState(*stub_, "before", 3000ms);
  ASSERT_TRUE(held_.WaitForCount(1, 1000ms));

  server_->StopAccepting();
  EXPECT_EQ(server_->InFlight(), 1u);

  auto other_stub = runtime::Dapr::NewStub(NewChannel(port_));
  grpc::ClientContext context;
  SetDeadline(context, 1000ms);
  runtime::GetStateResponse refused_response;
  auto started = Clock::now();
  grpc::Status refused = other_stub->GetState(&context, runtime::GetStateRequest(), &refused_response);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::UNAVAILABLE) << refused.error_message();
  EXPECT_LT(Clock::now() - started, 1500ms);
  EXPECT_EQ(server_->InFlight(), 1u);

  held_.FinishAll(GrpcStatus::Ok(), StateResponse("answered after StopAccepting", ""));
  ASSERT_EQ(before->status.wait_for(2s), std::future_status::ready);
  grpc::Status status = before->status.get();
  ASSERT_TRUE(status.ok()) << status.error_code() << ": " << status.error_message();
  EXPECT_EQ(before->response.data(), "answered after StopAccepting");
  EXPECT_EQ(server_->InFlight(), 0u);

  // The old channel got the GOAWAY before that answer: its next call needs a new
  // connection, which is refused too.
  runtime::GetStateResponse late_response;
  grpc::Status late = GetState("after", &late_response, 1000ms);
  EXPECT_EQ(late.error_code(), grpc::StatusCode::UNAVAILABLE) << late.error_message();
}

}  // namespace
}  // namespace dapr::grpcapi
