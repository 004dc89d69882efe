// Tests for SidecarInvoker: the name resolver's answer kept for a second and rotated over, a
// resolver without ResolveAll asked per call, an unreachable instance forgotten, and the call
// itself carried over ServiceInvocation/CallLocal to real GrpcServers on 127.0.0.1 (ports
// picked by the kernel) that play the other app's sidecars.
#include "channel/sidecar_invoker.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "api/grpc/server.h"
#include "channel/internal_invoke.h"

namespace dapr::channel {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

// A name resolver whose answers the test sets, and which counts how often it is asked.
class FakeResolver final : public nameresolution::Resolver {
 public:
  Status Init(const ComponentMetadata&, const nameresolution::Registration&) override {
    return Status::Ok();
  }

  // Resolve rotates over the same list ResolveAll answers with (unless ResolveAll is off).
  Result<std::string> Resolve(const nameresolution::ResolveRequest& request) override {
    std::lock_guard lock(mutex_);
    ++resolve_calls_;
    requests_.push_back(request.app_id + "." + request.app_namespace);
    if (!error_.ok()) return error_;
    if (instances_.empty()) return NotFound("no host found for app id \"" + request.app_id + "\"");
    return instances_[next_++ % instances_.size()];
  }

  Result<std::vector<std::string>> ResolveAll(
      const nameresolution::ResolveRequest& request) override {
    std::lock_guard lock(mutex_);
    ++resolve_all_calls_;
    if (!list_all_) return Unimplemented("ResolveAll");
    requests_.push_back(request.app_id + "." + request.app_namespace);
    if (!error_.ok()) return error_;
    if (instances_.empty()) return NotFound("no host found for app id \"" + request.app_id + "\"");
    return instances_;
  }

  void SetInstances(std::vector<std::string> instances) {
    std::lock_guard lock(mutex_);
    instances_ = std::move(instances);
  }
  void SetError(Status error) {
    std::lock_guard lock(mutex_);
    error_ = std::move(error);
  }
  void ListAll(bool on) {
    std::lock_guard lock(mutex_);
    list_all_ = on;
  }
  int resolve_calls() {
    std::lock_guard lock(mutex_);
    return resolve_calls_;
  }
  int resolve_all_calls() {
    std::lock_guard lock(mutex_);
    return resolve_all_calls_;
  }
  std::vector<std::string> requests() {
    std::lock_guard lock(mutex_);
    return requests_;
  }

 private:
  std::mutex mutex_;
  std::vector<std::string> instances_;
  Status error_;
  bool list_all_ = true;
  size_t next_ = 0;
  int resolve_calls_ = 0;
  int resolve_all_calls_ = 0;
  std::vector<std::string> requests_;  // "app.namespace" of each lookup
};

// Another app's sidecar: its internal gRPC port answers CallLocal as its app would, with
// "<name>:<verb> <method>?<query>|<body>" and the request's headers echoed back as x-echo-*.
class FakeSidecar {
 public:
  FakeSidecar(asio::io_context& loop, std::string name)
      : name_(std::move(name)),
        server_(loop, grpcapi::GrpcServerOptions{{"127.0.0.1"}, 0, 4 << 20}) {
    server_.AddUnary(kCallLocalMethod, [this](std::shared_ptr<grpcapi::ServerCall> call) {
      internals::InternalInvokeRequest request;
      if (!request.ParseFromArray(call->request().data(),
                                  static_cast<int>(call->request().size()))) {
        return call->Finish({StatusCode::kInternal, "test: unparsable request", {}});
      }
      AppRequest got = FromInternalRequest(request);
      {
        std::lock_guard lock(mutex_);
        received_.push_back(got);
      }
      AppResponse answer;
      answer.status = got.method == "teapot" ? 418 : 200;
      answer.content_type = "text/plain";
      answer.body = name_ + ":" + got.verb + " " + got.method + "?" + got.query + "|" + got.body;
      for (const auto& [header, value] : got.headers) {
        answer.headers.emplace_back("x-echo-" + header, value);
      }
      call->Finish(grpcapi::GrpcStatus::Ok(),
                   ToInternalResponse(std::move(answer)).SerializeAsString());
    });
    started_ = server_.Start();
  }
  ~FakeSidecar() { server_.Stop(); }

  const Status& started() const { return started_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(server_.Port()); }
  size_t calls() {
    std::lock_guard lock(mutex_);
    return received_.size();
  }
  std::vector<AppRequest> received() {
    std::lock_guard lock(mutex_);
    return received_;
  }

