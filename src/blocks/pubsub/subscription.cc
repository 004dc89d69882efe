#include "blocks/pubsub/subscription.h"

#include <nlohmann/json.hpp>

namespace dapr::blocks::pubsub {
namespace {

using Json = nlohmann::json;

// Dapr sends its app's paths with a leading slash; a route written without one means the same.
std::string Path(std::string route) {
  if (!route.empty() && route.front() != '/') route.insert(route.begin(), '/');
  return route;
}

// routes.rules in order, then the catch-all: routes.default, else route.
Status AddRules(Subscription& out, const std::vector<std::pair<std::string, std::string>>& rules,
                const std::string& default_path, const std::string& route) {
  for (const auto& [match, path] : rules) {
    RouteRule rule;
    rule.path = Path(path);
    if (!match.empty()) {  // an empty match matches every event
      auto compiled = RoutingRule::Compile(match);
      if (!compiled.ok()) return compiled.error();
      rule.match = std::move(compiled).value();
    }
    out.rules.push_back(std::move(rule));
  }
  std::string fallback = !default_path.empty() ? default_path : route;
  if (!fallback.empty()) out.rules.push_back({std::nullopt, Path(fallback)});
  return Status::Ok();
}

std::string Text(const Json& object, const char* key) {
  auto found = object.find(key);
  if (found == object.end() || found->is_null()) return "";
  return found->is_string() ? found->get<std::string>() : found->dump();
}

std::map<std::string, std::string> Strings(const Json& object) {
  std::map<std::string, std::string> out;
  if (!object.is_object()) return out;
  for (const auto& [key, value] : object.items()) out[key] = value.is_string() ? value.get<std::string>() : value.dump();
  return out;
}

BulkSubscribe BulkOf(const Json& object) {
  BulkSubscribe bulk;
  if (!object.is_object()) return bulk;
  bulk.enabled = object.value("enabled", false);
  bulk.max_messages_count = object.value("maxMessagesCount", bulk.max_messages_count);
  bulk.max_await_duration_ms = object.value("maxAwaitDurationMs", bulk.max_await_duration_ms);
  return bulk;
}

Result<Subscription> FromJson(const Json& element, size_t index) {
  std::string where = "subscription " + std::to_string(index) + " from /dapr/subscribe";
  if (!element.is_object()) return InvalidArgument(where + " is not a JSON object");
  Subscription out;
  out.source = "/dapr/subscribe";
  out.pubsub_name = Text(element, "pubsubname");
  out.topic = Text(element, "topic");
  if (out.pubsub_name.empty()) return InvalidArgument(where + " has no pubsubname");
  if (out.topic.empty()) return InvalidArgument(where + " (pubsub " + out.pubsub_name + ") has no topic");
  out.metadata = Strings(element.value("metadata", Json::object()));
  out.dead_letter_topic = Text(element, "deadLetterTopic");
  out.bulk = BulkOf(element.value("bulkSubscribe", Json::object()));
  std::vector<std::pair<std::string, std::string>> rules;
  std::string default_path;
  if (auto routes = element.find("routes"); routes != element.end() && routes->is_object()) {
    default_path = Text(*routes, "default");
    for (const Json& rule : routes->value("rules", Json::array())) {
      if (rule.is_object()) rules.emplace_back(Text(rule, "match"), Text(rule, "path"));
    }
  }
  Status added = AddRules(out, rules, default_path, Text(element, "route"));
  if (!added.ok()) return InvalidArgument(where + " (topic " + out.topic + "): " + added.message());
  return out;
}

std::string Scalar(const YAML::Node& node, const char* key) {
  const YAML::Node value = node[key];
  return value && value.IsScalar() ? value.as<std::string>() : "";
}

}  // namespace

Result<std::vector<Subscription>> ParseProgrammaticSubscriptions(std::string_view json,
                                                                 std::vector<std::string>* skipped) {
  Json parsed = Json::parse(json.begin(), json.end(), nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded() || !parsed.is_array()) {
    return InvalidArgument("the answer to /dapr/subscribe is not a JSON array");
  }
  std::vector<Subscription> out;
  for (size_t i = 0; i < parsed.size(); ++i) {
    auto subscription = FromJson(parsed[i], i);
    if (!subscription.ok()) return subscription.error();
    if (subscription->rules.empty()) {
      if (skipped) skipped->push_back(subscription->pubsub_name + "/" + subscription->topic);
      continue;
    }
    out.push_back(std::move(subscription).value());
  }
  return out;
}

Result<Subscription> ParseSubscriptionResource(const YAML::Node& document, const std::string& source) {
  Subscription out;
  out.source = source;
  out.name = document["metadata"] ? Scalar(document["metadata"], "name") : "";
  std::string where = "subscription " + (out.name.empty() ? std::string("(unnamed)") : out.name) + " in " + source;
  const YAML::Node spec = document["spec"];
  if (!spec || !spec.IsMap()) return InvalidArgument(where + ": spec is missing");
  try {
    out.pubsub_name = Scalar(spec, "pubsubname");
    out.topic = Scalar(spec, "topic");
    if (out.pubsub_name.empty()) return InvalidArgument(where + ": spec.pubsubname is missing");
    if (out.topic.empty()) return InvalidArgument(where + ": spec.topic is missing");
    out.dead_letter_topic = Scalar(spec, "deadLetterTopic");
    if (const YAML::Node metadata = spec["metadata"]; metadata && metadata.IsMap()) {
      for (const auto& entry : metadata) out.metadata[entry.first.as<std::string>()] = entry.second.as<std::string>();
    }
    if (const YAML::Node bulk = spec["bulkSubscribe"]; bulk && bulk.IsMap()) {
      out.bulk.enabled = bulk["enabled"] && bulk["enabled"].as<bool>();
      if (bulk["maxMessagesCount"]) out.bulk.max_messages_count = bulk["maxMessagesCount"].as<int32_t>();
      if (bulk["maxAwaitDurationMs"]) out.bulk.max_await_duration_ms = bulk["maxAwaitDurationMs"].as<int32_t>();
    }
    if (const YAML::Node scopes = document["scopes"]; scopes && scopes.IsSequence()) {
      for (const auto& scope : scopes) out.scopes.push_back(scope.as<std::string>());
    }
    std::vector<std::pair<std::string, std::string>> rules;
    std::string default_path;
    if (const YAML::Node routes = spec["routes"]; routes && routes.IsMap()) {
      default_path = Scalar(routes, "default");
      if (const YAML::Node list = routes["rules"]; list && list.IsSequence()) {
        for (const auto& rule : list) rules.emplace_back(Scalar(rule, "match"), Scalar(rule, "path"));
      }
    }
    Status added = AddRules(out, rules, default_path, Scalar(spec, "route"));
    if (!added.ok()) return InvalidArgument(where + ": " + added.message());
  } catch (const YAML::Exception& error) {
    return InvalidArgument(where + ": " + error.what());
  }
  if (out.rules.empty()) return InvalidArgument(where + ": it has neither spec.route nor spec.routes");
  return out;
}

std::optional<std::string> RouteFor(const Subscription& subscription, const nlohmann::json& event) {
  for (const RouteRule& rule : subscription.rules) {
    if (!rule.match) return rule.path;
    auto matched = rule.match->Matches(event);
    if (matched.ok() && *matched) return rule.path;
  }
  return std::nullopt;
}

}  // namespace dapr::blocks::pubsub
