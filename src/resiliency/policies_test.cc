// Tests for resolving an app's policies across several Resiliency documents.
#include "resiliency/policies.h"

#include <gtest/gtest.h>

namespace dapr::resiliency {
namespace {

using namespace std::chrono_literals;

ResiliencySpec Parse(const std::string& yaml) {
  auto spec = ParseResiliency(YAML::Load(yaml));
  EXPECT_TRUE(spec.ok()) << (spec.ok() ? "" : spec.error().message());
  return spec.ok() ? std::move(spec).value() : ResiliencySpec{};
}

constexpr const char* kNamed = R"(
kind: Resiliency
metadata: {name: named}
spec:
  policies:
    timeouts: {general: 5s}
    retries:
      fast: {policy: constant, duration: 10ms, maxRetries: 3}
    circuitBreakers:
      cb: {timeout: 30s, trip: consecutiveFailures >= 3}
  targets:
    apps:
      appA: {timeout: general, retry: fast, circuitBreaker: cb}
      timeoutOnly: {timeout: general}
)";

Policies Build(const std::vector<ResiliencySpec>& specs, std::string_view own_app_id = "me") {
  auto policies = Policies::Build(specs, own_app_id, [] { return 0.5; });
  EXPECT_TRUE(policies.ok());
  return std::move(policies).value();
}

TEST(ResiliencyPoliciesTest, NamedTargetGetsItsPoliciesAndNoBuiltInRetry) {
  const Policies policies = Build({Parse(kNamed)});
  const AppPolicy app = policies.ForApp("appA");
  EXPECT_EQ(app.timeout, 5s);
  ASSERT_TRUE(app.retry != nullptr);
  EXPECT_EQ(app.retry->DelayBeforeAttempt(1), 10ms);
  ASSERT_NE(app.circuit_breaker, nullptr);
  EXPECT_FALSE(app.connection_retry != nullptr);
}

TEST(ResiliencyPoliciesTest, AnyTargetTurnsTheBuiltInRetryOff) {
  const AppPolicy app = Build({Parse(kNamed)}).ForApp("timeoutOnly");
  EXPECT_EQ(app.timeout, 5s);
  EXPECT_FALSE(app.retry != nullptr);
  EXPECT_FALSE(app.connection_retry != nullptr);
}

TEST(ResiliencyPoliciesTest, AppWithoutTargetGetsOnlyTheBuiltInRetry) {
  const AppPolicy app = Build({Parse(kNamed)}).ForApp("appC");
  EXPECT_FALSE(app.timeout.has_value());
  EXPECT_FALSE(app.retry != nullptr);
  EXPECT_EQ(app.circuit_breaker, nullptr);
  ASSERT_TRUE(app.connection_retry != nullptr);
  EXPECT_EQ(app.connection_retry->DelayBeforeAttempt(1), 1s);
  EXPECT_EQ(app.connection_retry->DelayBeforeAttempt(3), 1s);
  EXPECT_EQ(app.connection_retry->DelayBeforeAttempt(4), std::nullopt);
  EXPECT_TRUE(app.connection_retry->ShouldRetryGrpc(14));  // UNAVAILABLE
  EXPECT_TRUE(app.connection_retry->ShouldRetryGrpc(16));  // UNAUTHENTICATED
  EXPECT_FALSE(app.connection_retry->ShouldRetryGrpc(13));
}

TEST(ResiliencyPoliciesTest, NoDocumentsAtAllStillRetriesConnections) {
  const AppPolicy app = Build({}).ForApp("anyone");
  EXPECT_TRUE(app.connection_retry != nullptr);
}

TEST(ResiliencyPoliciesTest, BuiltInRetryCanBeStrengthenedNotWeakened) {
  const auto stronger = Parse(R"(
kind: Resiliency
spec:
  policies:
    retries:
      DaprBuiltInServiceRetries: {policy: constant, duration: 5s, maxRetries: 10}
)");
  const AppPolicy app = Build({stronger}).ForApp("x");
  EXPECT_EQ(app.connection_retry->DelayBeforeAttempt(10), 5s);
  EXPECT_FALSE(app.connection_retry->ShouldRetryGrpc(4));  // still only connection failures

  const auto weaker = Parse(R"(
kind: Resiliency
spec:
  policies:
    retries:
      DaprBuiltInServiceRetries: {policy: constant, duration: 2s, maxRetries: 1}
)");
  EXPECT_EQ(Build({weaker}).ForApp("x").connection_retry->DelayBeforeAttempt(3), 2s);
}

TEST(ResiliencyPoliciesTest, DefaultAppPoliciesApplyWithoutATarget) {
  const auto defaults = Parse(R"(
kind: Resiliency
spec:
  policies:
    timeouts: {DefaultTimeoutPolicy: 9s, DefaultAppTimeoutPolicy: 3s}
    retries:
      DefaultRetryPolicy: {duration: 1s, maxRetries: 3}
    circuitBreakers:
      DefaultCircuitBreakerPolicy: {trip: consecutiveFailures > 2}
)");
  const AppPolicy app = Build({defaults}).ForApp("appC");
  EXPECT_EQ(app.timeout, 3s);  // the App-level default beats the global one
  ASSERT_TRUE(app.retry != nullptr);
  EXPECT_EQ(app.retry->DelayBeforeAttempt(1), 1s);
  EXPECT_NE(app.circuit_breaker, nullptr);
  EXPECT_TRUE(app.connection_retry != nullptr);  // defaults do not turn the built-in off
}

TEST(ResiliencyPoliciesTest, OneBreakerPerAppIsKept) {
  const Policies policies = Build({Parse(kNamed)});
  const auto first = policies.ForApp("appA").circuit_breaker;
  EXPECT_EQ(policies.ForApp("appA").circuit_breaker, first);

  const auto now = CircuitBreaker::Clock::time_point() + 1h;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(first->Allow(now));
    first->OnFailure(now);
  }
  EXPECT_FALSE(policies.ForApp("appA").circuit_breaker->Allow(now));
}

