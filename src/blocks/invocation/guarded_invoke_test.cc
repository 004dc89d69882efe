// GuardedInvoke: retries until the app answers well, gives the app's last answer back when
// retries run out, ends a slow attempt at the timeout, opens the breaker, and retries a lost
// sidecar connection only under the built-in policy. Timers are a queue run by hand.
#include "blocks/invocation/guarded_invoke.h"

#include <gtest/gtest.h>

#include <deque>
#include <optional>

namespace dapr::blocks {
namespace {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;

struct ManualTimers {
  struct Pending {
    nanoseconds delay;
    std::function<void()> fn;
  };
  std::deque<Pending> pending;
  Schedule schedule() {
    return [this](nanoseconds delay, std::function<void()> fn) {
      pending.push_back({delay, std::move(fn)});
    };
  }
  // Runs the oldest timer; false when none is waiting.
  bool RunNext() {
    if (pending.empty()) return false;
    auto next = std::move(pending.front());
    pending.pop_front();
    next.fn();
    return true;
  }
};

channel::AppResponse Status(int status) { return channel::AppResponse{status, "text/plain", {}, "s"}; }

resiliency::RetryPolicy ConstantRetry(int max_retries) {
  resiliency::RetrySpec spec;
  spec.duration = milliseconds(10);
  spec.max_retries = max_retries;
  return resiliency::RetryPolicy(spec);
}

// An app that answers from a script, one entry per attempt (the last entry repeats).
struct ScriptedApp {
  std::vector<ApiResult<channel::AppResponse>> answers;
  int attempts = 0;
  Attempt attempt() {
    return [this](channel::AppCallback done) {
      auto index = std::min<size_t>(attempts++, answers.size() - 1);
      done(answers[index]);
    };
  }
};

std::optional<ApiResult<channel::AppResponse>> Invoke(const resiliency::AppPolicy& policy,
                                                      ManualTimers& timers, Attempt attempt) {
  std::optional<ApiResult<channel::AppResponse>> result;
  GuardedInvoke(policy, timers.schedule(), std::move(attempt),
                [&](ApiResult<channel::AppResponse> r) { result.emplace(std::move(r)); });
  while (!result && timers.RunNext()) {
  }
  return result;
}

TEST(GuardedInvoke, RetriesUntilTheAppAnswersWell) {
  ManualTimers timers;
  ScriptedApp app{{Status(500), Status(503), Status(200)}};
  resiliency::AppPolicy policy;
  policy.retry = std::make_shared<const resiliency::RetryPolicy>(ConstantRetry(5));
  auto result = Invoke(policy, timers, app.attempt());
  ASSERT_TRUE(result && result->ok());
  EXPECT_EQ((*result)->status, 200);
  EXPECT_EQ(app.attempts, 3);
}

TEST(GuardedInvoke, ReturnsTheAppsLastAnswerWhenRetriesRunOut) {
  ManualTimers timers;
  ScriptedApp app{{Status(503)}};
  resiliency::AppPolicy policy;
  policy.retry = std::make_shared<const resiliency::RetryPolicy>(ConstantRetry(2));
  auto result = Invoke(policy, timers, app.attempt());
  ASSERT_TRUE(result && result->ok());
  EXPECT_EQ((*result)->status, 503);
  EXPECT_EQ(app.attempts, 3);  // the call and 2 retries
}

TEST(GuardedInvoke, RetriesWaitTheConfiguredDelay) {
  ManualTimers timers;
  ScriptedApp app{{Status(500), Status(200)}};
  resiliency::AppPolicy policy;
  policy.retry = std::make_shared<const resiliency::RetryPolicy>(ConstantRetry(1));
  std::optional<ApiResult<channel::AppResponse>> result;
  GuardedInvoke(policy, timers.schedule(), app.attempt(),
                [&](ApiResult<channel::AppResponse> r) { result.emplace(std::move(r)); });
  EXPECT_FALSE(result.has_value());
  ASSERT_EQ(timers.pending.size(), 1u);
  EXPECT_EQ(timers.pending.front().delay, milliseconds(10));
  timers.RunNext();
  ASSERT_TRUE(result && result->ok());
}

TEST(GuardedInvoke, ASlowAttemptEndsAtTheTimeoutAndItsLateAnswerIsIgnored) {
  ManualTimers timers;
  channel::AppCallback late;
  resiliency::AppPolicy policy;
  policy.timeout = milliseconds(200);
  int answers = 0;
  std::optional<ApiResult<channel::AppResponse>> result;
  GuardedInvoke(policy, timers.schedule(), [&](channel::AppCallback done) { late = std::move(done); },
                [&](ApiResult<channel::AppResponse> r) {
                  ++answers;
                  result.emplace(std::move(r));
                });
  ASSERT_EQ(timers.pending.size(), 1u);
  EXPECT_EQ(timers.pending.front().delay, milliseconds(200));
  timers.RunNext();
  ASSERT_TRUE(result.has_value());
  ASSERT_FALSE(result->ok());
  EXPECT_EQ(result->error().message, "timeout waiting for the app to answer");
  late(Status(200));
  EXPECT_EQ(answers, 1);
}

TEST(GuardedInvoke, AnOpenBreakerAnswersWithoutTouchingTheApp) {
  ManualTimers timers;
  resiliency::BreakerSpec spec;
  spec.trip = "consecutiveFailures >= 2";
  auto breaker = resiliency::CircuitBreaker::Create(spec);
  ASSERT_TRUE(breaker.ok());
  resiliency::AppPolicy policy;
  policy.circuit_breaker = *breaker;
  ScriptedApp app{{Status(500)}};
  Invoke(policy, timers, app.attempt());
  Invoke(policy, timers, app.attempt());
  EXPECT_EQ(app.attempts, 2);
  auto result = Invoke(policy, timers, app.attempt());
  ASSERT_TRUE(result && !result->ok());
  EXPECT_EQ(result->error().message, "circuit breaker is open");
  EXPECT_EQ(app.attempts, 2);
}

TEST(GuardedInvoke, TheBuiltInRetryTakesOnlyLostSidecarConnections) {
  ManualTimers timers;
  ApiError unavailable = errors::InvokeCause("connection refused");
  unavailable.grpc_code = StatusCode::kUnavailable;
  resiliency::AppPolicy policy;
  policy.connection_retry = std::make_shared<const resiliency::RetryPolicy>(ConstantRetry(3));

  ScriptedApp flaky{{unavailable, Status(200)}};
  auto recovered = Invoke(policy, timers, flaky.attempt());
  ASSERT_TRUE(recovered && recovered->ok());
  EXPECT_EQ(flaky.attempts, 2);

  ScriptedApp failing_app{{Status(500)}};
  auto relayed = Invoke(policy, timers, failing_app.attempt());
  ASSERT_TRUE(relayed && relayed->ok());
  EXPECT_EQ((*relayed)->status, 500);
  EXPECT_EQ(failing_app.attempts, 1);  // an app's own error is not the built-in retry's business
}

}  // namespace
}  // namespace dapr::blocks
