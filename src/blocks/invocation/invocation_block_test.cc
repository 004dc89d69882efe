// InvocationBlock: target parsing, the self/other decision, the headers it adds, and how a
// channel failure is reported.
#include "blocks/invocation/invocation_block.h"

#include <gtest/gtest.h>

#include <optional>

namespace dapr::blocks {
namespace {

// Records what it was asked and answers as told.
class RecordingChannel : public channel::AppChannel {
 public:
  void Invoke(channel::AppRequest request, channel::AppCallback done) override {
    last = std::move(request);
    done(answer);
  }
  void CheckHealth(channel::AppRequest, std::function<void(bool)> done) override { done(true); }
  std::optional<channel::AppRequest> last;
  ApiResult<channel::AppResponse> answer = channel::AppResponse{201, "text/plain", {}, "ok"};
};

ApiResult<channel::AppResponse> Call(const InvocationBlock& block, std::string_view target) {
  std::optional<ApiResult<channel::AppResponse>> result;
  block.Invoke(target, channel::AppRequest{}, [&](ApiResult<channel::AppResponse> r) {
    result.emplace(std::move(r));
  });
  EXPECT_TRUE(result.has_value()) << "done was not called";
  return result ? std::move(*result) : ApiResult<channel::AppResponse>(errors::Unclassified("none"));
}

std::optional<std::string> HeaderOf(const channel::AppRequest& request, std::string_view name) {
  for (const auto& [key, value] : request.headers) {
    if (key == name) return value;
  }
  return std::nullopt;
}

TEST(InvokeTarget, SplitsAnOptionalNamespace) {
  auto plain = ParseInvokeTarget("orders");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->app_id, "orders");
  EXPECT_EQ(plain->app_namespace, "");
  auto namespaced = ParseInvokeTarget("orders.prod");
  ASSERT_TRUE(namespaced.ok());
  EXPECT_EQ(namespaced->app_id, "orders");
  EXPECT_EQ(namespaced->app_namespace, "prod");
}

TEST(InvokeTarget, RefusesEmptyAndDoubleDotted) {
  EXPECT_EQ(ParseInvokeTarget("").error().http_status, 404);
  EXPECT_EQ(ParseInvokeTarget("a.b.c").error().http_status, 400);
  EXPECT_EQ(ParseInvokeTarget(".ns").error().error_code, "ERR_DIRECT_INVOKE");
}

TEST(InvocationBlock, OwnAppGoesDownTheChannelWithCallerHeaders) {
  RecordingChannel channel;
  InvocationBlock block("me", "", &channel);
  auto result = Call(block, "me");
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->status, 201);
  ASSERT_TRUE(channel.last.has_value());
  EXPECT_EQ(HeaderOf(*channel.last, "dapr-caller-app-id"), "me");
  EXPECT_EQ(HeaderOf(*channel.last, "dapr-callee-app-id"), "me");
  EXPECT_FALSE(HeaderOf(*channel.last, "dapr-caller-namespace").has_value());
}

TEST(InvocationBlock, NamespaceMustMatchToBeSelf) {
  RecordingChannel channel;
  InvocationBlock block("me", "prod", &channel);
  EXPECT_TRUE(Call(block, "me.prod").ok());
  EXPECT_EQ(HeaderOf(*channel.last, "dapr-caller-namespace"), "prod");
  auto other = Call(block, "me.test");
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.error().message, "failed to invoke, id: me.test, err: couldn't find service: me");
}

TEST(InvocationBlock, OtherAppsAreNotFoundYet) {
  RecordingChannel channel;
  InvocationBlock block("me", "", &channel);
  auto result = Call(block, "other");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().http_status, 500);
  EXPECT_EQ(result.error().error_code, "ERR_DIRECT_INVOKE");
  EXPECT_FALSE(channel.last.has_value());
}

TEST(InvocationBlock, NoChannelSaysSo) {
  InvocationBlock block("me", "", nullptr);
  auto result = Call(block, "me");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().message, "failed to invoke, id: me, err: app channel is not initialized");
}

TEST(InvocationBlock, ChannelFailureNamesTheAppAndTheCause) {
  RecordingChannel channel;
  ApiError refused;
  refused.message = "error invoking app channel: connection refused";
  channel.answer = refused;
  InvocationBlock block("me", "", &channel);
  auto result = Call(block, "me");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().message,
            "failed to invoke, id: me, err: error invoking app channel: connection refused");
  EXPECT_EQ(result.error().http_status, 500);
}

}  // namespace
}  // namespace dapr::blocks
