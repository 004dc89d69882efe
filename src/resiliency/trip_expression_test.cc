// Tests for the trip-expression subset of CEL.
#include "resiliency/trip_expression.h"

#include <gtest/gtest.h>

namespace dapr::resiliency {
namespace {

TripExpression Must(std::string_view text) {
  auto parsed = TripExpression::Parse(text);
  EXPECT_TRUE(parsed.ok()) << text << ": " << (parsed.ok() ? "" : parsed.error().message());
  return std::move(parsed).value();
}

BreakerCounts Failures(int64_t consecutive, int64_t total, int64_t requests) {
  BreakerCounts counts;
  counts.consecutive_failures = consecutive;
  counts.total_failures = total;
  counts.requests = requests;
  return counts;
}

TEST(CircuitBreakerTripTest, ComparesCountersWithNumbers) {
  EXPECT_FALSE(Must("consecutiveFailures >= 3").Evaluate(Failures(2, 2, 2)));
  EXPECT_TRUE(Must("consecutiveFailures >= 3").Evaluate(Failures(3, 3, 3)));
  EXPECT_TRUE(Must("consecutiveFailures > 2").Evaluate(Failures(3, 3, 3)));
  EXPECT_TRUE(Must("totalFailures<4").Evaluate(Failures(3, 3, 3)));
  EXPECT_TRUE(Must("requests <= 3").Evaluate(Failures(3, 3, 3)));
  EXPECT_TRUE(Must("requests == 3").Evaluate(Failures(3, 3, 3)));
  EXPECT_FALSE(Must("requests != 3").Evaluate(Failures(3, 3, 3)));
  EXPECT_TRUE(Must("5 > consecutiveSuccesses").Evaluate({}));
  EXPECT_TRUE(Must("totalSuccesses == consecutiveSuccesses").Evaluate({}));
}

TEST(CircuitBreakerTripTest, CombinesWithAndOrAndParentheses) {
  const auto both = Must("requests > 10 && totalFailures >= 5");
  EXPECT_FALSE(both.Evaluate(Failures(0, 5, 10)));
  EXPECT_TRUE(both.Evaluate(Failures(0, 5, 11)));

  const auto either = Must("consecutiveFailures > 3 || totalFailures > 10");
  EXPECT_TRUE(either.Evaluate(Failures(4, 4, 4)));
  EXPECT_TRUE(either.Evaluate(Failures(1, 11, 20)));
  EXPECT_FALSE(either.Evaluate(Failures(1, 5, 20)));

  // && binds tighter than ||; parentheses override it.
  EXPECT_TRUE(
      Must("requests > 0 || requests > 5 && totalFailures > 5").Evaluate(Failures(0, 0, 1)));
  EXPECT_FALSE(
      Must("(requests > 0 || requests > 5) && totalFailures > 5").Evaluate(Failures(0, 0, 1)));
}

TEST(CircuitBreakerTripTest, RefusesAnythingElseNamingTheExpression) {
  for (std::string_view bad :
       {"", "consecutiveFailures", "consecutiveFailures >", "failures > 3",
        "consecutiveFailures > 3 &&", "consecutiveFailures = 3", "(requests > 1", "requests > 1)",
        "requests > 1 & requests < 3", "requests > -1", "size(x) > 1", "!(requests > 1)",
        "requests > 1.5"}) {
    auto parsed = TripExpression::Parse(bad);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_NE(parsed.error().message().find("\"" + std::string(bad) + "\""), std::string::npos)
        << parsed.error().message();
  }
}

}  // namespace
}  // namespace dapr::resiliency
