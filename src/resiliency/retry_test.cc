// Tests for RetryPolicy: back-off delays with a fixed random source, limits, and matching.
#include "resiliency/retry.h"

#include <gtest/gtest.h>

namespace dapr::resiliency {
namespace {

using namespace std::chrono_literals;

RandomSource Fixed(double value) {
  return [value] { return value; };
}

RetrySpec Constant(std::chrono::nanoseconds duration, int64_t max_retries) {
  RetrySpec spec;
  spec.duration = duration;
  spec.max_retries = max_retries;
  return spec;
}

RetrySpec Exponential(int64_t max_retries) {
  RetrySpec spec;
  spec.policy = BackoffPolicy::kExponential;
  spec.max_retries = max_retries;
  return spec;  // Dapr's defaults: 500 ms initial, ×1.5, ±50 %, 60 s cap, 15 min budget
}

TEST(RetryPolicyTest, ConstantWaitsTheSameUntilMaxRetries) {
  RetryPolicy policy(Constant(200ms, 3));
  EXPECT_EQ(policy.DelayBeforeAttempt(1), 200ms);
  EXPECT_EQ(policy.DelayBeforeAttempt(3), 200ms);
  EXPECT_EQ(policy.DelayBeforeAttempt(4), std::nullopt);
}

TEST(RetryPolicyTest, MaxRetriesZeroNeverRetries) {
  RetryPolicy policy(Constant(1s, 0));
  EXPECT_EQ(policy.DelayBeforeAttempt(1), std::nullopt);
}

TEST(RetryPolicyTest, MaxRetriesMinusOneRetriesForever) {
  RetryPolicy policy(Constant(1s, -1));
  EXPECT_EQ(policy.DelayBeforeAttempt(1), 1s);
  EXPECT_EQ(policy.DelayBeforeAttempt(1'000'000), 1s);
}

TEST(RetryPolicyTest, ExponentialGrowsByTheMultiplierWithoutJitterAtMidpoint) {
  RetryPolicy policy(Exponential(-1), Fixed(0.5));  // 0.5 lands exactly on the interval
  EXPECT_EQ(policy.DelayBeforeAttempt(1), 500ms);
  EXPECT_EQ(policy.DelayBeforeAttempt(2), 750ms);
  EXPECT_EQ(policy.DelayBeforeAttempt(3), 1125ms);
}

TEST(RetryPolicyTest, ExponentialJitterSpansRandomizationFactor) {
  EXPECT_EQ(RetryPolicy(Exponential(-1), Fixed(0.0)).DelayBeforeAttempt(1), 250ms);
  EXPECT_EQ(RetryPolicy(Exponential(-1), Fixed(0.75)).DelayBeforeAttempt(1), 625ms);
}

TEST(RetryPolicyTest, ExponentialIsCappedByMaxInterval) {
  RetrySpec spec = Exponential(-1);
  spec.max_interval = 2s;
  RetryPolicy policy(spec, Fixed(0.99));
  EXPECT_EQ(policy.DelayBeforeAttempt(30), 2s);  // interval capped, and the jitter above it too
  RetryPolicy low(spec, Fixed(0.0));
  EXPECT_EQ(low.DelayBeforeAttempt(30), 1s);  // spread still applies below the cap
}

TEST(RetryPolicyTest, ExponentialStopsWhenTheElapsedBudgetIsSpent) {
  RetrySpec spec = Exponential(-1);
  spec.max_elapsed_time = 10s;
  RetryPolicy policy(spec, Fixed(0.5));
  EXPECT_EQ(policy.DelayBeforeAttempt(1, 9s), 500ms);
  EXPECT_EQ(policy.DelayBeforeAttempt(1, 9600ms), std::nullopt);
  spec.max_elapsed_time = 0s;  // no budget
  EXPECT_EQ(RetryPolicy(spec, Fixed(0.5)).DelayBeforeAttempt(1, 24h), 500ms);
}

TEST(RetryPolicyTest, ExponentialHonoursMaxRetries) {
  RetryPolicy policy(Exponential(2), Fixed(0.5));
  EXPECT_TRUE(policy.DelayBeforeAttempt(2).has_value());
  EXPECT_EQ(policy.DelayBeforeAttempt(3), std::nullopt);
}

TEST(RetryPolicyTest, WithoutMatchingEveryErrorIsRetried) {
  RetryPolicy policy(Constant(1s, 3));
  EXPECT_TRUE(policy.ShouldRetryHttp(500));
  EXPECT_TRUE(policy.ShouldRetryHttp(404));
  EXPECT_FALSE(policy.ShouldRetryHttp(200));
  EXPECT_FALSE(policy.ShouldRetryHttp(302));
  EXPECT_TRUE(policy.ShouldRetryGrpc(14));
  EXPECT_TRUE(policy.ShouldRetryGrpc(3));
  EXPECT_FALSE(policy.ShouldRetryGrpc(0));
}

TEST(RetryPolicyTest, MatchingListsWithRangesRestrictRetries) {
  RetrySpec spec = Constant(1s, 3);
  spec.http_status_codes = ParseStatusCodes("429,500-503", kValidHttpStatusCodes).value();
  spec.grpc_status_codes = ParseStatusCodes("1-4,14", kValidGrpcStatusCodes).value();
  RetryPolicy policy(spec);
  EXPECT_TRUE(policy.ShouldRetryHttp(429));
  EXPECT_TRUE(policy.ShouldRetryHttp(500));
  EXPECT_TRUE(policy.ShouldRetryHttp(503));
  EXPECT_FALSE(policy.ShouldRetryHttp(504));
  EXPECT_FALSE(policy.ShouldRetryHttp(404));
  EXPECT_TRUE(policy.ShouldRetryGrpc(1));
  EXPECT_TRUE(policy.ShouldRetryGrpc(4));
  EXPECT_TRUE(policy.ShouldRetryGrpc(14));
  EXPECT_FALSE(policy.ShouldRetryGrpc(5));
  EXPECT_FALSE(policy.ShouldRetryGrpc(13));
}

TEST(RetryPolicyTest, StatusCodeListsAreValidated) {
  EXPECT_TRUE(ParseStatusCodes("", kValidHttpStatusCodes).value().empty());
  EXPECT_EQ(ParseStatusCodes(" 429 , ,500-599", kValidHttpStatusCodes).value().size(), 2u);
  for (std::string_view bad : {"600", "99", "abc", "500-", "-500", "599-500", "1-2-3", "5xx"}) {
    EXPECT_FALSE(ParseStatusCodes(bad, kValidHttpStatusCodes).ok()) << bad;
  }
  EXPECT_FALSE(ParseStatusCodes("17", kValidGrpcStatusCodes).ok());
}

}  // namespace
}  // namespace dapr::resiliency
