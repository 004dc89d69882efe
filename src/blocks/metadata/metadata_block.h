// The metadata building block: what this sidecar is and has loaded, as GET /v1.0/metadata
// and GetMetadata report it, plus the app-set "extended" attributes.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace dapr::blocks {

struct RegisteredComponent {
  std::string name;
  std::string type;
  std::string version;
  std::vector<std::string> capabilities;
};

struct AppHealthSettings {
  std::string check_path;
  std::string probe_interval;
  std::string probe_timeout;
  int threshold = 0;
};

struct AppConnection {
  int port = 0;
  std::string protocol;
  std::string channel_address;
  int max_concurrency = 0;  // 0: unlimited (omitted)
  std::optional<AppHealthSettings> health;
};

// A topic this sidecar delivers to its app, as the metadata API lists it.
struct SubscriptionInfo {
  std::string pubsub_name;
  std::string topic;
  std::map<std::string, std::string> metadata;
  std::vector<std::pair<std::string, std::string>> rules;  // (match, path); "" matches all
  std::string dead_letter_topic;
  std::string type;  // DECLARATIVE, PROGRAMMATIC or STREAMING
};

struct MetadataSnapshot {
  std::string id;
  std::string runtime_version;
  std::vector<std::string> enabled_features;
  std::vector<RegisteredComponent> components;
  std::vector<std::string> http_endpoints;  // HTTPEndpoint names
  std::vector<SubscriptionInfo> subscriptions;
  std::map<std::string, std::string> extended;
  AppConnection app_connection;
};

class MetadataBlock {
 public:
  MetadataBlock(std::string app_id, std::string runtime_version, AppConnection app_connection);

  void AddComponent(RegisteredComponent component);
  void SetEnabledFeatures(std::vector<std::string> features);
  void SetHttpEndpoints(std::vector<std::string> names);
  void AddSubscription(SubscriptionInfo subscription);
  void RemoveSubscription(const std::string& pubsub_name, const std::string& topic, const std::string& type);
  // An empty key is a no-op, as in Dapr.
  void SetExtended(const std::string& key, std::string value);
  MetadataSnapshot Snapshot() const;

 private:
  mutable std::mutex mutex_;
  MetadataSnapshot snapshot_;
};

}  // namespace dapr::blocks
