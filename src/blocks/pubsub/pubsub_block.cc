#include "blocks/pubsub/pubsub_block.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <optional>
#include <set>

#include "blocks/pubsub/cloud_event.h"
#include "common/base64.h"
#include "common/json_scan.h"
#include "common/time_format.h"

namespace dapr::blocks {
namespace {

using Json = nlohmann::json;
namespace ps = ::dapr::pubsub;

// A metadata flag such as rawPayload: absent is false; a value that is not a boolean is
// the caller's mistake.
Result<bool> Flag(const std::map<std::string, std::string>& metadata, const std::string& key) {
  auto it = metadata.find(key);
  if (it == metadata.end()) return false;
  auto value = ParseBool(it->second);
  if (!value) return InvalidArgument(key + " must be a boolean, not \"" + it->second + "\"");
  return *value;
}

std::string Dump(const Json& value) { return value.dump(-1, ' ', false, Json::error_handler_t::replace); }

}  // namespace

struct PubSubBlock::Entry {
  std::string name;
  std::shared_ptr<ps::PubSub> pubsub;
  ps::Features features;
  pubsub::TopicScopes scopes;
};

PubSubBlock::PubSubBlock(std::string app_id, WorkerPool& pool) : app_id_(std::move(app_id)), pool_(pool) {}

PubSubBlock::~PubSubBlock() = default;

void PubSubBlock::SetResiliency(const resiliency::Policies* policies, CancellableSchedule schedule) {
  policies_ = policies;
  schedule_ = std::move(schedule);
}

Status PubSubBlock::AddPubSub(const std::string& name, std::shared_ptr<ps::PubSub> pubsub,
                              const ComponentMetadata& metadata) {
  auto entry = std::make_shared<Entry>();
  entry->name = name;
  entry->features = pubsub->GetFeatures();
  entry->pubsub = std::move(pubsub);
  entry->scopes = pubsub::TopicScopes::FromMetadata(metadata, app_id_);
  std::unique_lock lock(mutex_);
  if (!pubsubs_.emplace(name, std::move(entry)).second) {
    return InvalidArgument("a pub/sub component named " + name + " is already loaded");
  }
  return Status::Ok();
}

std::vector<std::string> PubSubBlock::Capabilities(const std::string& name) const {
  std::shared_lock lock(mutex_);
  auto it = pubsubs_.find(name);
  if (it == pubsubs_.end()) return {};
  std::vector<std::string> out;
  const auto& f = it->second->features;
  if (f.bulk_publish) out.push_back("BULK_PUBSUB");
  if (f.message_ttl) out.push_back("MESSAGE_TTL");
  if (f.subscribe_wildcards) out.push_back("SUBSCRIBE_WILDCARDS");
  return out;
}

ApiResult<std::shared_ptr<const PubSubBlock::Entry>> PubSubBlock::Find(const std::string& pubsub_name,
                                                                       const std::string& topic) const {
  std::shared_lock lock(mutex_);
  if (pubsubs_.empty()) return errors::PubSubNotConfigured();
  if (pubsub_name.empty()) return errors::PubSubNameEmpty();
  auto it = pubsubs_.find(pubsub_name);
  if (it == pubsubs_.end()) return errors::PubSubNotFound(pubsub_name);
  if (topic.empty()) return errors::PubSubTopicEmpty(pubsub_name);
  return it->second;
}

namespace {

// The bytes the broker carries for one publish: the CloudEvent, or the body untouched.
Result<std::string> MessageData(const std::string& data, const std::string& content_type, bool raw,
                                pubsub::PublishContext context) {
  if (raw) return data;
  context.content_type = content_type;
  return pubsub::BuildCloudEvent(data, context);
}

pubsub::PublishContext ContextOf(const std::string& app_id, const std::string& pubsub_name,
                                 const std::string& topic, const std::string& traceparent,
                                 const std::string& tracestate, bool broker_has_ttl) {
  pubsub::PublishContext context;
  context.app_id = app_id;
  context.pubsub_name = pubsub_name;
  context.topic = topic;
  context.traceparent = traceparent;
  context.tracestate = tracestate;
  context.broker_has_ttl = broker_has_ttl;
  return context;
}

ApiError PublishError(const std::string& pubsub, const std::string& topic, const Status& cause) {
  if (cause.code() == StatusCode::kNotFound) return errors::PubSubTopicNotFound(pubsub, topic, cause);
  return errors::PubSubPublish(pubsub, topic, cause);
}

}  // namespace

void PubSubBlock::Publish(PublishItem item, std::function<void(ApiResult<Done>)> done) const {
  auto entry = Find(item.pubsub_name, item.topic);
  if (!entry.ok()) return done(entry.take_error());
  auto raw = Flag(item.metadata, "rawPayload");
  if (!raw.ok()) return done(errors::PubSubBadMetadata(item.pubsub_name, raw.error().message()));
  if (!(*entry)->scopes.MayPublish(item.topic)) {
    return done(errors::PubSubForbidden(item.pubsub_name, item.topic, app_id_));
  }
  if ((*entry)->pubsub->SupportsAsyncPublish()) return PublishOnLoop(*entry, std::move(item), *raw, std::move(done));
  // The envelope (the whole body, for a large one) and the broker call run on a worker.
  pool_.Post([this, entry = std::move(entry).value(), item = std::move(item), raw = *raw,
              done = std::move(done)]() mutable {
    auto request = RequestOf(*entry, item, raw);
    if (!request.ok()) return done(request.take_error());
    Status status = entry->pubsub->Publish(*request);
    if (!status.ok()) return done(PublishError(item.pubsub_name, item.topic, status));
    done(Done{});
  });
}

// The broker's request: the CloudEvent built around the data (or the raw bytes). Takes the
// item's data and metadata.
ApiResult<ps::PublishRequest> PubSubBlock::RequestOf(const Entry& entry, PublishItem& item, bool raw) const {
  pubsub::PublishContext context = ContextOf(app_id_, item.pubsub_name, item.topic, item.traceparent, item.tracestate,
                                             entry.features.message_ttl);
  context.metadata = item.metadata;
  auto data = MessageData(item.data, item.content_type, raw, std::move(context));
  if (!data.ok()) return errors::PubSubCloudEventCreation(item.pubsub_name, data.error().message());
  return ps::PublishRequest{item.topic, std::move(data).value(), raw ? item.content_type : "application/cloudevents+json",
                            std::move(item.metadata)};
}

// A component that publishes without blocking is called right here, on the event loop: no
// hand-off to a worker and back. The envelope is built here too; it costs less than a hop.
void PubSubBlock::PublishOnLoop(const std::shared_ptr<const Entry>& entry, PublishItem item, bool raw,
                                std::function<void(ApiResult<Done>)> done) const {
  auto request = RequestOf(*entry, item, raw);
  if (!request.ok()) return done(request.take_error());
  entry->pubsub->PublishAsync(std::move(request).value(), [pubsub = std::move(item.pubsub_name), topic = std::move(item.topic),
                                                   done = std::move(done)](Status status) {
    if (!status.ok()) return done(PublishError(pubsub, topic, status));
    done(Done{});
  });
}

void PubSubBlock::BulkPublish(BulkPublishItem item, std::function<void(ApiResult<BulkPublishFailures>)> done) const {
  auto entry = Find(item.pubsub_name, item.topic);
  if (!entry.ok()) return done(entry.take_error());
  if (!(*entry)->scopes.MayPublish(item.topic)) {
    return done(errors::PubSubForbidden(item.pubsub_name, item.topic, app_id_));
  }
  std::set<std::string> ids;
  for (const auto& e : item.entries) {
    if (e.entry_id.empty()) return done(errors::PubSubMarshalEvents(item.pubsub_name, item.topic, "entryId is required"));
    if (!ids.insert(e.entry_id).second) {
      return done(errors::PubSubMarshalEvents(item.pubsub_name, item.topic, "duplicate entryId " + e.entry_id));
    }
  }
  pool_.Post([this, entry = std::move(entry).value(), item = std::move(item), done = std::move(done)]() mutable {
    ps::BulkPublishRequest request{item.topic, {}, item.metadata};
    for (auto& e : item.entries) {
      std::map<std::string, std::string> metadata = item.metadata;  // an entry's own keys win
      for (auto& [k, v] : e.metadata) metadata[k] = v;
      auto raw = Flag(metadata, "rawPayload");
      if (!raw.ok()) return done(errors::PubSubBadMetadata(item.pubsub_name, raw.error().message()));
      pubsub::PublishContext context = ContextOf(app_id_, item.pubsub_name, item.topic, item.traceparent,
                                                 item.tracestate, entry->features.message_ttl);
      context.metadata = metadata;
      auto data = MessageData(e.event, e.content_type, *raw, std::move(context));
      if (!data.ok()) return done(errors::PubSubCloudEventCreation(item.pubsub_name, data.error().message()));
      request.entries.push_back({e.entry_id, std::move(data).value(),
                                 *raw ? e.content_type : "application/cloudevents+json", std::move(metadata)});
    }
    done(entry->pubsub->BulkPublish(request));
  });
}

// One subscription's deliveries: each message from the broker is checked, routed, handed
// to the app, and acked or handed back by what the app answered.
class PubSubBlock::Delivery : public std::enable_shared_from_this<Delivery> {
 public:
  Delivery(pubsub::Subscription subscription, std::shared_ptr<const Entry> entry,
           pubsub::TopicChannel& channel, WorkerPool& pool, std::shared_ptr<const pubsub::DeliveryGuard> guard,
           std::shared_ptr<pubsub::TopicChannel> owned_channel = nullptr)
      : subscription_(std::move(subscription)),
        entry_(std::move(entry)),
        owned_channel_(std::move(owned_channel)),
        channel_(channel),
        pool_(pool),
        guard_(std::move(guard)) {
    auto raw = Flag(subscription_.metadata, "rawPayload");
    raw_ = raw.ok() && *raw;
    // No rule to evaluate, nothing but the text and the trace fields to deliver: the event
    // is checked and those fields read, without a tree of the whole (its largest cost here).
    top_level_only_ = !raw_ && !subscription_.bulk.enabled && !channel_.NeedsWholeEvent() &&
                      std::none_of(subscription_.rules.begin(), subscription_.rules.end(),
                                   [](const pubsub::RouteRule& rule) { return rule.match.has_value(); });
  }

