// The resiliency policies in force for this sidecar, merged from every Resiliency document, and
// the per-target state they need (one circuit breaker per app id, kept for the process's life).
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "resiliency/circuit_breaker.h"
#include "resiliency/retry.h"
#include "resiliency/spec.h"

namespace dapr::resiliency {

// What guards one service-invocation call to an app.
// Cheap to copy (shared, immutable parts): one is taken for every call.
struct AppPolicy {
  std::optional<std::chrono::nanoseconds> timeout;
  std::shared_ptr<const RetryPolicy> retry;  // null: none
  std::shared_ptr<CircuitBreaker> circuit_breaker;  // null: none
  // Dapr's built-in retry of a failed sidecar-to-sidecar hop (gRPC UNAVAILABLE or
  // UNAUTHENTICATED only): constant 1 s, 3 retries, overridable by a retry policy named
  // DaprBuiltInServiceRetries (never below 3 retries). Present only when no app target names
  // this app; any target turns it off, as in Dapr. It wraps the connection, inside `retry`.
  std::shared_ptr<const RetryPolicy> connection_retry;  // null: none
};

inline constexpr std::string_view kBuiltInServiceRetries = "DaprBuiltInServiceRetries";

// What guards the calls between the sidecar and one component: outbound the calls into it
// (save state, publish), inbound what it delivers to the app (a pub/sub message, an input
// binding event). Cheap to copy, like AppPolicy.
struct ComponentPolicy {
  std::optional<std::chrono::nanoseconds> timeout;
  std::shared_ptr<const RetryPolicy> retry;         // null: none
  std::shared_ptr<CircuitBreaker> circuit_breaker;  // null: none
};

enum class Direction { kInbound, kOutbound };

// Thread-safe: the policy tables are read-only after Build; the breaker table has a mutex.
class Policies {
 public:
  // Later documents add to earlier ones; a name defined twice takes the later definition.
  // Documents whose scopes do not list own_app_id are skipped (empty scopes: everyone).
  static Result<Policies> Build(const std::vector<ResiliencySpec>& specs,
                                std::string_view own_app_id,
                                RandomSource random = DefaultRandomSource());

  // A named app target wins; without one, Dapr's default policies apply
  // (DefaultApp{Timeout,Retry,CircuitBreaker}Policy, then Default{...}Policy), plus the
  // built-in connection retry.
  AppPolicy ForApp(const std::string& app_id) const;

  // A component named under targets.components gets the policies its inbound or outbound
  // entry names (and no others); any other gets Dapr's defaults, most specific first:
  // Default<Type>Component<Direction><Kind>Policy, DefaultComponent<Direction><Kind>Policy,
  // DefaultComponent<Kind>Policy, Default<Kind>Policy. component_type is Dapr's word for
  // the block ("Pubsub", "Statestore", "Binding", ...). One circuit breaker per component
  // name and direction, kept for the process's life.
  ComponentPolicy ForComponent(const std::string& name, std::string_view component_type,
                               Direction direction) const;

 private:
  struct BreakerTable {
    std::mutex mutex;
    std::map<std::string, std::shared_ptr<CircuitBreaker>> by_app;  // and by "component/..." key
  };

  // An app's policy before its circuit breaker (one per app id) is added.
  struct PolicyWithoutBreaker {
    AppPolicy policy;
    std::string breaker;  // the circuit breaker policy's name; empty: none
  };

  Policies() = default;
  Status Merge(const ResiliencySpec& spec);
  // After the last Merge: what every call to an app would otherwise look up again.
  void Resolve();
  PolicyWithoutBreaker Named(const PolicyNames& names, bool built_in_retry) const;
  std::shared_ptr<const RetryPolicy> RetryNamed(const std::string& name) const;
  PolicyNames DefaultAppPolicyNames() const;
  std::shared_ptr<CircuitBreaker> BreakerFor(const std::string& app_id,
                                             const std::string& policy) const;
  RetryPolicy BuiltInServiceRetry() const;

  std::map<std::string, std::chrono::nanoseconds> timeouts_;
  std::map<std::string, RetrySpec> retries_;
  struct BreakerTemplate {
    BreakerSpec spec;
    TripExpression trip;  // parsed once, shared by every breaker made from this template
  };
  std::map<std::string, BreakerTemplate> breakers_;
  std::map<std::string, PolicyNames> apps_;
  std::map<std::string, ComponentPolicyNames> components_;
  RandomSource random_;
  // Resolved once (Resolve): the policy of each app target, and that of every other app.
  std::map<std::string, PolicyWithoutBreaker, std::less<>> resolved_apps_;
  PolicyWithoutBreaker resolved_default_;
  std::unique_ptr<BreakerTable> breaker_table_ = std::make_unique<BreakerTable>();
};

}  // namespace dapr::resiliency
