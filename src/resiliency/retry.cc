// Constant and exponential back-off (Dapr's, via cenkalti/backoff) and status-code matching.
#include "resiliency/retry.h"

#include <algorithm>
#include <cmath>
#include <random>

namespace dapr::resiliency {
namespace {

bool Listed(int code, const std::vector<StatusCodeRange>& ranges) {
  return std::any_of(ranges.begin(), ranges.end(),
                     [code](const StatusCodeRange& r) { return r.Contains(code); });
}

}  // namespace

RandomSource DefaultRandomSource() {
  return [] {
    thread_local std::mt19937_64 generator{std::random_device{}()};
    return std::uniform_real_distribution<double>(0.0, 1.0)(generator);
  };
}

RetryPolicy::RetryPolicy(RetrySpec spec, RandomSource random)
    : spec_(std::move(spec)), random_(std::move(random)) {}

std::optional<std::chrono::nanoseconds> RetryPolicy::DelayBeforeAttempt(
    int attempt, std::chrono::nanoseconds elapsed) const {
  if (attempt < 1) return std::nullopt;
  if (spec_.max_retries >= 0 && attempt > spec_.max_retries) return std::nullopt;
  if (spec_.policy == BackoffPolicy::kConstant) return spec_.duration;
  const auto delay = ExponentialDelay(attempt);
  if (spec_.max_elapsed_time.count() > 0 && elapsed + delay > spec_.max_elapsed_time)
    return std::nullopt;
  return delay;
}

// The n-th interval is initialInterval * multiplier^(n-1), capped at maxInterval, then spread
// uniformly over ±randomizationFactor of itself. backoff applies the spread after the cap, so a
// delay could exceed maxInterval by the factor; Dapr documents maxInterval as the ceiling, so
// the spread delay is capped again.
std::chrono::nanoseconds RetryPolicy::ExponentialDelay(int attempt) const {
  const double max_interval = static_cast<double>(spec_.max_interval.count());
  const double interval = std::min(
      static_cast<double>(spec_.initial_interval.count()) * std::pow(spec_.multiplier, attempt - 1),
      max_interval);
  const double delta = spec_.randomization_factor * interval;
  const double spread = interval - delta + random_() * 2 * delta;
  return std::chrono::nanoseconds(static_cast<int64_t>(std::min(spread, max_interval)));
}

bool RetryPolicy::ShouldRetryHttp(int status) const {
  if (status >= 200 && status <= 399) return false;
  return spec_.http_status_codes.empty() || Listed(status, spec_.http_status_codes);
}

bool RetryPolicy::ShouldRetryGrpc(int code) const {
  if (code == 0) return false;
  return spec_.grpc_status_codes.empty() || Listed(code, spec_.grpc_status_codes);
}

}  // namespace dapr::resiliency
