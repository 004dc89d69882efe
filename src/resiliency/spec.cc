// Reads a Resiliency document into ResiliencySpec; every error names the field at fault.
#include "resiliency/spec.h"

#include <charconv>
#include <set>

#include "resiliency/duration.h"
#include "resiliency/trip_expression.h"

namespace dapr::resiliency {
namespace {

std::string Scalar(const YAML::Node& node) {
  if (!node || node.IsNull() || !node.IsScalar()) return "";
  return node.Scalar();
}

Status FieldError(const std::string& field, const std::string& why) {
  return InvalidArgument(field + ": " + why);
}

template <class Int>
bool ParseInt(std::string_view text, Int& out) {
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out);
  return error == std::errc() && end == text.data() + text.size();
}

// Dapr reads a bare integer as milliseconds (`timeout: 500`), everything else as a Go duration.
Status ReadDuration(const YAML::Node& node, const std::string& field, nanoseconds& out) {
  if (!node) return Status::Ok();
  const std::string text = Scalar(node);
  if (int64_t millis = 0; ParseInt(text, millis)) {
    out = std::chrono::milliseconds(millis);
    return Status::Ok();
  }
  auto parsed = ParseDuration(text);
  if (!parsed.ok()) return FieldError(field, parsed.error().message());
  out = *parsed;
  return Status::Ok();
}

template <class Int>
Status ReadInt(const YAML::Node& node, const std::string& field, Int& out) {
  if (!node) return Status::Ok();
  if (!ParseInt(Scalar(node), out))
    return FieldError(field, "not an integer: \"" + Scalar(node) + "\"");
  return Status::Ok();
}

Status ReadDouble(const YAML::Node& node, const std::string& field, double& out) {
  if (!node) return Status::Ok();
  try {
    out = node.as<double>();
  } catch (const YAML::Exception&) {
    return FieldError(field, "not a number: \"" + Scalar(node) + "\"");
  }
  return Status::Ok();
}

// Tries each step in turn and stops at the first error.
#define DAPR_RETURN_IF_ERROR(expr)      \
  do {                                  \
    if (Status s_ = (expr); !s_.ok()) { \
      return s_;                        \
    }                                   \
  } while (false)

Result<RetrySpec> ParseRetry(const YAML::Node& node, const std::string& field) {
  RetrySpec spec;
  if (const std::string policy = Scalar(node["policy"]); !policy.empty()) {
    if (policy == "constant")
      spec.policy = BackoffPolicy::kConstant;
    else if (policy == "exponential")
      spec.policy = BackoffPolicy::kExponential;
    else
      return FieldError(field + ".policy",
                        "expected constant or exponential, got \"" + policy + "\"");
  }
  DAPR_RETURN_IF_ERROR(ReadDuration(node["duration"], field + ".duration", spec.duration));
  DAPR_RETURN_IF_ERROR(
      ReadDuration(node["initialInterval"], field + ".initialInterval", spec.initial_interval));
  DAPR_RETURN_IF_ERROR(
      ReadDuration(node["maxInterval"], field + ".maxInterval", spec.max_interval));
  DAPR_RETURN_IF_ERROR(
      ReadDuration(node["maxElapsedTime"], field + ".maxElapsedTime", spec.max_elapsed_time));
  DAPR_RETURN_IF_ERROR(ReadDouble(node["randomizationFactor"], field + ".randomizationFactor",
                                  spec.randomization_factor));
  DAPR_RETURN_IF_ERROR(ReadDouble(node["multiplier"], field + ".multiplier", spec.multiplier));
  DAPR_RETURN_IF_ERROR(ReadInt(node["maxRetries"], field + ".maxRetries", spec.max_retries));
  if (spec.max_retries < -1)
    return FieldError(field + ".maxRetries", "must be -1 (forever) or more");
  if (const YAML::Node matching = node["matching"]) {
    auto http = ParseStatusCodes(Scalar(matching["httpStatusCodes"]), kValidHttpStatusCodes);
    if (!http.ok()) return FieldError(field + ".matching.httpStatusCodes", http.error().message());
    auto grpc = ParseStatusCodes(Scalar(matching["gRPCStatusCodes"]), kValidGrpcStatusCodes);
    if (!grpc.ok()) return FieldError(field + ".matching.gRPCStatusCodes", grpc.error().message());
    spec.http_status_codes = std::move(http).value();
    spec.grpc_status_codes = std::move(grpc).value();
  }
  return spec;
}

Result<BreakerSpec> ParseBreaker(const YAML::Node& node, const std::string& field) {
  BreakerSpec spec;
  DAPR_RETURN_IF_ERROR(ReadInt(node["maxRequests"], field + ".maxRequests", spec.max_requests));
  DAPR_RETURN_IF_ERROR(ReadDuration(node["interval"], field + ".interval", spec.interval));
  DAPR_RETURN_IF_ERROR(ReadDuration(node["timeout"], field + ".timeout", spec.timeout));
  if (const std::string trip = Scalar(node["trip"]); !trip.empty()) spec.trip = trip;
  // Parsed here only to refuse a bad expression at load time; the breaker parses its own copy.
  if (auto trip = TripExpression::Parse(spec.trip); !trip.ok())
    return FieldError(field + ".trip", trip.error().message());
  return spec;
}

Status ParsePolicies(const YAML::Node& policies, ResiliencySpec& spec) {
  for (const auto& entry : policies["timeouts"]) {
    const std::string name = entry.first.Scalar();
    nanoseconds timeout{0};
    DAPR_RETURN_IF_ERROR(ReadDuration(entry.second, "spec.policies.timeouts." + name, timeout));
    spec.timeouts[name] = timeout;
  }
  for (const auto& entry : policies["retries"]) {
    const std::string name = entry.first.Scalar();
    auto retry = ParseRetry(entry.second, "spec.policies.retries." + name);
    if (!retry.ok()) return retry.error();
    spec.retries[name] = std::move(retry).value();
  }
  for (const auto& entry : policies["circuitBreakers"]) {
    const std::string name = entry.first.Scalar();
    auto breaker = ParseBreaker(entry.second, "spec.policies.circuitBreakers." + name);
    if (!breaker.ok()) return breaker.error();
    spec.circuit_breakers[name] = std::move(breaker).value();
  }
  return Status::Ok();
}

PolicyNames ReadPolicyNames(const YAML::Node& node) {
  if (!node || !node.IsMap()) return {};
  return {Scalar(node["timeout"]), Scalar(node["retry"]), Scalar(node["circuitBreaker"])};
}

Status ParseActorTarget(const YAML::Node& node, const std::string& field, ActorPolicyNames& actor) {
  actor.names = ReadPolicyNames(node);
  const std::string scope = Scalar(node["circuitBreakerScope"]);
  if (scope == "type")
    actor.circuit_breaker_scope = ActorBreakerScope::kType;
  else if (scope == "id")
    actor.circuit_breaker_scope = ActorBreakerScope::kId;
  else if (scope == "both")
    actor.circuit_breaker_scope = ActorBreakerScope::kBoth;
  else if (!scope.empty())
    return FieldError(field + ".circuitBreakerScope",
                      "expected type, id or both, got \"" + scope + "\"");
  // Dapr refuses a breaker without a scope rather than guessing one.
  if (scope.empty() && !actor.names.circuit_breaker.empty()) {
    return FieldError(field + ".circuitBreakerScope", "required when circuitBreaker is set");
  }
  DAPR_RETURN_IF_ERROR(ReadInt(node["circuitBreakerCacheSize"], field + ".circuitBreakerCacheSize",
                               actor.circuit_breaker_cache_size));
  if (actor.circuit_breaker_cache_size <= 0) actor.circuit_breaker_cache_size = 5000;
  return Status::Ok();
}

Status ParseTargets(const YAML::Node& targets, ResiliencySpec& spec) {
  if (!targets || !targets.IsMap()) return Status::Ok();
  for (const auto& entry : targets["apps"])
    spec.apps[entry.first.Scalar()] = ReadPolicyNames(entry.second);
  for (const auto& entry : targets["components"]) {
    spec.components[entry.first.Scalar()] = {ReadPolicyNames(entry.second["outbound"]),
                                             ReadPolicyNames(entry.second["inbound"])};
  }
  for (const auto& entry : targets["actors"]) {
    const std::string type = entry.first.Scalar();
    DAPR_RETURN_IF_ERROR(
        ParseActorTarget(entry.second, "spec.targets.actors." + type, spec.actors[type]));
  }
  return Status::Ok();
}

// Collects every reference to a policy the document does not define, so one error lists them all.
class UndefinedReferences {
 public:
  explicit UndefinedReferences(const ResiliencySpec& spec) : spec_(spec) {}

