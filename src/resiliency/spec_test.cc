// Tests for parsing a Resiliency document.
#include "resiliency/spec.h"

#include <gtest/gtest.h>

namespace dapr::resiliency {
namespace {

using namespace std::chrono_literals;

constexpr const char* kFull = R"(
apiVersion: dapr.io/v1alpha1
kind: Resiliency
metadata:
  name: myresiliency
  namespace: prod
scopes: [checkout, orders]
spec:
  policies:
    timeouts:
      general: 5s
      important: 1m30s
      legacy: 250
    retries:
      pubsubRetry:
        policy: constant
        duration: 5s
        maxRetries: 10
      retryForever:
        policy: exponential
        maxInterval: 15s
        maxRetries: -1
      retry5xxOnly:
        policy: constant
        duration: 100ms
        maxRetries: 3
        matching:
          httpStatusCodes: "429,500-599"
          gRPCStatusCodes: "1-4,8-11,13,14"
    circuitBreakers:
      simpleCB:
        maxRequests: 1
        timeout: 30s
        trip: consecutiveFailures >= 5
      pubsubCB:
        maxRequests: 2
        interval: 8s
        timeout: 45s
        trip: consecutiveFailures > 8 && requests > 10
  targets:
    apps:
      appB:
        timeout: general
        retry: retryForever
        circuitBreaker: simpleCB
    actors:
      myActorType:
        timeout: general
        retry: retryForever
        circuitBreaker: simpleCB
        circuitBreakerScope: both
        circuitBreakerCacheSize: 5000
    components:
      statestore1:
        outbound:
          timeout: general
          retry: retryForever
          circuitBreaker: simpleCB
      pubsub1:
        inbound:
          timeout: general
          retry: pubsubRetry
          circuitBreaker: pubsubCB
)";

ResiliencySpec MustParse(const std::string& yaml) {
  auto spec = ParseResiliency(YAML::Load(yaml));
  EXPECT_TRUE(spec.ok()) << (spec.ok() ? "" : spec.error().message());
  return spec.ok() ? std::move(spec).value() : ResiliencySpec{};
}

std::string ParseError(const std::string& yaml) {
  auto spec = ParseResiliency(YAML::Load(yaml));
  EXPECT_FALSE(spec.ok());
  return spec.ok() ? "" : spec.error().message();
}

// A minimal document with `policies` and `targets` spliced in (each indented under spec).
std::string Doc(const std::string& policies, const std::string& targets = "") {
  return "kind: Resiliency\nmetadata:\n  name: r\nspec:\n  policies:\n" + policies +
         (targets.empty() ? "" : "  targets:\n" + targets);
}

TEST(ResiliencySpecTest, ParsesMetadataAndScopes) {
  const auto spec = MustParse(kFull);
  EXPECT_EQ(spec.name, "myresiliency");
  EXPECT_EQ(spec.namespace_, "prod");
  EXPECT_EQ(spec.scopes, (std::vector<std::string>{"checkout", "orders"}));
}

TEST(ResiliencySpecTest, ParsesTimeoutsIncludingBareMilliseconds) {
  const auto spec = MustParse(kFull);
  EXPECT_EQ(spec.timeouts.at("general"), 5s);
  EXPECT_EQ(spec.timeouts.at("important"), 90s);
  EXPECT_EQ(spec.timeouts.at("legacy"), 250ms);
}

TEST(ResiliencySpecTest, ParsesRetriesWithDaprDefaults) {
  const auto spec = MustParse(kFull);
  const RetrySpec& constant = spec.retries.at("pubsubRetry");
  EXPECT_EQ(constant.policy, BackoffPolicy::kConstant);
  EXPECT_EQ(constant.duration, 5s);
  EXPECT_EQ(constant.max_retries, 10);
  const RetrySpec& forever = spec.retries.at("retryForever");
  EXPECT_EQ(forever.policy, BackoffPolicy::kExponential);
  EXPECT_EQ(forever.max_interval, 15s);
  EXPECT_EQ(forever.max_retries, -1);
  EXPECT_EQ(forever.initial_interval, 500ms);
  EXPECT_DOUBLE_EQ(forever.multiplier, 1.5);
  EXPECT_TRUE(forever.http_status_codes.empty());
  const RetrySpec& matching = spec.retries.at("retry5xxOnly");
  ASSERT_EQ(matching.http_status_codes.size(), 2u);
  EXPECT_EQ(matching.http_status_codes[1].first, 500);
  EXPECT_EQ(matching.http_status_codes[1].last, 599);
  EXPECT_EQ(matching.grpc_status_codes.size(), 4u);
}

TEST(ResiliencySpecTest, ParsesCircuitBreakers) {
  const auto spec = MustParse(kFull);
  const BreakerSpec& cb = spec.circuit_breakers.at("pubsubCB");
  EXPECT_EQ(cb.max_requests, 2u);
  EXPECT_EQ(cb.interval, 8s);
  EXPECT_EQ(cb.timeout, 45s);
  EXPECT_EQ(cb.trip, "consecutiveFailures > 8 && requests > 10");
}

TEST(ResiliencySpecTest, ParsesTargets) {
  const auto spec = MustParse(kFull);
  EXPECT_EQ(spec.apps.at("appB").retry, "retryForever");
  EXPECT_EQ(spec.apps.at("appB").circuit_breaker, "simpleCB");
  EXPECT_EQ(spec.components.at("statestore1").outbound.timeout, "general");
  EXPECT_TRUE(spec.components.at("statestore1").inbound.retry.empty());
  EXPECT_EQ(spec.components.at("pubsub1").inbound.circuit_breaker, "pubsubCB");
  const ActorPolicyNames& actor = spec.actors.at("myActorType");
  EXPECT_EQ(actor.names.timeout, "general");
  EXPECT_EQ(actor.circuit_breaker_scope, ActorBreakerScope::kBoth);
  EXPECT_EQ(actor.circuit_breaker_cache_size, 5000);
}

TEST(ResiliencySpecTest, RefusesUndefinedPolicyNamesListingThemAll) {
  const std::string error = ParseError(Doc("    timeouts:\n      general: 5s\n",
                                           "    apps:\n      appA:\n        timeout: general\n"
                                           "        retry: nosuchretry\n"
                                           "    components:\n      store:\n        outbound:\n"
                                           "          circuitBreaker: nosuchcb\n"));
  EXPECT_NE(error.find("spec.targets.apps.appA.retry \"nosuchretry\""), std::string::npos) << error;
  EXPECT_NE(error.find("spec.targets.components.store.outbound.circuitBreaker \"nosuchcb\""),
            std::string::npos)
      << error;
  EXPECT_NE(error.find("resiliency r"), std::string::npos) << error;
}

TEST(ResiliencySpecTest, BadDurationsNameTheField) {
  EXPECT_NE(ParseError(Doc("    timeouts:\n      general: 5 seconds\n"))
                .find("spec.policies.timeouts.general"),
            std::string::npos);
  EXPECT_NE(ParseError(Doc("    retries:\n      r1:\n        duration: soon\n"))
                .find("spec.policies.retries.r1.duration"),
            std::string::npos);
  EXPECT_NE(ParseError(Doc("    circuitBreakers:\n      cb:\n        timeout: 5y\n"))
                .find("spec.policies.circuitBreakers.cb.timeout"),
            std::string::npos);
}

TEST(ResiliencySpecTest, RefusesOtherBadFields) {
  EXPECT_NE(ParseError(Doc("    retries:\n      r1:\n        policy: linear\n")).find("r1.policy"),
            std::string::npos);
  EXPECT_NE(
      ParseError(Doc("    retries:\n      r1:\n        maxRetries: lots\n")).find("r1.maxRetries"),
      std::string::npos);
  EXPECT_NE(
      ParseError(
          Doc("    retries:\n      r1:\n        matching:\n          httpStatusCodes: \"700\"\n"))
          .find("r1.matching.httpStatusCodes"),
      std::string::npos);
  EXPECT_NE(ParseError(Doc("    circuitBreakers:\n      cb:\n        trip: failures > 1\n"))
                .find("cb.trip"),
            std::string::npos);
  EXPECT_NE(ParseError(Doc("    circuitBreakers:\n      cb:\n        trip: requests > 1\n",
                           "    actors:\n      A:\n        circuitBreaker: cb\n"))
                .find("circuitBreakerScope"),
            std::string::npos);
  EXPECT_NE(ParseError("kind: Component\nspec:\n  policies: {}\n").find("kind"), std::string::npos);
  EXPECT_NE(ParseError("kind: Resiliency\nmetadata:\n  name: r\n").find("spec.policies"),
            std::string::npos);
}

TEST(ResiliencySpecTest, EmptySectionsAreFine) {
  const auto spec = MustParse(Doc("    timeouts: {}\n"));
  EXPECT_TRUE(spec.retries.empty());
  EXPECT_TRUE(spec.apps.empty());
}

}  // namespace
}  // namespace dapr::resiliency
