// Go-style duration text ("1m30s", "250ms", "1.5h", "0") to nanoseconds, the format every
// duration in a Resiliency resource uses (Go's time.ParseDuration).
#pragma once

#include <chrono>
#include <string_view>

#include "dapr/status.h"

namespace dapr::resiliency {

// Units: ns, us, µs, μs, ms, s, m, h; decimal fractions and a leading sign are allowed, as in
// Go. Bare numbers other than "0" are refused here; the Resiliency parser reads them as
// milliseconds before calling this (spec.cc says why).
Result<std::chrono::nanoseconds> ParseDuration(std::string_view text);

}  // namespace dapr::resiliency
