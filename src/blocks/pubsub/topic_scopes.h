// Which topics an app may publish and subscribe to on one pub/sub component, from the
// component's metadata: allowedTopics (the only topics anyone may use), protectedTopics
// (topics only apps scoped to them may use), publishingScopes and subscriptionScopes
// ("app1=t1,t2;app2=" : app1 only t1 and t2, app2 nothing, other apps anything allowed).
#pragma once

#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "dapr/component_metadata.h"

namespace dapr::blocks::pubsub {

class TopicScopes {
 public:
  TopicScopes() = default;
  static TopicScopes FromMetadata(const ComponentMetadata& metadata, std::string_view app_id);

  bool MayPublish(const std::string& topic) const { return Allowed(topic, publishing_); }
  bool MaySubscribe(const std::string& topic) const { return Allowed(topic, subscribing_); }

 private:
  bool Allowed(const std::string& topic, const std::optional<std::set<std::string>>& scoped) const;

  std::set<std::string> allowed_;    // empty: no restriction
  std::set<std::string> protected_;
  std::optional<std::set<std::string>> publishing_;  // this app's entry, when it has one
  std::optional<std::set<std::string>> subscribing_;
};

}  // namespace dapr::blocks::pubsub