  void Handle(ps::Message message, ps::DeliveryDone done) {
    auto event = Envelope(message);
    if (!event) return DropOnPool(std::move(message), std::move(done), "the message is not a CloudEvent");
    if (Expired(*event)) return DropOnPool(std::move(message), std::move(done), "the event has expired");
    auto path = pubsub::RouteFor(subscription_, *event);
    if (!path) return DropOnPool(std::move(message), std::move(done), "no route matches the event");
    if (subscription_.bulk.enabled) {
      return Batch({std::move(message), std::move(done), std::move(*event), std::move(*path)});
    }
    pubsub::TopicEvent topic_event;
    topic_event.pubsub_name = entry_->name;
    topic_event.topic = message.topic;
    topic_event.path = std::move(*path);
    topic_event.data = raw_ ? Dump(*event) : message.data;
    topic_event.cloud_event = std::move(*event);
    topic_event.metadata = message.metadata;
    topic_event.metadata["pubsubName"] = entry_->name;
    // Each retry sends the event again; without a retry policy the one attempt takes it.
    auto shared_event = std::make_shared<pubsub::TopicEvent>(std::move(topic_event));
    const bool may_retry = guard_->policy.retry != nullptr;
    auto attempt = [channel = &channel_, shared_event, may_retry](std::function<void(pubsub::DeliveryResult)> answered) {
      if (may_retry) return channel->Deliver(*shared_event, std::move(answered));
      channel->Deliver(std::move(*shared_event), std::move(answered));
    };
    pubsub::GuardedDeliver(guard_, std::move(attempt), [self = shared_from_this(), message = std::move(message),
                                                        done = std::move(done)](pubsub::DeliveryResult result) mutable {
      // An ack that does not block is made where the answer came.
      if (result.outcome == pubsub::Outcome::kSuccess && self->entry_->pubsub->AcksWithoutBlocking()) {
        return done(Status::Ok());
      }
      // Acks and dead letters are broker calls, which may block: off the event loop.
      self->pool_.Post([self, message = std::move(message), done = std::move(done),
                        result = std::move(result)]() mutable {
        self->Answered(std::move(message), std::move(done), result);
      });
    });
  }

