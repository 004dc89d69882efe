// Tests for CircuitBreaker's states, driven by a hand-advanced steady_clock time point.
#include "resiliency/circuit_breaker.h"

#include <gtest/gtest.h>

namespace dapr::resiliency {
namespace {

using namespace std::chrono_literals;
using Clock = CircuitBreaker::Clock;

BreakerSpec Spec(std::string trip, std::chrono::nanoseconds timeout = 30s,
                 uint32_t max_requests = 1, std::chrono::nanoseconds interval = 0s) {
  BreakerSpec spec;
  spec.trip = std::move(trip);
  spec.timeout = timeout;
  spec.max_requests = max_requests;
  spec.interval = interval;
  return spec;
}

class CircuitBreakerTest : public ::testing::Test {
 protected:
  std::shared_ptr<CircuitBreaker> Make(const BreakerSpec& spec) {
    auto breaker = CircuitBreaker::Create(spec);
    EXPECT_TRUE(breaker.ok());
    return std::move(breaker).value();
  }

  // One admitted call that fails (or succeeds) at the current time.
  void Fail(CircuitBreaker& breaker) {
    ASSERT_TRUE(breaker.Allow(now_));
    breaker.OnFailure(now_);
  }
  void Succeed(CircuitBreaker& breaker) {
    ASSERT_TRUE(breaker.Allow(now_));
    breaker.OnSuccess(now_);
  }

