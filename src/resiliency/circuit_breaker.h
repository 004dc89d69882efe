// A circuit breaker with gobreaker's state machine (what Dapr uses): closed, open for
// `timeout`, then half-open for up to maxRequests trial calls. Time is passed in by the caller.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>

#include "resiliency/spec.h"
#include "resiliency/trip_expression.h"

namespace dapr::resiliency {

enum class BreakerState { kClosed, kOpen, kHalfOpen };

// Thread-safe: every call takes an internal mutex for a few comparisons, so one breaker can be
// shared by all calls to a target from any thread.
//
// A call asks Allow(); if admitted, it reports OnSuccess() or OnFailure() when it ends.
// Unlike gobreaker, which drops the outcome of a call admitted before a state change, an
// outcome here always counts against the current state.
class CircuitBreaker {
 public:
  using Clock = std::chrono::steady_clock;

  // Parses spec.trip; refuses a bad expression.
  static Result<std::shared_ptr<CircuitBreaker>> Create(const BreakerSpec& spec);
  CircuitBreaker(const BreakerSpec& spec, TripExpression trip);

  // Whether a call may go ahead now; counts it as a request if so. False while open, and in
  // half-open once maxRequests trial calls have been admitted.
  bool Allow(Clock::time_point now);
  void OnSuccess(Clock::time_point now);
  void OnFailure(Clock::time_point now);

  BreakerState State(Clock::time_point now);
  BreakerCounts Counts() const;

 private:
  void Refresh(Clock::time_point now);
  void MoveTo(BreakerState state, Clock::time_point now);

  const uint32_t max_requests_;
  const Clock::duration interval_;
  const Clock::duration timeout_;
  const TripExpression trip_;

  mutable std::mutex mutex_;
  BreakerState state_ = BreakerState::kClosed;
  BreakerCounts counts_;
  // When the current state lapses: closed → counters reset; open → half-open. Unset: never.
  std::optional<Clock::time_point> expiry_;
  // No clock is read at construction, so the first call starts the first closed interval.
  bool started_ = false;
};

}  // namespace dapr::resiliency
