// Small time helpers shared by components: RFC 3339 rendering and parsing of expiry instants.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace dapr {

// "2026-11-25T17:00:00Z" (UTC, whole seconds), the form Dapr uses for ttlExpireTime.
std::string FormatRfc3339(std::chrono::system_clock::time_point instant);

// Any RFC 3339 date-time: "2026-11-25T17:00:00Z", with a fraction of a second
// (".123456789"), with an offset ("+01:00", "-05:30") or a lower-case t/z, as Go's time
// package writes and reads them. Nothing for anything else (checked field by field).
std::optional<std::chrono::system_clock::time_point> ParseRfc3339(std::string_view text);

}  // namespace dapr