 private:
  // The CloudEvent of a message: parsed, or built around the bytes for a raw subscription.
  std::optional<Json> Envelope(const ps::Message& message) const {
    if (raw_) {
      Json event = {{"id", pubsub::NewUuid()},          {"source", "Dapr"},
                    {"type", "com.dapr.event.sent"},     {"specversion", "1.0"},
                    {"datacontenttype", "application/octet-stream"},
                    {"topic", message.topic},            {"pubsubname", entry_->name},
                    {"data_base64", Base64Encode(message.data)}};
      return event;
    }
    if (top_level_only_) {
      auto fields = json_scan::TopLevelStrings(message.data, {"expiration", "traceparent", "tracestate"});
      if (!fields) return std::nullopt;
      Json event = Json::object();
      for (auto& [key, value] : *fields) event[key] = std::move(value);
      return event;
    }
    Json event = Json::parse(message.data, nullptr, false);
    if (event.is_discarded() || !event.is_object()) return std::nullopt;
    return event;
  }

  // ---- bulk subscriptions: messages gathered into batches, one app call per batch and path

  struct Pending {
    ps::Message message;
    ps::DeliveryDone done;
    Json event;
    std::string path;
  };

  // A batch goes when it is full or when its first message has waited maxAwaitDurationMs.
  void Batch(Pending pending) {
    std::vector<Pending> full;
    std::optional<uint64_t> arm;
    {
      std::lock_guard lock(batch_mutex_);
      batch_.push_back(std::move(pending));
      const auto max = static_cast<size_t>(std::max(1, subscription_.bulk.max_messages_count));
      if (batch_.size() >= max || !guard_->schedule) {
        full.swap(batch_);
        ++batch_number_;
      } else if (batch_.size() == 1) {
        arm = batch_number_;
      }
    }
    if (!full.empty()) return SendBatch(std::move(full));
    if (arm) {
      auto wait = std::chrono::milliseconds(std::max(0, subscription_.bulk.max_await_duration_ms));
      guard_->schedule(wait, [self = shared_from_this(), number = *arm] { self->FlushBatch(number); });
    }
  }

