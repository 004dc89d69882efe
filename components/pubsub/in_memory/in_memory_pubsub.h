// pubsub.in-memory: a process-local broker for tests and quick starts. Every subscription
// of a topic gets every message published after it subscribed; a failed delivery is tried
// again after `redeliverInterval` until it succeeds. Messages are lost when daprd stops
// (pubsub.sqlite is the durable embedded broker).
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "dapr/pubsub/pubsub.h"

namespace dapr::components::pubsub {

class InMemoryPubSub final : public ::dapr::pubsub::PubSub {
 public:
  ~InMemoryPubSub() override;

  Status Init(const ComponentMetadata& metadata) override;
  ::dapr::pubsub::Features GetFeatures() const override { return {}; }
  Status Publish(const ::dapr::pubsub::PublishRequest& request) override;
  Status Subscribe(const ::dapr::pubsub::SubscribeRequest& request,
                   ::dapr::pubsub::MessageHandler handler) override;
  Status Unsubscribe(const std::string& topic) override;
  void Close() override;

  class Subscriber;  // one delivery thread per subscription (in_memory_pubsub.cc)

 private:
  std::chrono::milliseconds redeliver_interval_{1000};
  size_t concurrency_ = 10;
  std::mutex mutex_;
  std::multimap<std::string, std::shared_ptr<Subscriber>> subscribers_;  // by topic
  bool closed_ = false;
};

}  // namespace dapr::components::pubsub
