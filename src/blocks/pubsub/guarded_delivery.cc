#include "blocks/pubsub/guarded_delivery.h"

#include <atomic>
#include <memory>

namespace dapr::blocks::pubsub {
namespace {

using Clock = std::chrono::steady_clock;

std::string Milliseconds(std::chrono::nanoseconds d) {
  return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(d).count()) + " ms";
}

struct AttemptState {
  std::atomic<bool> settled{false};
  CancelTimer cancel_timeout;  // set before the attempt starts, read once it ends
};

class Guarded : public std::enable_shared_from_this<Guarded> {
 public:
  Guarded(std::shared_ptr<const DeliveryGuard> guard, DeliverAttempt attempt,
          std::function<void(DeliveryResult)> done)
      : guard_(std::move(guard)), attempt_(std::move(attempt)), done_(std::move(done)), started_(Clock::now()) {}

  void Try() {
    auto& breaker = guard_->policy.circuit_breaker;
    if (breaker && !breaker->Allow(Clock::now())) {
      return done_({Outcome::kRetry, "the circuit breaker of the component's inbound policy is open"});
    }
    // The first of the answer and the timeout settles this attempt; the other is ignored.
    auto attempt = std::make_shared<AttemptState>();
    if (guard_->schedule) {
      auto timeout = guard_->policy.timeout.value_or(guard_->default_timeout);
      attempt->cancel_timeout = guard_->schedule(timeout, [self = shared_from_this(), attempt, timeout] {
        if (attempt->settled.exchange(true)) return;
        self->Outcome({Outcome::kRetry, "the app did not answer within " + Milliseconds(timeout)});
      });
    }
    attempt_([self = shared_from_this(), attempt](DeliveryResult result) {
      if (attempt->settled.exchange(true)) return;
      if (attempt->cancel_timeout) attempt->cancel_timeout();
      self->Outcome(std::move(result));
    });
  }

 private:
  // DROP is the app's decision, not a failure: neither retried nor counted by the breaker.
  void Outcome(DeliveryResult result) {
    bool failed = result.outcome == Outcome::kRetry;
    if (auto& breaker = guard_->policy.circuit_breaker) {
      failed ? breaker->OnFailure(Clock::now()) : breaker->OnSuccess(Clock::now());
    }
    if (!failed) return done_(std::move(result));
    auto delay = NextDelay(result);
    if (!delay) return done_(std::move(result));
    guard_->schedule(*delay, [self = shared_from_this()] { self->Try(); });
  }

  std::optional<std::chrono::nanoseconds> NextDelay(const DeliveryResult& result) {
    const auto& retry = guard_->policy.retry;
    if (!retry || !guard_->schedule) return std::nullopt;
    if (result.http_status && !retry->ShouldRetryHttp(*result.http_status)) return std::nullopt;
    if (result.grpc_code && !retry->ShouldRetryGrpc(*result.grpc_code)) return std::nullopt;
    auto elapsed = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - started_);
    return retry->DelayBeforeAttempt(++retries_, elapsed);
  }

  const std::shared_ptr<const DeliveryGuard> guard_;
  DeliverAttempt attempt_;
  std::function<void(DeliveryResult)> done_;
  Clock::time_point started_;
  int retries_ = 0;
};

}  // namespace

void GuardedDeliver(std::shared_ptr<const DeliveryGuard> guard, DeliverAttempt attempt,
                    std::function<void(DeliveryResult)> done) {
  std::make_shared<Guarded>(std::move(guard), std::move(attempt), std::move(done))->Try();
}

}  // namespace dapr::blocks::pubsub