  // The timer of batch `number`: a batch that already went (full) is not sent again.
  void FlushBatch(uint64_t number) {
    std::vector<Pending> due;
    {
      std::lock_guard lock(batch_mutex_);
      if (number != batch_number_ || batch_.empty()) return;
      due.swap(batch_);
      ++batch_number_;
    }
    SendBatch(std::move(due));
  }

  // Routing rules may send the entries of one batch to different paths: one call per path.
  void SendBatch(std::vector<Pending> batch) {
    std::map<std::string, std::vector<Pending>> by_path;
    for (auto& pending : batch) by_path[pending.path].push_back(std::move(pending));
    for (auto& [path, group] : by_path) SendGroup(path, std::move(group));
  }

  void SendGroup(const std::string& path, std::vector<Pending> group) {
    pubsub::BulkTopicEvent event;
    event.id = pubsub::NewUuid();
    event.pubsub_name = entry_->name;
    event.topic = group.front().message.topic;
    event.path = path;
    auto waiting = std::make_shared<std::vector<std::pair<std::string, Pending>>>();
    waiting->reserve(group.size());
    for (auto& pending : group) {
      pubsub::BulkEntry entry;
      entry.entry_id = pubsub::NewUuid();
      entry.is_raw = raw_;
      if (raw_) entry.raw = pending.message.data;  // the message keeps its bytes for a dead letter
      entry.cloud_event = std::move(pending.event);
      entry.metadata = pending.message.metadata;
      entry.metadata["pubsubName"] = entry_->name;
      waiting->emplace_back(entry.entry_id, std::move(pending));
      event.entries.push_back(std::move(entry));
    }
    // The batch call is bounded like a single delivery; its entries are not retried here
    // (the broker, or the dead-letter topic, has those the app did not ack).
    auto settled = std::make_shared<std::atomic<bool>>(false);
    auto cancel = std::make_shared<CancelTimer>();
    auto finish = [self = shared_from_this(), waiting, settled, cancel](pubsub::BulkDeliveryResult result) {
      if (settled->exchange(true)) return;
      if (*cancel) (*cancel)();
      self->pool_.Post([self, waiting, result = std::move(result)]() mutable {
        for (auto& [id, pending] : *waiting) {
          auto outcome = result.outcomes.find(id);
          pubsub::DeliveryResult answer(outcome == result.outcomes.end() ? pubsub::Outcome::kRetry : outcome->second,
                                        result.detail);
          self->Answered(std::move(pending.message), std::move(pending.done), answer);
        }
      });
    };
    if (guard_->schedule) {
      auto timeout = guard_->policy.timeout.value_or(guard_->default_timeout);
      *cancel = guard_->schedule(timeout, [finish, timeout] {
        finish({{}, "the app did not answer the bulk delivery within " +
                        std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count()) + " ms"});
      });
    }
    channel_.DeliverBulk(std::move(event), std::move(finish));
  }