TEST(ResiliencyPoliciesTest, LaterDocumentsAddTargets) {
  const auto more = Parse(R"(
kind: Resiliency
metadata: {name: more}
spec:
  policies:
    retries:
      slow: {policy: constant, duration: 2s, maxRetries: 1}
  targets:
    apps:
      appD: {retry: slow}
)");
  const Policies policies = Build({Parse(kNamed), more});
  EXPECT_EQ(policies.ForApp("appD").retry->DelayBeforeAttempt(1), 2s);
  EXPECT_EQ(policies.ForApp("appA").retry->DelayBeforeAttempt(1), 10ms);
}

TEST(ResiliencyPoliciesTest, DocumentsScopedToOtherAppsAreSkipped) {
  auto scoped = Parse(kNamed);
  scoped.scopes = {"someone-else"};
  EXPECT_TRUE(Build({scoped}, "me").ForApp("appA").connection_retry != nullptr);
  EXPECT_FALSE(Build({scoped}, "someone-else").ForApp("appA").connection_retry != nullptr);
}

constexpr const char* kComponents = R"(
kind: Resiliency
metadata: {name: components}
spec:
  policies:
    timeouts: {quick: 1s, DefaultTimeoutPolicy: 9s, DefaultComponentInboundTimeoutPolicy: 7s}
    retries:
      twice: {policy: constant, duration: 20ms, maxRetries: 2}
      DefaultPubsubComponentInboundRetryPolicy: {policy: constant, duration: 30ms, maxRetries: 5}
      DefaultRetryPolicy: {policy: constant, duration: 40ms, maxRetries: 1}
    circuitBreakers:
      cb: {timeout: 30s, trip: consecutiveFailures >= 2}
  targets:
    components:
      orders: {inbound: {timeout: quick, retry: twice, circuitBreaker: cb}, outbound: {retry: twice}}
)";

TEST(ResiliencyPoliciesTest, NamedComponentGetsTheDirectionItAsksFor) {
  const Policies policies = Build({Parse(kComponents)});
  const ComponentPolicy in = policies.ForComponent("orders", "Pubsub", Direction::kInbound);
  EXPECT_EQ(in.timeout, 1s);
  ASSERT_TRUE(in.retry != nullptr);
  EXPECT_EQ(in.retry->DelayBeforeAttempt(1), 20ms);
  EXPECT_EQ(in.retry->DelayBeforeAttempt(3), std::nullopt);
  EXPECT_NE(in.circuit_breaker, nullptr);
  // The outbound entry names only a retry: no default fills the rest, as in Dapr.
  const ComponentPolicy out = policies.ForComponent("orders", "Pubsub", Direction::kOutbound);
  EXPECT_FALSE(out.timeout.has_value());
  EXPECT_EQ(out.circuit_breaker, nullptr);
  ASSERT_TRUE(out.retry != nullptr);
}

TEST(ResiliencyPoliciesTest, OtherComponentsGetTheMostSpecificDefault) {
  const Policies policies = Build({Parse(kComponents)});
  const ComponentPolicy pubsub = policies.ForComponent("other", "Pubsub", Direction::kInbound);
  EXPECT_EQ(pubsub.timeout, 7s);                            // DefaultComponentInbound...
  EXPECT_EQ(pubsub.retry->DelayBeforeAttempt(1), 30ms);     // DefaultPubsubComponentInbound...
  const ComponentPolicy binding = policies.ForComponent("other", "Binding", Direction::kInbound);
  EXPECT_EQ(binding.retry->DelayBeforeAttempt(1), 40ms);    // DefaultRetryPolicy
  const ComponentPolicy outbound = policies.ForComponent("other", "Pubsub", Direction::kOutbound);
  EXPECT_EQ(outbound.timeout, 9s);                          // DefaultTimeoutPolicy
}

TEST(ResiliencyPoliciesTest, ComponentBreakerIsKeptPerComponentAndDirection) {
  const Policies policies = Build({Parse(kComponents)});
  auto first = policies.ForComponent("orders", "Pubsub", Direction::kInbound).circuit_breaker;
  auto again = policies.ForComponent("orders", "Pubsub", Direction::kInbound).circuit_breaker;
  EXPECT_EQ(first, again);
  EXPECT_EQ(policies.ForApp("orders").circuit_breaker, nullptr);  // not the app of that name
}

TEST(ResiliencyPoliciesTest, NoDocumentsMeansNoComponentPolicy) {
  const ComponentPolicy policy = Build({}).ForComponent("pubsub", "Pubsub", Direction::kInbound);
  EXPECT_FALSE(policy.timeout.has_value());
  EXPECT_FALSE(policy.retry != nullptr);
  EXPECT_EQ(policy.circuit_breaker, nullptr);
}

}  // namespace
}  // namespace dapr::resiliency
