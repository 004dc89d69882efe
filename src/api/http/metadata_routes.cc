// HTTP adapters for metadata, health and shutdown. None of them block, so they run on the
// I/O thread directly.
#include <nlohmann/json.hpp>

#include "api/http/error_response.h"
#include "api/http/routes.h"
#include "blocks/lifecycle/lifecycle_block.h"
#include "blocks/metadata/metadata_block.h"

namespace dapr::http {
namespace {

using json = nlohmann::json;

json AppConnectionJson(const blocks::AppConnection& app) {
  json out = json::object();
  if (app.port > 0) out["port"] = app.port;
  if (!app.protocol.empty()) out["protocol"] = app.protocol;
  if (!app.channel_address.empty()) out["channelAddress"] = app.channel_address;
  if (app.max_concurrency > 0) out["maxConcurrency"] = app.max_concurrency;
  if (app.health) {
    json health = json::object();
    if (!app.health->check_path.empty()) health["healthCheckPath"] = app.health->check_path;
    health["healthProbeInterval"] = app.health->probe_interval;
    health["healthProbeTimeout"] = app.health->probe_timeout;
    health["healthThreshold"] = app.health->threshold;
    out["health"] = std::move(health);
  }
  return out;
}

// Go's omitempty: metadata and rules only when there are some; the rest always.
json SubscriptionsJson(const std::vector<blocks::SubscriptionInfo>& subscriptions) {
  json out = json::array();
  for (const auto& s : subscriptions) {
    json entry = {{"pubsubname", s.pubsub_name}, {"topic", s.topic},
                  {"deadLetterTopic", s.dead_letter_topic}, {"type", s.type}};
    if (!s.metadata.empty()) entry["metadata"] = s.metadata;
    json rules = json::array();
    for (const auto& [match, path] : s.rules) {
      json rule = json::object();
      if (!match.empty()) rule["match"] = match;
      if (!path.empty()) rule["path"] = path;
      rules.push_back(std::move(rule));
    }
    if (!rules.empty()) entry["rules"] = std::move(rules);
    out.push_back(std::move(entry));
  }
  return out;
}

std::string MetadataJson(const blocks::MetadataSnapshot& snapshot) {
  json components = json::array();
  for (const auto& c : snapshot.components) {
    json entry = {{"name", c.name}, {"type", c.type}, {"version", c.version}};
    if (!c.capabilities.empty()) entry["capabilities"] = c.capabilities;
    components.push_back(std::move(entry));
  }
  json out = {
      {"id", snapshot.id},
      {"runtimeVersion", snapshot.runtime_version},
      {"enabledFeatures", snapshot.enabled_features},
      {"components", std::move(components)},
      {"extended", snapshot.extended},
      {"appConnectionProperties", AppConnectionJson(snapshot.app_connection)},
      {"actorRuntime", {{"runtimeStatus", "DISABLED"}, {"hostReady", false}}},
  };
  if (!snapshot.subscriptions.empty()) out["subscriptions"] = SubscriptionsJson(snapshot.subscriptions);
  if (!snapshot.http_endpoints.empty()) {  // left out when empty, as Dapr does
    json endpoints = json::array();
    for (const auto& name : snapshot.http_endpoints) endpoints.push_back({{"name", name}});
    out["httpEndpoints"] = std::move(endpoints);
  }
  return out.dump(-1, ' ', false, json::error_handler_t::replace);
}

HttpResponse FromResult(const blocks::ApiResult<blocks::Done>& result) {
  return result.ok() ? NoContent() : ErrorResponse(result.error());
}

}  // namespace

void AddMetadataRoutes(Router& router, blocks::MetadataBlock& block) {
  router.Add({"GET"}, "/v1.0/metadata", [&block](std::shared_ptr<HttpRequest>, Responder respond) {
    respond(JsonResponse(200, MetadataJson(block.Snapshot())));
  });
  router.Add({"PUT"}, "/v1.0/metadata/{key}",
             [&block](std::shared_ptr<HttpRequest> request, Responder respond) {
               block.SetExtended(request->params.at("key"), std::move(request->body));
               respond(NoContent());
             });
}

void AddLifecycleRoutes(Router& router, blocks::LifecycleBlock& block) {
  router.Add({"GET"}, "/v1.0/healthz", [&block](std::shared_ptr<HttpRequest> request, Responder respond) {
    respond(FromResult(block.Healthz(request->QueryParam("appid").value_or(""))));
  });
  router.Add({"GET"}, "/v1.0/healthz/outbound", [&block](std::shared_ptr<HttpRequest>, Responder respond) {
    respond(FromResult(block.OutboundHealthz()));
  });
  router.Add({"POST"}, "/v1.0/shutdown", [&block](std::shared_ptr<HttpRequest>, Responder respond) {
    respond(NoContent());
    block.RequestShutdown();
  });
}

}  // namespace dapr::http
