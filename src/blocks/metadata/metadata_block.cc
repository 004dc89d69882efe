#include "blocks/metadata/metadata_block.h"

#include <algorithm>

namespace dapr::blocks {

MetadataBlock::MetadataBlock(std::string app_id, std::string runtime_version,
                             AppConnection app_connection) {
  snapshot_.id = std::move(app_id);
  snapshot_.runtime_version = runtime_version;
  snapshot_.extended["daprRuntimeVersion"] = std::move(runtime_version);
  snapshot_.app_connection = std::move(app_connection);
}

void MetadataBlock::AddComponent(RegisteredComponent component) {
  std::lock_guard lock(mutex_);
  snapshot_.components.push_back(std::move(component));
}

void MetadataBlock::SetEnabledFeatures(std::vector<std::string> features) {
  std::lock_guard lock(mutex_);
  snapshot_.enabled_features = std::move(features);
}

void MetadataBlock::SetHttpEndpoints(std::vector<std::string> names) {
  std::lock_guard lock(mutex_);
  snapshot_.http_endpoints = std::move(names);
}

void MetadataBlock::AddSubscription(SubscriptionInfo subscription) {
  std::lock_guard lock(mutex_);
  snapshot_.subscriptions.push_back(std::move(subscription));
}

// Streaming subscriptions come and go with their streams.
void MetadataBlock::RemoveSubscription(const std::string& pubsub_name, const std::string& topic,
                                       const std::string& type) {
  std::lock_guard lock(mutex_);
  auto& list = snapshot_.subscriptions;
  auto it = std::find_if(list.begin(), list.end(), [&](const SubscriptionInfo& s) {
    return s.pubsub_name == pubsub_name && s.topic == topic && s.type == type;
  });
  if (it != list.end()) list.erase(it);
}

void MetadataBlock::SetExtended(const std::string& key, std::string value) {
  if (key.empty()) return;
  std::lock_guard lock(mutex_);
  snapshot_.extended[key] = std::move(value);
}

MetadataSnapshot MetadataBlock::Snapshot() const {
  std::lock_guard lock(mutex_);
  return snapshot_;
}

}  // namespace dapr::blocks
