// Small time helpers shared by components: RFC 3339 rendering of expiry instants.
#pragma once

#include <chrono>
#include <string>

namespace dapr {

// "2026-11-25T17:00:00Z" (UTC, whole seconds), the form Dapr uses for ttlExpireTime.
std::string FormatRfc3339(std::chrono::system_clock::time_point instant);

}  // namespace dapr
