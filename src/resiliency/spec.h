// The parsed form of one `kind: Resiliency` document (apiVersion dapr.io/v1alpha1): named
// timeout, retry and circuit-breaker policies, and the targets that refer to them by name.
#pragma once

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "dapr/status.h"

namespace dapr::resiliency {

using std::chrono::nanoseconds;

enum class BackoffPolicy { kConstant, kExponential };

// An inclusive range of status codes, as written in `matching` ("500-599" or "429").
struct StatusCodeRange {
  int first = 0;
  int last = 0;
  bool Contains(int code) const { return first <= code && code <= last; }
};

// Defaults are Dapr's (dapr/kit retry.DefaultConfig, which takes the exponential ones from
// cenkalti/backoff): a policy that leaves a field out gets these.
struct RetrySpec {
  BackoffPolicy policy = BackoffPolicy::kConstant;
  nanoseconds duration = std::chrono::seconds(5);                 // constant only
  nanoseconds initial_interval = std::chrono::milliseconds(500);  // exponential only, below too
  double randomization_factor = 0.5;
  double multiplier = 1.5;
  nanoseconds max_interval = std::chrono::seconds(60);
  nanoseconds max_elapsed_time = std::chrono::minutes(15);  // 0: no limit
  int64_t max_retries = -1;                                 // -1: retry forever; 0: never
  // Empty: every error status is retried. Otherwise only the listed ones.
  std::vector<StatusCodeRange> http_status_codes;
  std::vector<StatusCodeRange> grpc_status_codes;
};

// Defaults are Dapr's (gobreaker's for maxRequests, interval and timeout).
struct BreakerSpec {
  uint32_t max_requests = 1;  // half-open trial calls; 0 is read as 1
  nanoseconds interval{0};    // closed-state counter reset period; 0: never reset
  nanoseconds timeout = std::chrono::seconds(60);  // how long the breaker stays open
  std::string trip = "consecutiveFailures > 5";
};

// Policy names a target refers to; an empty name means "no such policy for this target".
struct PolicyNames {
  std::string timeout;
  std::string retry;
  std::string circuit_breaker;
};

struct ComponentPolicyNames {
  PolicyNames outbound;  // sidecar → component (save state, publish, output binding)
  PolicyNames inbound;   // component → app (subscription delivery, input binding)
};

// Whether one breaker guards an actor type, or each actor id has its own.
enum class ActorBreakerScope { kType, kId, kBoth };

struct ActorPolicyNames {
  PolicyNames names;
  ActorBreakerScope circuit_breaker_scope = ActorBreakerScope::kType;
  int circuit_breaker_cache_size = 5000;  // Dapr's default LRU size for per-id breakers
};

struct ResiliencySpec {
  std::string name;
  std::string namespace_;
  std::vector<std::string> scopes;  // app ids this document applies to; empty: all

  std::map<std::string, nanoseconds> timeouts;
  std::map<std::string, RetrySpec> retries;
  std::map<std::string, BreakerSpec> circuit_breakers;

  std::map<std::string, PolicyNames> apps;                 // by app id
  std::map<std::string, ComponentPolicyNames> components;  // by component name
  std::map<std::string, ActorPolicyNames> actors;          // by actor type
};

// Parses one document. Refuses bad durations, numbers, policy kinds, status-code lists and trip
// expressions (naming the field), and targets that name a policy this document does not define.
Result<ResiliencySpec> ParseResiliency(const YAML::Node& document);

// "429,500-599" → ranges; every code must lie within `valid`. Empty text → no ranges.
Result<std::vector<StatusCodeRange>> ParseStatusCodes(std::string_view text, StatusCodeRange valid);

inline constexpr StatusCodeRange kValidHttpStatusCodes{100, 599};
inline constexpr StatusCodeRange kValidGrpcStatusCodes{0, 16};

}  // namespace dapr::resiliency