  // expiration in any RFC 3339 form (a Dapr sidecar elsewhere may write an offset or a
  // fraction); one that does not parse never expires the event, as in Dapr.
  static bool Expired(const Json& event) {
    auto it = event.find("expiration");
    if (it == event.end() || !it->is_string()) return false;
    auto at = ParseRfc3339(it->get_ref<const std::string&>());
    return at && *at <= std::chrono::system_clock::now();
  }

  void Answered(ps::Message message, ps::DeliveryDone done, const pubsub::DeliveryResult& result) {
    switch (result.outcome) {
      case pubsub::Outcome::kSuccess:
        return done(Status::Ok());
      case pubsub::Outcome::kDrop:
        return Dropped(std::move(message), std::move(done), "the app dropped it: " + result.detail);
      case pubsub::Outcome::kRetry:
        // With a dead-letter topic the message goes there; without, back to the broker.
        if (!subscription_.dead_letter_topic.empty()) {
          return Dropped(std::move(message), std::move(done), "delivery failed: " + result.detail);
        }
        spdlog::debug("pubsub {}: delivery on topic {} failed, to be retried: {}", entry_->name,
                      message.topic, result.detail);
        return done(Status(StatusCode::kUnavailable, result.detail));
    }
  }

  // A message that cannot be delivered: to the dead-letter topic when there is one, else
  // acked and gone. A dead letter that cannot be published keeps the message with the broker.
  // A component may call Handle on the event loop; a dead letter is a blocking publish.
  void DropOnPool(ps::Message message, ps::DeliveryDone done, std::string why) {
    if (subscription_.dead_letter_topic.empty() || subscription_.dead_letter_topic == message.topic) {
      return Dropped(std::move(message), std::move(done), why);  // only logged and acked
    }
    pool_.Post([self = shared_from_this(), message = std::move(message), done = std::move(done),
                why = std::move(why)]() mutable { self->Dropped(std::move(message), std::move(done), why); });
  }

  void Dropped(ps::Message message, ps::DeliveryDone done, const std::string& why) {
    const std::string& dead_letters = subscription_.dead_letter_topic;
    if (dead_letters.empty() || dead_letters == message.topic) {
      spdlog::warn("pubsub {}: dropping a message of topic {}: {}", entry_->name, message.topic, why);
      return done(Status::Ok());
    }
    ps::PublishRequest request{dead_letters, std::move(message.data), std::move(message.content_type),
                               std::move(message.metadata)};
    Status status = entry_->pubsub->Publish(request);
    if (!status.ok()) {
      spdlog::warn("pubsub {}: dead letter to {} failed: {}", entry_->name, dead_letters, status.message());
      return done(status);
    }
    spdlog::info("pubsub {}: message of topic {} sent to dead-letter topic {}: {}", entry_->name,
                 message.topic, dead_letters, why);
    done(Status::Ok());
  }