 private:
  std::string name_;
  grpcapi::GrpcServer server_;
  Status started_;
  std::mutex mutex_;
  std::vector<AppRequest> received_;
};

// An address nothing listens on: bound, then closed.
std::string DeadAddress() {
  asio::io_context io;
  asio::ip::tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
  return "127.0.0.1:" + std::to_string(acceptor.local_endpoint().port());
}

AppRequest Post(std::string method, std::string body = "") {
  AppRequest request;
  request.verb = "POST";
  request.method = std::move(method);
  request.body = std::move(body);
  return request;
}

class SidecarInvokerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    loop_thread_ = std::thread([this] { loop_.run(); });
    ASSERT_TRUE(a_.started().ok()) << a_.started().message();
    ASSERT_TRUE(b_.started().ok()) << b_.started().message();
  }

  void TearDown() override {
    invoker_.reset();  // closes its channels
    pool_.Stop();
    work_.reset();
    loop_.stop();
    loop_thread_.join();
  }

  blocks::ApiResult<AppResponse> Call(const std::string& app_id, AppRequest request,
                                      const std::string& app_namespace = "") {
    auto answer = std::make_shared<std::promise<blocks::ApiResult<AppResponse>>>();
    auto future = answer->get_future();
    invoker_->Invoke(
        {app_id, app_namespace}, std::move(request),
        [answer](blocks::ApiResult<AppResponse> result) { answer->set_value(std::move(result)); });
    if (future.wait_for(3s) != std::future_status::ready) {
      ADD_FAILURE() << "no answer within 3 s";
      return blocks::errors::InvokeCause("test: no answer");
    }
    return future.get();
  }

  // The first part of an answer's body: which sidecar answered.
  static std::string Who(const blocks::ApiResult<AppResponse>& result) {
    if (!result.ok()) return "error: " + result.error().message;
    return result->body.substr(0, result->body.find(':'));
  }

  asio::io_context loop_;
  asio::executor_work_guard<asio::io_context::executor_type> work_ = asio::make_work_guard(loop_);
  std::thread loop_thread_;
  WorkerPool pool_{2};
  FakeResolver resolver_;
  FakeSidecar a_{loop_, "a"};
  FakeSidecar b_{loop_, "b"};
  std::unique_ptr<SidecarInvoker> invoker_ =
      std::make_unique<SidecarInvoker>(loop_, pool_, resolver_, 4u << 20);
};

TEST_F(SidecarInvokerTest, CarriesTheCallAndTheAnswerOverCallLocal) {
  resolver_.SetInstances({a_.address()});
  AppRequest request = Post("orders/42", "payload");
  request.verb = "PUT";
  request.query = "x=1";
  request.content_type = "application/json";
  request.headers = {{"x-trace", "abc"}, {"dapr-caller-app-id", "checkout"}};

  auto result = Call("orders", request, "prod");

  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result->status, 200);
  EXPECT_EQ(result->content_type, "text/plain");
  EXPECT_EQ(result->body, "a:PUT orders/42?x=1|payload");
  HeaderList headers = result->headers;  // travel in a proto map: any order
  std::sort(headers.begin(), headers.end());
  EXPECT_EQ(headers,
            (HeaderList{{"x-echo-dapr-caller-app-id", "checkout"}, {"x-echo-x-trace", "abc"}}));
  auto received = a_.received();
  ASSERT_EQ(received.size(), 1u);
  EXPECT_EQ(received[0].content_type, "application/json");
  EXPECT_EQ(resolver_.requests(), (std::vector<std::string>{"orders.prod"}));
}

TEST_F(SidecarInvokerTest, AnAppStatusIsAnAnswer) {
  resolver_.SetInstances({a_.address()});
  auto result = Call("orders", Post("teapot"));
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result->status, 418);
}

TEST_F(SidecarInvokerTest, ASecondCallWithinASecondDoesNotAskTheResolver) {
  resolver_.SetInstances({a_.address()});
  ASSERT_TRUE(Call("orders", Post("one")).ok());
  ASSERT_TRUE(Call("orders", Post("two")).ok());
  ASSERT_TRUE(Call("orders", Post("three")).ok());
  EXPECT_EQ(resolver_.resolve_all_calls(), 1);
  EXPECT_EQ(resolver_.resolve_calls(), 0);
  EXPECT_EQ(a_.calls(), 3u);
}

