// When to retry a failed call and how long to wait first, from a RetrySpec. Pure: the async
// runner asks it after each failure and arms its own timer.
#pragma once

#include <chrono>
#include <functional>
#include <optional>

#include "resiliency/spec.h"

namespace dapr::resiliency {

// A uniform draw from [0, 1). Injected so tests see fixed jitter.
using RandomSource = std::function<double()>;

// Thread-safe: one generator per thread.
RandomSource DefaultRandomSource();

// Copyable; holds no per-call state, so one instance serves every call that uses the policy.
class RetryPolicy {
 public:
  explicit RetryPolicy(RetrySpec spec, RandomSource random = DefaultRandomSource());

  // The wait before retry number `attempt` (1 = the first retry), or nullopt when the policy
  // gives up: maxRetries reached or, for exponential, `elapsed` since the first attempt plus
  // the wait would pass maxElapsedTime (cenkalti/backoff's rule, which Dapr inherits).
  std::optional<std::chrono::nanoseconds> DelayBeforeAttempt(
      int attempt, std::chrono::nanoseconds elapsed = std::chrono::nanoseconds::zero()) const;

  // Whether a call that ended with this status may be retried. Without `matching`, Dapr retries
  // every error: for HTTP any status outside 200-399 (what service invocation treats as an
  // error), for gRPC any code but OK. With a list, only errors whose code is listed.
  bool ShouldRetryHttp(int status) const;
  bool ShouldRetryGrpc(int code) const;

  const RetrySpec& spec() const { return spec_; }

 private:
  std::chrono::nanoseconds ExponentialDelay(int attempt) const;

  RetrySpec spec_;
  RandomSource random_;
};

}  // namespace dapr::resiliency
