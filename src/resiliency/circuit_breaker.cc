// CircuitBreaker's transitions, following gobreaker's rules.
#include "resiliency/circuit_breaker.h"

#include <algorithm>

namespace dapr::resiliency {

Result<std::shared_ptr<CircuitBreaker>> CircuitBreaker::Create(const BreakerSpec& spec) {
  auto trip = TripExpression::Parse(spec.trip);
  if (!trip.ok()) return trip.error();
  return std::make_shared<CircuitBreaker>(spec, std::move(trip).value());
}

// gobreaker reads maxRequests 0 as 1 and a timeout of 0 as 60 s; so does this.
CircuitBreaker::CircuitBreaker(const BreakerSpec& spec, TripExpression trip)
    : max_requests_(std::max<uint32_t>(spec.max_requests, 1)),
      interval_(std::chrono::duration_cast<Clock::duration>(spec.interval)),
      timeout_(spec.timeout.count() > 0
                   ? std::chrono::duration_cast<Clock::duration>(spec.timeout)
                   : std::chrono::duration_cast<Clock::duration>(std::chrono::seconds(60))),
      trip_(std::move(trip)) {}

bool CircuitBreaker::Allow(Clock::time_point now) {
  std::lock_guard lock(mutex_);
  Refresh(now);
  if (state_ == BreakerState::kOpen) return false;
  if (state_ == BreakerState::kHalfOpen && counts_.requests >= max_requests_) return false;
  ++counts_.requests;
  return true;
}

void CircuitBreaker::OnSuccess(Clock::time_point now) {
  std::lock_guard lock(mutex_);
  Refresh(now);
  if (state_ == BreakerState::kOpen) return;
  ++counts_.total_successes;
  ++counts_.consecutive_successes;
  counts_.consecutive_failures = 0;
  if (state_ == BreakerState::kHalfOpen && counts_.consecutive_successes >= max_requests_) {
    MoveTo(BreakerState::kClosed, now);
  }
}

void CircuitBreaker::OnFailure(Clock::time_point now) {
  std::lock_guard lock(mutex_);
  Refresh(now);
  if (state_ == BreakerState::kOpen) return;
  if (state_ == BreakerState::kHalfOpen) {  // one failed trial is enough to reopen
    MoveTo(BreakerState::kOpen, now);
    return;
  }
  ++counts_.total_failures;
  ++counts_.consecutive_failures;
  counts_.consecutive_successes = 0;
  if (trip_.Evaluate(counts_)) MoveTo(BreakerState::kOpen, now);
}

BreakerState CircuitBreaker::State(Clock::time_point now) {
  std::lock_guard lock(mutex_);
  Refresh(now);
  return state_;
}

BreakerCounts CircuitBreaker::Counts() const {
  std::lock_guard lock(mutex_);
  return counts_;
}

// Applies the lapse of time: a closed interval ends (counters reset), an open period ends.
void CircuitBreaker::Refresh(Clock::time_point now) {
  if (!started_) {
    started_ = true;
    MoveTo(BreakerState::kClosed, now);
    return;
  }
  if (!expiry_ || now < *expiry_) return;
  if (state_ == BreakerState::kClosed)
    MoveTo(BreakerState::kClosed, now);
  else if (state_ == BreakerState::kOpen)
    MoveTo(BreakerState::kHalfOpen, now);
}

// Every transition (and every closed interval) starts a fresh generation with zeroed counters.
void CircuitBreaker::MoveTo(BreakerState state, Clock::time_point now) {
  state_ = state;
  counts_ = {};
  expiry_.reset();
  if (state == BreakerState::kClosed && interval_.count() > 0) expiry_ = now + interval_;
  if (state == BreakerState::kOpen) expiry_ = now + timeout_;
}

}  // namespace dapr::resiliency
