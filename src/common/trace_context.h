// W3C Trace Context (https://www.w3.org/TR/trace-context/) `traceparent` values: parsed,
// checked and continued. Each hop through the sidecar is a span of its own, as in Dapr: the
// callee sees the caller's trace id with a new parent (span) id, or a new trace when the
// caller sent none or an invalid one. Written by hand: a few lines of hex, and no tracing
// library in Debian 12 is small enough to link for this.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace dapr::trace {

struct TraceParent {
  std::array<uint8_t, 16> trace_id{};
  std::array<uint8_t, 8> parent_id{};
  uint8_t flags = 0;  // bit 0: sampled

  std::string ToString() const;  // "00-<32 hex>-<16 hex>-<2 hex>"
};

// A valid version-00 value (lower-case hex, neither id all zeros); higher versions are
// read by their first four fields, as the spec asks. Anything else: nullopt.
std::optional<TraceParent> ParseTraceParent(std::string_view text);

// The traceparent to send on: the incoming trace with a new span id, or a new trace (not
// sampled) when the incoming value is missing or invalid.
std::string ContinueTrace(std::optional<std::string_view> incoming);

}  // namespace dapr::trace
