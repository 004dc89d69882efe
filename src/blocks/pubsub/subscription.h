// A subscription of this app to a topic, from either source Dapr reads: the app's answer to
// GET /dapr/subscribe (programmatic; v1 `route` or v2 `routes`), or a `kind: Subscription`
// resource (declarative; dapr.io/v1alpha1 `spec.route` or dapr.io/v2alpha1 `spec.routes`).
// Both become one list of routing rules tried in order, the default route last.
#pragma once

#include <yaml-cpp/yaml.h>

#include <map>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "blocks/pubsub/routing_rule.h"
#include "dapr/status.h"

namespace dapr::blocks::pubsub {

struct RouteRule {
  std::optional<RoutingRule> match;  // none: matches every event (the default route)
  std::string path;                  // where the event is delivered on the app
};

struct BulkSubscribe {
  bool enabled = false;
  int32_t max_messages_count = 100;     // Dapr's defaults
  int32_t max_await_duration_ms = 1000;
};

struct Subscription {
  std::string name;  // the resource's name; empty for a programmatic one
  std::string pubsub_name;
  std::string topic;
  std::map<std::string, std::string> metadata;  // rawPayload, and the broker's own keys
  std::vector<RouteRule> rules;
  std::string dead_letter_topic;
  BulkSubscribe bulk;
  std::vector<std::string> scopes;  // declarative only: the app ids that load it (empty: all)
  std::string source;               // where it came from, for messages
};

// The app's answer to GET /dapr/subscribe: a JSON array. An element without pubsubname or
// topic, or with a `match` that does not compile, makes the whole answer an error naming it;
// an element with neither a route nor rules is left out (Dapr discards it with a warning),
// and `skipped` says which.
Result<std::vector<Subscription>> ParseProgrammaticSubscriptions(std::string_view json,
                                                                 std::vector<std::string>* skipped = nullptr);

// One `kind: Subscription` document (the caller has checked the kind).
Result<Subscription> ParseSubscriptionResource(const YAML::Node& document, const std::string& source);

// The path for an event: the first rule that matches. A rule whose match cannot be
// evaluated on this event (a missing field) does not match. None: no rule matched.
std::optional<std::string> RouteFor(const Subscription& subscription, const nlohmann::json& event);

}  // namespace dapr::blocks::pubsub