  const pubsub::Subscription subscription_;
  const std::shared_ptr<const Entry> entry_;
  const std::shared_ptr<pubsub::TopicChannel> owned_channel_;  // a stream's, which lives as long as this
  pubsub::TopicChannel& channel_;
  WorkerPool& pool_;
  const std::shared_ptr<const pubsub::DeliveryGuard> guard_;
  bool raw_ = false;
  bool top_level_only_ = false;  // Envelope reads only what Expired and the channel need
  std::mutex batch_mutex_;
  std::vector<Pending> batch_;  // a bulk subscription's messages not yet sent to the app
  uint64_t batch_number_ = 0;   // counts the batches sent
};

Status PubSubBlock::Subscribe(pubsub::Subscription subscription, SubscriptionKind kind, pubsub::TopicChannel& channel) {
  return Start(std::move(subscription), kind, channel, nullptr);
}

Status PubSubBlock::SubscribeStream(pubsub::Subscription subscription, std::shared_ptr<pubsub::TopicChannel> channel) {
  pubsub::TopicChannel& stream = *channel;
  return Start(std::move(subscription), SubscriptionKind::kStreaming, stream, std::move(channel));
}

Status PubSubBlock::Start(pubsub::Subscription subscription, SubscriptionKind kind, pubsub::TopicChannel& channel,
                          std::shared_ptr<pubsub::TopicChannel> owned_channel) {
  auto entry = Find(subscription.pubsub_name, subscription.topic);
  if (!entry.ok()) return Status(StatusCode::kNotFound, entry.error().message);
  if (!(*entry)->scopes.MaySubscribe(subscription.topic)) {
    return Status(StatusCode::kPermissionDenied, "topic " + subscription.topic + " is not allowed for app id " + app_id_);
  }
  const std::pair<std::string, std::string> key{subscription.pubsub_name, subscription.topic};
  {
    std::unique_lock lock(mutex_);
    const bool inserted = subscribed_.insert(key).second;
    // A stream's subscription is ended by topic, so it must be the topic's only one.
    if (!inserted && kind == SubscriptionKind::kStreaming) {
      return Status(StatusCode::kAlreadyExists, "already subscribed to topic " + key.second + " on pubsub " + key.first);
    }
  }
  ps::SubscribeRequest request{subscription.topic, subscription.metadata};
  // A batch is as many unanswered messages at once.
  if (subscription.bulk.enabled) request.min_concurrency = static_cast<size_t>(std::max(1, subscription.bulk.max_messages_count));
  auto guard = std::make_shared<pubsub::DeliveryGuard>();
  if (policies_) guard->policy = policies_->ForComponent((*entry)->name, "Pubsub", resiliency::Direction::kInbound);
  guard->schedule = schedule_;
  auto delivery = std::make_shared<Delivery>(std::move(subscription), *entry, channel, pool_, std::move(guard),
                                             std::move(owned_channel));
  Status status = (*entry)->pubsub->Subscribe(request, [delivery](ps::Message message, ps::DeliveryDone done) {
    delivery->Handle(std::move(message), std::move(done));
  });
  if (!status.ok() && kind == SubscriptionKind::kStreaming) {
    std::unique_lock lock(mutex_);
    subscribed_.erase(key);
  }
  return status;
}

void PubSubBlock::UnsubscribeStream(const std::string& pubsub_name, const std::string& topic) {
  std::shared_ptr<const Entry> entry;
  {
    std::unique_lock lock(mutex_);
    subscribed_.erase({pubsub_name, topic});
    auto it = pubsubs_.find(pubsub_name);
    if (it == pubsubs_.end()) return;  // closed meanwhile
    entry = it->second;
  }
  Status status = entry->pubsub->Unsubscribe(topic);
  if (!status.ok()) spdlog::warn("pubsub {}: ending the subscription to {}: {}", pubsub_name, topic, status.message());
}

void PubSubBlock::CloseAll() {
  std::map<std::string, std::shared_ptr<const Entry>> pubsubs;
  {
    std::unique_lock lock(mutex_);
    pubsubs.swap(pubsubs_);
  }
  for (auto& [name, entry] : pubsubs) entry->pubsub->Close();
  // Kept until the block goes: a component's non-blocking client lives on the event loop
  // and may only go once the loop has stopped (and acks of late answers still go out).
  std::unique_lock lock(mutex_);
  for (auto& [name, entry] : pubsubs) closed_.push_back(std::move(entry));
}

}  // namespace dapr::blocks