  void Check(const PolicyNames& names, const std::string& field) {
    if (!names.timeout.empty() && !spec_.timeouts.contains(names.timeout))
      Add(field + ".timeout", names.timeout);
    if (!names.retry.empty() && !spec_.retries.contains(names.retry))
      Add(field + ".retry", names.retry);
    if (!names.circuit_breaker.empty() && !spec_.circuit_breakers.contains(names.circuit_breaker)) {
      Add(field + ".circuitBreaker", names.circuit_breaker);
    }
  }

  Status ToStatus() const {
    if (found_.empty()) return Status::Ok();
    return InvalidArgument("targets refer to undefined policies: " + found_);
  }

 private:
  void Add(const std::string& field, const std::string& name) {
    found_ += (found_.empty() ? "" : ", ") + field + " \"" + name + "\"";
  }

  const ResiliencySpec& spec_;
  std::string found_;
};

Status CheckReferences(const ResiliencySpec& spec) {
  UndefinedReferences undefined(spec);
  for (const auto& [id, names] : spec.apps) undefined.Check(names, "spec.targets.apps." + id);
  for (const auto& [name, component] : spec.components) {
    undefined.Check(component.outbound, "spec.targets.components." + name + ".outbound");
    undefined.Check(component.inbound, "spec.targets.components." + name + ".inbound");
  }
  for (const auto& [type, actor] : spec.actors)
    undefined.Check(actor.names, "spec.targets.actors." + type);
  return undefined.ToStatus();
}

Status ParseInto(const YAML::Node& document, ResiliencySpec& spec) {
  if (Scalar(document["kind"]) != "Resiliency") return InvalidArgument("kind: expected Resiliency");
  if (const YAML::Node metadata = document["metadata"]; metadata && metadata.IsMap()) {
    spec.name = Scalar(metadata["name"]);
    spec.namespace_ = Scalar(metadata["namespace"]);
  }
  for (const auto& scope : document["scopes"]) spec.scopes.push_back(Scalar(scope));
  const YAML::Node body = document["spec"];
  if (!body || !body.IsMap() || !body["policies"])
    return InvalidArgument("spec.policies: required");
  DAPR_RETURN_IF_ERROR(ParsePolicies(body["policies"], spec));
  DAPR_RETURN_IF_ERROR(ParseTargets(body["targets"], spec));
  return CheckReferences(spec);
}

#undef DAPR_RETURN_IF_ERROR

Result<StatusCodeRange> ParseStatusCodeRange(std::string_view text, StatusCodeRange valid) {
  const size_t dash = text.find('-');
  StatusCodeRange range;
  const std::string_view first = text.substr(0, dash);
  const std::string_view last = dash == std::string_view::npos ? first : text.substr(dash + 1);
  if (!ParseInt(first, range.first) || !ParseInt(last, range.last)) {
    return InvalidArgument("\"" + std::string(text) + "\" is not a code or a range like 500-599");
  }
  if (!valid.Contains(range.first) || !valid.Contains(range.last)) {
    return InvalidArgument("\"" + std::string(text) + "\" lies outside " +
                           std::to_string(valid.first) + "-" + std::to_string(valid.last));
  }
  if (range.last < range.first)
    return InvalidArgument("\"" + std::string(text) + "\" ends before it starts");
  return range;
}

}  // namespace

Result<std::vector<StatusCodeRange>> ParseStatusCodes(std::string_view text,
                                                      StatusCodeRange valid) {
  std::vector<StatusCodeRange> ranges;
  while (!text.empty()) {
    const size_t comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (item.empty()) continue;  // "429,,500" is accepted, as Dapr does
    auto range = ParseStatusCodeRange(item, valid);
    if (!range.ok()) return range.error();
    ranges.push_back(range.value());
  }
  return ranges;
}

Result<ResiliencySpec> ParseResiliency(const YAML::Node& document) {
  ResiliencySpec spec;
  Status status;
  try {
    status = ParseInto(document, spec);
  } catch (const YAML::Exception& e) {  // a map where a scalar belongs, and the like
    status = InvalidArgument(std::string("malformed document: ") + e.what());
  }
  if (!status.ok()) {
    const std::string who = spec.name.empty() ? "resiliency" : "resiliency " + spec.name;
    return Status(status.code(), who + ": " + status.message());
  }
  return spec;
}

}  // namespace dapr::resiliency
