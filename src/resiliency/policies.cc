// Merging Resiliency documents and resolving the policies for an app.
#include "resiliency/policies.h"

#include <algorithm>

namespace dapr::resiliency {
namespace {

bool AppliesTo(const ResiliencySpec& spec, std::string_view app_id) {
  return spec.scopes.empty() ||
         std::find(spec.scopes.begin(), spec.scopes.end(), app_id) != spec.scopes.end();
}

// The sidecar-to-sidecar retry Dapr always has: constant 1 s, 3 retries, only on the gRPC codes
// that mean the remote sidecar could not be reached or did not accept our identity.
RetrySpec DefaultServiceRetrySpec() {
  RetrySpec spec;
  spec.policy = BackoffPolicy::kConstant;
  spec.duration = std::chrono::seconds(1);
  spec.max_retries = 3;
  return spec;
}

constexpr StatusCodeRange kUnavailable{14, 14};
constexpr StatusCodeRange kUnauthenticated{16, 16};

// Dapr's name for a default policy: Default<level><kind>Policy, e.g. DefaultAppRetryPolicy.
std::string DefaultPolicyName(std::string_view level, std::string_view kind) {
  return "Default" + std::string(level) + std::string(kind) + "Policy";
}

template <class Map>
std::string FirstDefined(const Map& policies, std::string_view kind) {
  for (std::string_view level : {"App", ""}) {
    std::string name = DefaultPolicyName(level, kind);
    if (policies.contains(name)) return name;
  }
  return "";
}

// The default policy names for a component, most specific level first.
template <class Map>
std::string FirstDefinedForComponent(const Map& policies, std::string_view component_type,
                                     std::string_view direction, std::string_view kind) {
  const std::string type_level = std::string(component_type) + "Component" + std::string(direction);
  const std::string direction_level = "Component" + std::string(direction);
  for (std::string_view level : {std::string_view(type_level), std::string_view(direction_level),
                                 std::string_view("Component"), std::string_view("")}) {
    std::string name = DefaultPolicyName(level, kind);
    if (policies.contains(name)) return name;
  }
  return "";
}

}  // namespace

Result<Policies> Policies::Build(const std::vector<ResiliencySpec>& specs,
                                 std::string_view own_app_id, RandomSource random) {
  Policies policies;
  policies.random_ = std::move(random);
  for (const ResiliencySpec& spec : specs) {
    if (!AppliesTo(spec, own_app_id)) continue;
    if (Status s = policies.Merge(spec); !s.ok()) return s;
  }
  policies.Resolve();
  return policies;
}

void Policies::Resolve() {
  resolved_apps_.clear();
  for (const auto& [app_id, names] : apps_) resolved_apps_[app_id] = Named(names, false);
  resolved_default_ = Named(DefaultAppPolicyNames(), true);
}

Policies::PolicyWithoutBreaker Policies::Named(const PolicyNames& names, bool built_in_retry) const {
  PolicyWithoutBreaker out;
  if (built_in_retry) out.policy.connection_retry = std::make_shared<const RetryPolicy>(BuiltInServiceRetry());
  if (auto timeout = timeouts_.find(names.timeout); timeout != timeouts_.end()) {
    out.policy.timeout = timeout->second;
  }
  out.policy.retry = RetryNamed(names.retry);
  if (breakers_.contains(names.circuit_breaker)) out.breaker = names.circuit_breaker;
  return out;
}

Status Policies::Merge(const ResiliencySpec& spec) {
  for (const auto& [name, timeout] : spec.timeouts) timeouts_[name] = timeout;
  for (const auto& [name, retry] : spec.retries) retries_[name] = retry;
  for (const auto& [name, breaker] : spec.circuit_breakers) {
    auto trip = TripExpression::Parse(breaker.trip);
    if (!trip.ok())
      return InvalidArgument("resiliency " + spec.name + ": circuit breaker " + name + ": " +
                             trip.error().message());
    breakers_.insert_or_assign(name, BreakerTemplate{breaker, std::move(trip).value()});
  }
  for (const auto& [app_id, names] : spec.apps) apps_[app_id] = names;
  for (const auto& [name, names] : spec.components) components_[name] = names;
  return Status::Ok();
}

AppPolicy Policies::ForApp(const std::string& app_id) const {
  auto named = resolved_apps_.find(app_id);
  const PolicyWithoutBreaker& resolved = named != resolved_apps_.end() ? named->second : resolved_default_;
  AppPolicy policy = resolved.policy;
  if (!resolved.breaker.empty()) policy.circuit_breaker = BreakerFor(app_id, resolved.breaker);
  return policy;
}

ComponentPolicy Policies::ForComponent(const std::string& name, std::string_view component_type,
                                      Direction direction) const {
  const std::string_view dir = direction == Direction::kInbound ? "Inbound" : "Outbound";
  PolicyNames names;
  if (auto target = components_.find(name); target != components_.end()) {
    names = direction == Direction::kInbound ? target->second.inbound : target->second.outbound;
  } else {
    names = {FirstDefinedForComponent(timeouts_, component_type, dir, "Timeout"),
             FirstDefinedForComponent(retries_, component_type, dir, "Retry"),
             FirstDefinedForComponent(breakers_, component_type, dir, "CircuitBreaker")};
  }
  PolicyWithoutBreaker resolved = Named(names, false);
  ComponentPolicy policy{resolved.policy.timeout, resolved.policy.retry, nullptr};
  if (!resolved.breaker.empty()) {
    policy.circuit_breaker = BreakerFor("component/" + name + "/" + std::string(dir), resolved.breaker);
  }
  return policy;
}

PolicyNames Policies::DefaultAppPolicyNames() const {
  return {FirstDefined(timeouts_, "Timeout"), FirstDefined(retries_, "Retry"),
          FirstDefined(breakers_, "CircuitBreaker")};
}

std::shared_ptr<const RetryPolicy> Policies::RetryNamed(const std::string& name) const {
  auto retry = retries_.find(name);
  if (retry == retries_.end()) return nullptr;
  return std::make_shared<const RetryPolicy>(retry->second, random_);
}

std::shared_ptr<CircuitBreaker> Policies::BreakerFor(const std::string& app_id,
                                                     const std::string& policy) const {
  auto found = breakers_.find(policy);
  if (found == breakers_.end()) return nullptr;
  std::lock_guard lock(breaker_table_->mutex);
  auto& breaker = breaker_table_->by_app[app_id];
  if (!breaker) breaker = std::make_shared<CircuitBreaker>(found->second.spec, found->second.trip);
  return breaker;
}

// A user may override the built-in retry but not weaken it: fewer than 3 retries become 3
// (Dapr also turns -1 into 3; forever is not weaker, so it is kept here). Whatever the
// override says, only UNAVAILABLE and UNAUTHENTICATED are retried, as Dapr's caller checks.
RetryPolicy Policies::BuiltInServiceRetry() const {
  RetrySpec spec = DefaultServiceRetrySpec();
  if (auto custom = retries_.find(std::string(kBuiltInServiceRetries)); custom != retries_.end()) {
    spec = custom->second;
    if (spec.max_retries >= 0 && spec.max_retries < 3) spec.max_retries = 3;
  }
  spec.grpc_status_codes = {kUnavailable, kUnauthenticated};
  return RetryPolicy(spec, random_);
}

}  // namespace dapr::resiliency
