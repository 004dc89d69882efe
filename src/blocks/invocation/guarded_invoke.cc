#include "blocks/invocation/guarded_invoke.h"

#include <atomic>
#include <memory>

namespace dapr::blocks {
namespace {

using Clock = std::chrono::steady_clock;

bool IsFailure(const ApiResult<channel::AppResponse>& result) {
  return !result.ok() || result->status < 200 || result->status > 399;
}

class Guard : public std::enable_shared_from_this<Guard> {
 public:
  Guard(resiliency::AppPolicy policy, Schedule schedule, Attempt attempt, channel::AppCallback done)
      : policy_(std::move(policy)),
        schedule_(std::move(schedule)),
        attempt_(std::move(attempt)),
        done_(std::move(done)),
        started_(Clock::now()) {}

  void Try() {
    auto& breaker = policy_.circuit_breaker;
    if (breaker && !breaker->Allow(Clock::now())) {
      return done_(errors::InvokeCause("circuit breaker is open"));
    }
    // The first of the answer and the timeout settles this attempt; the other is ignored.
    auto settled = std::make_shared<std::atomic<bool>>(false);
    if (policy_.timeout) {
      schedule_(*policy_.timeout, [self = shared_from_this(), settled] {
        if (settled->exchange(true)) return;
        self->Outcome(errors::InvokeCause("timeout waiting for the app to answer"));
      });
    }
    attempt_([self = shared_from_this(), settled](ApiResult<channel::AppResponse> result) {
      if (settled->exchange(true)) return;
      self->Outcome(std::move(result));
    });
  }

 private:
  void Outcome(ApiResult<channel::AppResponse> result) {
    bool failed = IsFailure(result);
    if (auto& breaker = policy_.circuit_breaker) {
      failed ? breaker->OnFailure(Clock::now()) : breaker->OnSuccess(Clock::now());
    }
    if (!failed) return done_(std::move(result));
    ++retries_;
    auto delay = NextDelay(result);
    if (!delay) return done_(std::move(result));
    schedule_(*delay, [self = shared_from_this()] { self->Try(); });
  }

  std::optional<std::chrono::nanoseconds> NextDelay(const ApiResult<channel::AppResponse>& result) {
    auto elapsed = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - started_);
    if (policy_.retry) {
      bool retryable = !result.ok() || policy_.retry->ShouldRetryHttp(result->status);
      if (!retryable) return std::nullopt;
      return policy_.retry->DelayBeforeAttempt(retries_, elapsed);
    }
    // Without a retry policy only a failure to reach the other sidecar is retried.
    if (policy_.connection_retry && !result.ok() &&
        result.error().grpc_code == StatusCode::kUnavailable) {
      return policy_.connection_retry->DelayBeforeAttempt(retries_, elapsed);
    }
    return std::nullopt;
  }

  resiliency::AppPolicy policy_;
  Schedule schedule_;
  Attempt attempt_;
  channel::AppCallback done_;
  Clock::time_point started_;
  int retries_ = 0;
};

}  // namespace

void GuardedInvoke(const resiliency::AppPolicy& policy, const Schedule& schedule,
                   Attempt attempt, channel::AppCallback done) {
  std::make_shared<Guard>(policy, schedule, std::move(attempt), std::move(done))->Try();
}

}  // namespace dapr::blocks
