// The pub/sub building block, once for both transports: publish (validation, scopes, the
// CloudEvent envelope, the component call, Dapr's errors) and delivery of what the app
// subscribed to (envelope checks, routing rules, the app's answer, dead letters).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <shared_mutex>
#include <string>
#include <vector>

#include "blocks/errors.h"
#include "blocks/pubsub/guarded_delivery.h"
#include "blocks/pubsub/subscription.h"
#include "blocks/pubsub/topic_channel.h"
#include "blocks/pubsub/topic_scopes.h"
#include "common/worker_pool.h"
#include "dapr/pubsub/pubsub.h"

namespace dapr::blocks {

struct PublishItem {
  std::string pubsub_name;
  std::string topic;
  std::string data;
  std::string content_type;
  std::map<std::string, std::string> metadata;  // rawPayload, ttlInSeconds, cloudevent.*, broker keys
  std::string traceparent;
  std::string tracestate;
};

struct BulkPublishEntryItem {
  std::string entry_id;
  std::string event;  // the entry's bytes (JSON text for JSON content types)
  std::string content_type;
  std::map<std::string, std::string> metadata;
};

struct BulkPublishItem {
  std::string pubsub_name;
  std::string topic;
  std::vector<BulkPublishEntryItem> entries;
  std::map<std::string, std::string> metadata;
  std::string traceparent;
  std::string tracestate;
};

using BulkPublishFailures = std::vector<::dapr::pubsub::BulkPublishFailure>;

enum class SubscriptionKind { kDeclarative, kProgrammatic, kStreaming };

class PubSubBlock {
 public:
  // pool runs the components' blocking calls (publish, acks).
  PubSubBlock(std::string app_id, WorkerPool& pool);
  ~PubSubBlock();

  // Deliveries then run under each component's inbound policy (without: one attempt each,
  // and no timeout). Set before the first Subscribe; policies must outlive the block.
  void SetResiliency(const resiliency::Policies* policies, CancellableSchedule schedule);

  Status AddPubSub(const std::string& name, std::shared_ptr<::dapr::pubsub::PubSub> pubsub,
                   const ComponentMetadata& metadata);
  std::vector<std::string> Capabilities(const std::string& name) const;

  // done runs once, on a worker thread (or at once for a request refused up front).
  void Publish(PublishItem item, std::function<void(ApiResult<Done>)> done) const;
  // The entries that failed; an error when the request as a whole is refused.
  void BulkPublish(BulkPublishItem item, std::function<void(ApiResult<BulkPublishFailures>)> done) const;

  // Starts delivering a subscription's messages to the app through channel (which must
  // outlive the block's CloseAll). Refused: an unknown component, a topic outside the
  // component's subscriptionScopes.
  Status Subscribe(pubsub::Subscription subscription, SubscriptionKind kind, pubsub::TopicChannel& channel);

  // A streaming subscription (SubscribeTopicEventsAlpha1): the channel is the app's stream,
  // kept alive by the subscription. Refused (kAlreadyExists) while this sidecar already
  // subscribes to the topic on that component. Blocking (the component's Subscribe): call
  // it on a worker thread.
  Status SubscribeStream(pubsub::Subscription subscription, std::shared_ptr<pubsub::TopicChannel> channel);
  // Ends a streaming subscription once its stream has closed; what it did not ack stays
  // with the broker. Blocking, like SubscribeStream.
  void UnsubscribeStream(const std::string& pubsub_name, const std::string& topic);

  // Stops every component's deliveries and closes the components.
  void CloseAll();

  struct Entry;
  class Delivery;

 private:
  ApiResult<::dapr::pubsub::PublishRequest> RequestOf(const Entry& entry, PublishItem& item, bool raw) const;
  void PublishOnLoop(const std::shared_ptr<const Entry>& entry, PublishItem item, bool raw,
                     std::function<void(ApiResult<Done>)> done) const;
  Status Start(pubsub::Subscription subscription, SubscriptionKind kind, pubsub::TopicChannel& channel,
               std::shared_ptr<pubsub::TopicChannel> owned_channel);
  ApiResult<std::shared_ptr<const Entry>> Find(const std::string& pubsub_name, const std::string& topic) const;

  std::string app_id_;
  WorkerPool& pool_;
  const resiliency::Policies* policies_ = nullptr;
  CancellableSchedule schedule_;
  mutable std::shared_mutex mutex_;
  std::map<std::string, std::shared_ptr<const Entry>> pubsubs_;
  std::set<std::pair<std::string, std::string>> subscribed_;  // (pubsub, topic), under mutex_
  std::vector<std::shared_ptr<const Entry>> closed_;            // by CloseAll
};

}  // namespace dapr::blocks