TEST_F(SidecarInvokerTest, EachAppAndNamespaceHasItsOwnEntry) {
  resolver_.SetInstances({a_.address()});
  ASSERT_TRUE(Call("orders", Post("x")).ok());
  ASSERT_TRUE(Call("orders", Post("x"), "other").ok());
  ASSERT_TRUE(Call("billing", Post("x")).ok());
  ASSERT_TRUE(Call("orders", Post("x")).ok());
  EXPECT_EQ(resolver_.requests(),
            (std::vector<std::string>{"orders.", "orders.other", "billing."}));
}

TEST_F(SidecarInvokerTest, CallsRotateOverTheInstances) {
  resolver_.SetInstances({a_.address(), b_.address()});
  std::vector<std::string> who;
  for (int i = 0; i < 4; ++i) who.push_back(Who(Call("orders", Post("x"))));
  EXPECT_EQ(who, (std::vector<std::string>{"a", "b", "a", "b"}));
  EXPECT_EQ(resolver_.resolve_all_calls(), 1);
}

TEST_F(SidecarInvokerTest, AnUnreachableInstanceFailsUnavailableAndIsForgotten) {
  resolver_.SetInstances({DeadAddress(), a_.address()});

  auto failed = Call("orders", Post("x"));

  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().grpc_code, StatusCode::kUnavailable);
  EXPECT_EQ(failed.error().error_code, "ERR_DIRECT_INVOKE");
  EXPECT_EQ(resolver_.resolve_all_calls(), 1);

  // The dead instance went away from the registry; the next call asks again and gets through.
  resolver_.SetInstances({a_.address()});
  auto next = Call("orders", Post("x"));
  ASSERT_TRUE(next.ok()) << next.error().message;
  EXPECT_EQ(Who(next), "a");
  EXPECT_EQ(resolver_.resolve_all_calls(), 2);
}

TEST_F(SidecarInvokerTest, AnUnknownAppIsNotFound) {
  auto result = Call("nobody", Post("x"));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().message, "couldn't find service: nobody");
  EXPECT_EQ(result.error().error_code, "ERR_DIRECT_INVOKE");

  // Nothing is kept of a failed lookup.
  resolver_.SetInstances({a_.address()});
  auto later = Call("nobody", Post("x"));
  ASSERT_TRUE(later.ok()) << later.error().message;
  EXPECT_EQ(resolver_.resolve_all_calls(), 2);
}

TEST_F(SidecarInvokerTest, AResolverFailureIsNamed) {
  resolver_.SetError(Unavailable("registry is closed"));
  auto result = Call("orders", Post("x"));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().message, "couldn't find service: orders: registry is closed");
}

TEST_F(SidecarInvokerTest, AResolverWithoutResolveAllIsAskedPerCall) {
  resolver_.ListAll(false);
  resolver_.SetInstances({a_.address(), b_.address()});
  std::vector<std::string> who;
  for (int i = 0; i < 3; ++i) who.push_back(Who(Call("orders", Post("x"))));
  EXPECT_EQ(who, (std::vector<std::string>{"a", "b", "a"}));  // the resolver's own rotation
  EXPECT_EQ(resolver_.resolve_calls(), 3);
  EXPECT_EQ(resolver_.resolve_all_calls(), 3);

  resolver_.SetInstances({});
  auto result = Call("orders", Post("x"));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().message, "couldn't find service: orders");
}

// A resolver's malformed address: the call is refused, and nothing is kept for it (an empty
// channel kept once crashed the invoker's destructor).
TEST_F(SidecarInvokerTest, AnInvalidAddressIsRefusedAndShutdownSurvivesIt) {
  resolver_.SetInstances({"no-port-here"});
  auto result = Call("orders", Post("x"));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().message, "invalid sidecar address no-port-here");

  invoker_.reset();  // crashes here
  SUCCEED();
}

// The only test that waits out the one-second cache.
TEST_F(SidecarInvokerTest, TheListIsAskedForAgainAfterASecond) {
  resolver_.SetInstances({a_.address()});
  ASSERT_TRUE(Call("orders", Post("x")).ok());
  resolver_.SetInstances({b_.address()});
  EXPECT_EQ(Who(Call("orders", Post("x"))), "a");  // still the kept list
  std::this_thread::sleep_for(1050ms);
  EXPECT_EQ(Who(Call("orders", Post("x"))), "b");
  EXPECT_EQ(resolver_.resolve_all_calls(), 2);
}

}  // namespace
}  // namespace dapr::channel