  Clock::time_point now_ = Clock::time_point() + 1h;
};

TEST_F(CircuitBreakerTest, OpensOnConsecutiveFailures) {
  auto breaker = Make(Spec("consecutiveFailures >= 3"));
  Fail(*breaker);
  Fail(*breaker);
  EXPECT_EQ(breaker->State(now_), BreakerState::kClosed);
  Fail(*breaker);
  EXPECT_EQ(breaker->State(now_), BreakerState::kOpen);
  EXPECT_FALSE(breaker->Allow(now_));
}

TEST_F(CircuitBreakerTest, ASuccessResetsTheConsecutiveCount) {
  auto breaker = Make(Spec("consecutiveFailures >= 3"));
  Fail(*breaker);
  Fail(*breaker);
  Succeed(*breaker);
  Fail(*breaker);
  Fail(*breaker);
  EXPECT_EQ(breaker->State(now_), BreakerState::kClosed);
  EXPECT_EQ(breaker->Counts().total_failures, 4);
  EXPECT_EQ(breaker->Counts().requests, 5);
}

TEST_F(CircuitBreakerTest, StaysOpenUntilTheTimeoutThenHalfOpens) {
  auto breaker = Make(Spec("consecutiveFailures >= 1", 30s));
  Fail(*breaker);
  now_ += 29s;
  EXPECT_FALSE(breaker->Allow(now_));
  EXPECT_EQ(breaker->State(now_), BreakerState::kOpen);
  now_ += 1s;
  EXPECT_EQ(breaker->State(now_), BreakerState::kHalfOpen);
}

TEST_F(CircuitBreakerTest, HalfOpenAdmitsMaxRequestsTrials) {
  auto breaker = Make(Spec("consecutiveFailures >= 1", 10s, 2));
  Fail(*breaker);
  now_ += 10s;
  EXPECT_TRUE(breaker->Allow(now_));
  EXPECT_TRUE(breaker->Allow(now_));
  EXPECT_FALSE(breaker->Allow(now_));
}

TEST_F(CircuitBreakerTest, MaxRequestsZeroCountsAsOne) {
  auto breaker = Make(Spec("consecutiveFailures >= 1", 10s, 0));
  Fail(*breaker);
  now_ += 10s;
  EXPECT_TRUE(breaker->Allow(now_));
  EXPECT_FALSE(breaker->Allow(now_));
  breaker->OnSuccess(now_);
  EXPECT_EQ(breaker->State(now_), BreakerState::kClosed);
}

TEST_F(CircuitBreakerTest, ClosesAfterMaxRequestsSuccessfulTrials) {
  auto breaker = Make(Spec("consecutiveFailures >= 1", 10s, 2));
  Fail(*breaker);
  now_ += 10s;
  Succeed(*breaker);
  EXPECT_EQ(breaker->State(now_), BreakerState::kHalfOpen);
  Succeed(*breaker);
  EXPECT_EQ(breaker->State(now_), BreakerState::kClosed);
  EXPECT_EQ(breaker->Counts().requests, 0);  // a new generation starts clean
  EXPECT_TRUE(breaker->Allow(now_));
}

TEST_F(CircuitBreakerTest, AFailedTrialReopensForAnotherTimeout) {
  auto breaker = Make(Spec("consecutiveFailures >= 5", 10s, 3));
  for (int i = 0; i < 5; ++i) Fail(*breaker);
  now_ += 10s;
  Succeed(*breaker);
  Fail(*breaker);  // one failure in half-open is enough, whatever the trip says
  EXPECT_EQ(breaker->State(now_), BreakerState::kOpen);
  now_ += 9s;
  EXPECT_FALSE(breaker->Allow(now_));
  now_ += 1s;
  EXPECT_TRUE(breaker->Allow(now_));
}

TEST_F(CircuitBreakerTest, IntervalResetsCountersWhileClosed) {
  auto breaker = Make(Spec("consecutiveFailures >= 3", 30s, 1, 60s));
  Fail(*breaker);
  Fail(*breaker);
  now_ += 60s;
  Fail(*breaker);  // the first two were forgotten
  EXPECT_EQ(breaker->State(now_), BreakerState::kClosed);
  EXPECT_EQ(breaker->Counts().consecutive_failures, 1);
  Fail(*breaker);
  Fail(*breaker);
  EXPECT_EQ(breaker->State(now_), BreakerState::kOpen);
}

TEST_F(CircuitBreakerTest, ZeroIntervalNeverResets) {
  auto breaker = Make(Spec("totalFailures >= 3"));
  Fail(*breaker);
  Fail(*breaker);
  now_ += 24h;
  Fail(*breaker);
  EXPECT_EQ(breaker->State(now_), BreakerState::kOpen);
}

TEST_F(CircuitBreakerTest, TripsOnCombinedExpressions) {
  auto both = Make(Spec("requests >= 4 && totalFailures >= 2"));
  Fail(*both);
  Fail(*both);
  EXPECT_EQ(both->State(now_), BreakerState::kClosed);  // only 2 requests so far
  Succeed(*both);
  Fail(*both);
  EXPECT_EQ(both->State(now_), BreakerState::kOpen);

  auto either = Make(Spec("consecutiveFailures >= 3 || totalFailures >= 4"));
  for (int i = 0; i < 3; ++i) {
    Fail(*either);
    Succeed(*either);
  }
  EXPECT_EQ(either->State(now_), BreakerState::kClosed);
  Fail(*either);
  EXPECT_EQ(either->State(now_), BreakerState::kOpen);
}

TEST_F(CircuitBreakerTest, DefaultTripIsMoreThanFiveConsecutiveFailures) {
  auto breaker = Make(BreakerSpec{});
  for (int i = 0; i < 5; ++i) Fail(*breaker);
  EXPECT_EQ(breaker->State(now_), BreakerState::kClosed);
  Fail(*breaker);
  EXPECT_EQ(breaker->State(now_), BreakerState::kOpen);
}

TEST_F(CircuitBreakerTest, RefusesABadTripExpression) {
  auto breaker = CircuitBreaker::Create(Spec("consecutiveFailures >>= 3"));
  ASSERT_FALSE(breaker.ok());
  EXPECT_NE(breaker.error().message().find("consecutiveFailures >>= 3"), std::string::npos);
}

}  // namespace
}  // namespace dapr::resiliency
