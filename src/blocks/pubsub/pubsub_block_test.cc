// PubSubBlock: what happens to each message a component delivers (the app's SUCCESS, RETRY
// and DROP answers, dead letters, messages dropped before the app sees them, raw payloads,
// inbound retries, bulk batches) and how a publish is checked and enveloped. The component
// and the app are fakes; acks and dead letters run on a real WorkerPool, so outcomes are
// awaited (with a bound), and timers are a queue run by hand.
#include "blocks/pubsub/pubsub_block.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "blocks/pubsub/app_reply.h"
#include "blocks/pubsub/subscription.h"
#include "common/time_format.h"
#include "resiliency/policies.h"
#include "resiliency/spec.h"

namespace dapr::blocks {
namespace {

namespace ps = ::dapr::pubsub;
using Json = nlohmann::json;
using std::chrono::nanoseconds;
using namespace std::chrono_literals;

// How long an outcome that runs on the pool may take before the test gives up on it.
constexpr auto kWait = 2s;

// The calls a callback got, in order; a test waits for them.
template <class T>
class Calls {
 public:
  void Add(T value) {
    {
      std::lock_guard lock(mutex_);
      values_.push_back(std::move(value));
    }
    changed_.notify_all();
  }
  // Whether n calls came within kWait.
  bool WaitFor(size_t n = 1) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, kWait, [&] { return values_.size() >= n; });
  }
  size_t Count() const {
    std::lock_guard lock(mutex_);
    return values_.size();
  }
  std::vector<T> All() const {
    std::lock_guard lock(mutex_);
    return values_;
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<T> values_;
};

using Acks = Calls<Status>;

// The status a message's done got, once it came.
Status AckOf(Acks& acks) {
  if (!acks.WaitFor(1)) return Status(StatusCode::kDeadlineExceeded, "done did not run within the test's wait");
  return acks.All().front();
}

// A broker: records what is published, and hands a test's message to a subscription's
// handler with a done that the test can watch.
class FakePubSub : public ps::PubSub {
 public:
  Status Init(const ComponentMetadata&) override { return Status::Ok(); }
  ps::Features GetFeatures() const override { return features; }
  bool SupportsAsyncPublish() const override { return async_publish; }
  bool AcksWithoutBlocking() const override { return acks_without_blocking; }

  Status Publish(const ps::PublishRequest& request) override {
    std::lock_guard lock(mutex_);
    published_.push_back(request);
    auto failure = publish_failures_.find(request.topic);
    return failure == publish_failures_.end() ? Status::Ok() : failure->second;
  }

  std::vector<ps::BulkPublishFailure> BulkPublish(const ps::BulkPublishRequest& request) override {
    std::lock_guard lock(mutex_);
    bulk_published_.push_back(request);
    return {};
  }

  Status Subscribe(const ps::SubscribeRequest& request, ps::MessageHandler handler) override {
    std::lock_guard lock(mutex_);
    subscribe_requests_.push_back(request);
    handlers_[request.topic] = std::move(handler);
    return Status::Ok();
  }

  // Drops the handlers (and the deliveries they hold), as a component stops delivering.
  void Close() override {
    std::lock_guard lock(mutex_);
    handlers_.clear();
  }

  // Delivers one message of topic, on the calling thread; the returned calls are its done's.
  std::shared_ptr<Acks> Push(const std::string& topic, std::string data, ps::Metadata metadata = {},
                             std::string content_type = "application/cloudevents+json") {
    auto acks = std::make_shared<Acks>();
    ps::MessageHandler handler;
    {
      std::lock_guard lock(mutex_);
      auto found = handlers_.find(topic);
      if (found == handlers_.end()) {
        ADD_FAILURE() << "no subscription to " << topic;
        return acks;
      }
      handler = found->second;
    }
    handler(ps::Message{topic, std::move(data), std::move(content_type), std::move(metadata)},
            [acks](Status status) { acks->Add(std::move(status)); });
    return acks;
  }

  void FailPublishTo(const std::string& topic, Status status) {
    std::lock_guard lock(mutex_);
    publish_failures_[topic] = std::move(status);
  }
  std::vector<ps::PublishRequest> Published() const {
    std::lock_guard lock(mutex_);
    return published_;
  }
  std::vector<ps::BulkPublishRequest> BulkPublished() const {
    std::lock_guard lock(mutex_);
    return bulk_published_;
  }
  std::vector<ps::SubscribeRequest> SubscribeRequests() const {
    std::lock_guard lock(mutex_);
    return subscribe_requests_;
  }

  ps::Features features;
  bool async_publish = false;          // PublishAsync (the default: Publish, at once) on the caller's thread
  bool acks_without_blocking = false;  // a SUCCESS is acked where the app's answer arrives

 private:
  mutable std::mutex mutex_;
  std::map<std::string, ps::MessageHandler> handlers_;
  std::map<std::string, Status> publish_failures_;
  std::vector<ps::PublishRequest> published_;
  std::vector<ps::BulkPublishRequest> bulk_published_;
  std::vector<ps::SubscribeRequest> subscribe_requests_;
};

// The app: records each event and batch; answers an event at once from a script, or when
// the test says so.
class FakeChannel : public pubsub::TopicChannel {
 public:
  bool needs_whole_event = true;  // false: as the HTTP channel, which sends the event's text
  bool NeedsWholeEvent() const override { return needs_whole_event; }

  void ListSubscriptions(std::function<void(Result<std::vector<pubsub::Subscription>>)> done) override {
    done(std::vector<pubsub::Subscription>{});
  }

  void Deliver(pubsub::TopicEvent event, std::function<void(pubsub::DeliveryResult)> done) override {
    std::optional<pubsub::DeliveryResult> answer;
    {
      std::lock_guard lock(mutex_);
      events_.push_back(std::move(event));
      if (!script_.empty()) {
        answer = script_.front();
        script_.pop_front();
        dones_.emplace_back();
      } else {
        dones_.push_back(std::move(done));
      }
    }
    if (answer) done(std::move(*answer));
  }

  void DeliverBulk(pubsub::BulkTopicEvent event, std::function<void(pubsub::BulkDeliveryResult)> done) override {
    std::lock_guard lock(mutex_);
    bulk_events_.push_back(std::move(event));
    bulk_dones_.push_back(std::move(done));
  }

  // The answers to the next events, each given as soon as its event comes.
  void Script(std::vector<pubsub::DeliveryResult> answers) {
    std::lock_guard lock(mutex_);
    script_.assign(answers.begin(), answers.end());
  }

  // Answers event i, which was not answered from the script.
  void Answer(size_t i, pubsub::DeliveryResult result) {
    std::function<void(pubsub::DeliveryResult)> done;
    {
      std::lock_guard lock(mutex_);
      ASSERT_LT(i, dones_.size());
      done = std::move(dones_[i]);
      dones_[i] = nullptr;
    }
    ASSERT_TRUE(done) << "event " << i << " was answered already";
    done(std::move(result));
  }

  // Answers batch i entry by entry, each by the id of its CloudEvent; an entry whose event
  // id is not listed is left out of the answer. The batch's done is kept (a test may answer
  // late, again).
  void AnswerBulk(size_t i, const std::map<std::string, pubsub::Outcome>& by_event_id, std::string detail = "") {
    pubsub::BulkDeliveryResult result;
    result.detail = std::move(detail);
    std::function<void(pubsub::BulkDeliveryResult)> done;
    {
      std::lock_guard lock(mutex_);
      ASSERT_LT(i, bulk_events_.size());
      for (const auto& entry : bulk_events_[i].entries) {
        auto outcome = by_event_id.find(entry.cloud_event.value("id", ""));
        if (outcome != by_event_id.end()) result.outcomes[entry.entry_id] = outcome->second;
      }
      done = bulk_dones_[i];
    }
    done(std::move(result));
  }

  std::vector<pubsub::TopicEvent> Events() const {
    std::lock_guard lock(mutex_);
    return events_;
  }
  std::vector<pubsub::BulkTopicEvent> BulkEvents() const {
    std::lock_guard lock(mutex_);
    return bulk_events_;
  }

 private:
  mutable std::mutex mutex_;
  std::deque<pubsub::DeliveryResult> script_;
  std::vector<pubsub::TopicEvent> events_;
  std::vector<std::function<void(pubsub::DeliveryResult)>> dones_;
  std::vector<pubsub::BulkTopicEvent> bulk_events_;
  std::vector<std::function<void(pubsub::BulkDeliveryResult)>> bulk_dones_;
};

// Timers that run when the test says so, oldest first; cancelled ones are skipped.
class ManualTimers {
 public:
  CancellableSchedule Schedule() {
    return [this](nanoseconds delay, std::function<void()> fn) -> CancelTimer {
      auto cancelled = std::make_shared<std::atomic<bool>>(false);
      std::lock_guard lock(mutex_);
      pending_.push_back({delay, std::move(fn), cancelled});
      return [cancelled] { *cancelled = true; };
    };
  }

  // Runs the oldest timer still armed; false when there is none.
  bool RunNext(nanoseconds* delay = nullptr) {
    for (;;) {
      Pending next;
      {
        std::lock_guard lock(mutex_);
        if (pending_.empty()) return false;
        next = std::move(pending_.front());
        pending_.pop_front();
      }
      if (*next.cancelled) continue;
      if (delay) *delay = next.delay;
      next.fn();
      return true;
    }
  }

  std::vector<nanoseconds> ArmedDelays() const {
    std::lock_guard lock(mutex_);
    std::vector<nanoseconds> out;
    for (const auto& p : pending_) {
      if (!*p.cancelled) out.push_back(p.delay);
    }
    return out;
  }

 private:
  struct Pending {
    nanoseconds delay{};
    std::function<void()> fn;
    std::shared_ptr<std::atomic<bool>> cancelled;
  };
  mutable std::mutex mutex_;
  std::deque<Pending> pending_;
};

// A CloudEvent as another Dapr sidecar would have published it on topic orders.
std::string Event(const std::string& id, const std::string& type = "order", const Json& extra = Json::object()) {
  Json event = {{"specversion", "1.0"},
                {"id", id},
                {"source", "orders-app"},
                {"type", type},
                {"topic", "orders"},
                {"pubsubname", "mq"},
                {"datacontenttype", "application/json"},
                {"data", {{"n", 1}}}};
  event.update(extra);
  return event.dump();
}

// A subscription to mq/orders delivered to /orders.
pubsub::Subscription Simple(const std::string& dead_letter_topic = "", const std::string& topic = "orders") {
  pubsub::Subscription subscription;
  subscription.pubsub_name = "mq";
  subscription.topic = topic;
  subscription.rules.push_back({std::nullopt, "/orders"});
  subscription.dead_letter_topic = dead_letter_topic;
  return subscription;
}

// One element of an app's answer to GET /dapr/subscribe.
pubsub::Subscription Programmatic(const std::string& element) {
  auto parsed = pubsub::ParseProgrammaticSubscriptions("[" + element + "]");
  EXPECT_TRUE(parsed.ok()) << (parsed.ok() ? "" : parsed.error().message());
  if (!parsed.ok() || parsed->size() != 1) return {};
  return parsed->front();
}

// A bulk subscription to mq/orders: batches of 3, or what came within 50 ms.
pubsub::Subscription BulkSubscription(const std::string& dead_letter_topic = "") {
  auto subscription = Simple(dead_letter_topic);
  subscription.bulk.enabled = true;
  subscription.bulk.max_messages_count = 3;
  subscription.bulk.max_await_duration_ms = 50;
  return subscription;
}

const pubsub::DeliveryResult kSuccess{pubsub::Outcome::kSuccess, ""};
const pubsub::DeliveryResult kRetry{pubsub::Outcome::kRetry, "the app answered RETRY"};
const pubsub::DeliveryResult kDrop{pubsub::Outcome::kDrop, "the app answered DROP"};

void ExpectApiError(const ApiResult<Done>& result, const std::string& error_code, int http_status,
                    StatusCode grpc_code) {
  ASSERT_FALSE(result.ok()) << "expected " << error_code;
  EXPECT_EQ(result.error().error_code, error_code) << result.error().message;
  EXPECT_EQ(result.error().http_status, http_status) << error_code;
  EXPECT_EQ(result.error().grpc_code, grpc_code) << error_code;
}

class PubSubBlockTest : public ::testing::Test {
 protected:
  PubSubBlockTest() : block_("checkout", pool_) {}
  ~PubSubBlockTest() override {
    block_.CloseAll();
    pool_.Stop();
  }

  // Loads the fake broker as pub/sub component mq.
  void Load(ComponentMetadata::Properties properties = {}) {
    Status added = block_.AddPubSub("mq", component_, ComponentMetadata("mq", "pubsub.fake", std::move(properties)));
    ASSERT_TRUE(added.ok()) << added.message();
  }

  void Subscribe(pubsub::Subscription subscription) {
    Status subscribed = block_.Subscribe(std::move(subscription), SubscriptionKind::kDeclarative, channel_);
    ASSERT_TRUE(subscribed.ok()) << subscribed.message();
  }

  // Deliveries run under targets.components.mq.inbound: a constant 10 ms retry, max_retries times.
  void UseInboundRetry(int max_retries) {
    const std::string yaml = R"(
apiVersion: dapr.io/v1alpha1
kind: Resiliency
metadata: {name: inbound}
spec:
  policies:
    retries:
      redeliver: {policy: constant, duration: 10ms, maxRetries: )" +
                             std::to_string(max_retries) + R"(}
  targets:
    components:
      mq: {inbound: {retry: redeliver}}
)";
    auto spec = resiliency::ParseResiliency(YAML::Load(yaml));
    ASSERT_TRUE(spec.ok()) << spec.error().message();
    auto built = resiliency::Policies::Build({spec.value()}, "checkout", [] { return 0.5; });
    ASSERT_TRUE(built.ok()) << built.error().message();
    policies_ = std::make_unique<resiliency::Policies>(std::move(built).value());
    block_.SetResiliency(policies_.get(), timers_.Schedule());
  }

  // Timers without a policy: what a bulk subscription needs to wait for a batch.
  void UseTimers() { block_.SetResiliency(nullptr, timers_.Schedule()); }

  // Runs what the pool still has; after it, counts of acks and publishes are final.
  void Drain() { pool_.Stop(); }

  // Publishes and waits for the answer (at once for a refused request).
  ApiResult<Done> Publish(PublishItem item, bool refused_up_front = false) {
    auto calls = std::make_shared<Calls<ApiResult<Done>>>();
    block_.Publish(std::move(item), [calls](ApiResult<Done> result) { calls->Add(std::move(result)); });
    if (refused_up_front) {
      EXPECT_EQ(calls->Count(), 1u) << "a refused publish answers before Publish returns";
    }
    if (!calls->WaitFor(1)) return errors::Unclassified("the publish did not answer within the test's wait");
    return calls->All().front();
  }

  ApiResult<BulkPublishFailures> BulkPublish(BulkPublishItem item) {
    auto calls = std::make_shared<Calls<ApiResult<BulkPublishFailures>>>();
    block_.BulkPublish(std::move(item),
                       [calls](ApiResult<BulkPublishFailures> result) { calls->Add(std::move(result)); });
    if (!calls->WaitFor(1)) return errors::Unclassified("the bulk publish did not answer within the test's wait");
    return calls->All().front();
  }

  static PublishItem Item(std::string pubsub_name = "mq", std::string topic = "orders",
                          std::string data = R"({"n":1})", std::string content_type = "application/json") {
    PublishItem item;
    item.pubsub_name = std::move(pubsub_name);
    item.topic = std::move(topic);
    item.data = std::move(data);
    item.content_type = std::move(content_type);
    return item;
  }

  // Declared in this order: the block goes first, the pool (whose tasks hold deliveries) last.
  WorkerPool pool_{4};
  ManualTimers timers_;
  FakeChannel channel_;
  std::unique_ptr<resiliency::Policies> policies_;
  std::shared_ptr<FakePubSub> component_ = std::make_shared<FakePubSub>();
  PubSubBlock block_;
};

// ---- one message at a time

TEST_F(PubSubBlockTest, SuccessAcksAndTheAppGetsTheCloudEventOnTheRouteTheRulesChose) {
  Load();
  Subscribe(Programmatic(R"({"pubsubname": "mq", "topic": "orders", "metadata": {"queue": "q1"},
      "routes": {"rules": [{"match": "event.type == \"widget\"", "path": "/widgets"}], "default": "/other"}})"));
  const auto requests = component_->SubscribeRequests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].topic, "orders");
  EXPECT_EQ(requests[0].metadata, (ps::Metadata{{"queue", "q1"}}));
  EXPECT_EQ(requests[0].min_concurrency, 0u);  // not a bulk subscription: the component's own bound

  const std::string widget = Event("w1", "widget");
  auto widget_ack = component_->Push("orders", widget, {{"x-broker", "7"}});
  auto events = channel_.Events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].pubsub_name, "mq");
  EXPECT_EQ(events[0].topic, "orders");
  EXPECT_EQ(events[0].path, "/widgets");
  EXPECT_EQ(events[0].data, widget);
  EXPECT_EQ(events[0].cloud_event, Json::parse(widget));
  EXPECT_EQ(events[0].metadata, (std::map<std::string, std::string>{{"x-broker", "7"}, {"pubsubName", "mq"}}));
  EXPECT_EQ(widget_ack->Count(), 0u);  // not before the app answers
  channel_.Answer(0, kSuccess);
  EXPECT_TRUE(AckOf(*widget_ack).ok());

  channel_.Script({kSuccess});
  auto gadget_ack = component_->Push("orders", Event("g1", "gadget"));
  events = channel_.Events();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].path, "/other");  // no rule matched: the default route
  EXPECT_TRUE(AckOf(*gadget_ack).ok());

  Drain();
  EXPECT_EQ(widget_ack->Count(), 1u);
  EXPECT_EQ(gadget_ack->Count(), 1u);
  EXPECT_TRUE(component_->Published().empty());
}

TEST_F(PubSubBlockTest, AnAckThatDoesNotBlockIsMadeWhereTheAppAnswered) {
  component_->acks_without_blocking = true;
  Load();
  Subscribe(Simple());
  auto ack = component_->Push("orders", Event("1"));
  channel_.Answer(0, kSuccess);
  ASSERT_EQ(ack->Count(), 1u);  // before Answer returned: no hop to a worker
  EXPECT_TRUE(ack->All().front().ok());
  // Anything but a success still goes through the worker (a dead letter is a blocking publish).
  channel_.Script({kRetry});
  auto retried = component_->Push("orders", Event("2"));
  EXPECT_FALSE(AckOf(*retried).ok());
}

TEST_F(PubSubBlockTest, RetryWithoutADeadLetterTopicFailsTheDeliverySoTheBrokerRedelivers) {
  Load();
  Subscribe(Simple());
  channel_.Script({kRetry});
  auto ack = component_->Push("orders", Event("1"));
  Status status = AckOf(*ack);
  EXPECT_FALSE(status.ok());
  Drain();
  EXPECT_EQ(channel_.Events().size(), 1u);
  EXPECT_EQ(ack->Count(), 1u);
  EXPECT_TRUE(component_->Published().empty());
}

TEST_F(PubSubBlockTest, RetryWithADeadLetterTopicPublishesTheOriginalBytesThereAndAcks) {
  Load();
  Subscribe(Simple("orders-dlq"));
  channel_.Script({kRetry});
  const std::string bytes = Event("1");
  auto ack = component_->Push("orders", bytes, {{"x-broker", "7"}}, "application/cloudevents+json");
  EXPECT_TRUE(AckOf(*ack).ok());
  Drain();
  const auto published = component_->Published();
  ASSERT_EQ(published.size(), 1u);
  EXPECT_EQ(published[0].topic, "orders-dlq");
  EXPECT_EQ(published[0].data, bytes);
  EXPECT_EQ(published[0].content_type, "application/cloudevents+json");
  EXPECT_EQ(published[0].metadata, (ps::Metadata{{"x-broker", "7"}}));
  EXPECT_EQ(ack->Count(), 1u);
}

TEST_F(PubSubBlockTest, AFailingDeadLetterPublishKeepsTheMessageWithTheBroker) {
  Load();
  Subscribe(Simple("orders-dlq"));
  component_->FailPublishTo("orders-dlq", Status(StatusCode::kUnavailable, "broker down"));
  channel_.Script({kRetry, kDrop});
  auto retried = component_->Push("orders", Event("1"));
  auto dropped = component_->Push("orders", Event("2"));
  for (auto* ack : {retried.get(), dropped.get()}) {
    Status status = AckOf(*ack);
    EXPECT_EQ(status.code(), StatusCode::kUnavailable);
    EXPECT_EQ(status.message(), "broker down");
  }
  Drain();
  EXPECT_EQ(component_->Published().size(), 2u);  // both were tried
}

TEST_F(PubSubBlockTest, DropWithADeadLetterTopicGoesThereAndAcks) {
  Load();
  Subscribe(Simple("orders-dlq"));
  channel_.Script({kDrop});
  const std::string bytes = Event("1");
  auto ack = component_->Push("orders", bytes);
  EXPECT_TRUE(AckOf(*ack).ok());
  Drain();
  const auto published = component_->Published();
  ASSERT_EQ(published.size(), 1u);
  EXPECT_EQ(published[0].topic, "orders-dlq");
  EXPECT_EQ(published[0].data, bytes);
}

TEST_F(PubSubBlockTest, DropWithoutADeadLetterTopicAcksAndPublishesNothing) {
  Load();
  Subscribe(Simple());
  channel_.Script({kDrop});
  auto ack = component_->Push("orders", Event("1"));
  EXPECT_TRUE(AckOf(*ack).ok());
  Drain();
  EXPECT_EQ(ack->Count(), 1u);
  EXPECT_TRUE(component_->Published().empty());
}

TEST_F(PubSubBlockTest, A404FromTheAppIsADrop) {
  // What the HTTP channel hands back for a 404 answer.
  const pubsub::DeliveryResult not_found{pubsub::OutcomeOfHttpReply(404, ""), "the app answered 404", 404};
  ASSERT_EQ(not_found.outcome, pubsub::Outcome::kDrop);
  Load();
  Subscribe(Simple("orders-dlq", "orders"));
  Subscribe(Simple("", "audit"));
  channel_.Script({not_found, not_found});
  const std::string bytes = Event("1");
  auto with_dlq = component_->Push("orders", bytes);
  auto without = component_->Push("audit", Event("2"));
  EXPECT_TRUE(AckOf(*with_dlq).ok());
  EXPECT_TRUE(AckOf(*without).ok());
  Drain();
  const auto published = component_->Published();
  ASSERT_EQ(published.size(), 1u);
  EXPECT_EQ(published[0].topic, "orders-dlq");
  EXPECT_EQ(published[0].data, bytes);
}

TEST_F(PubSubBlockTest, AMessageThatIsNotACloudEventIsDroppedWithoutCallingTheApp) {
  Load();
  Subscribe(Simple("orders-dlq", "orders"));
  Subscribe(Simple("", "audit"));
  auto not_json = component_->Push("orders", "not JSON {");
  auto not_an_object = component_->Push("orders", "[1, 2]");
  auto acked = component_->Push("audit", "not JSON {");
  for (auto* ack : {not_json.get(), not_an_object.get(), acked.get()}) EXPECT_TRUE(AckOf(*ack).ok());
  Drain();
  EXPECT_TRUE(channel_.Events().empty());
  const auto published = component_->Published();
  ASSERT_EQ(published.size(), 2u);
  EXPECT_EQ(published[0].topic, "orders-dlq");
  EXPECT_EQ(published[0].data, "not JSON {");
  EXPECT_EQ(published[1].topic, "orders-dlq");
  EXPECT_EQ(published[1].data, "[1, 2]");
}

TEST_F(PubSubBlockTest, AnEventNoRouteMatchesIsDroppedWithoutCallingTheApp) {
  Load();
  Subscribe(Programmatic(R"({"pubsubname": "mq", "topic": "orders", "deadLetterTopic": "orders-dlq",
      "routes": {"rules": [{"match": "event.type == \"widget\"", "path": "/widgets"}]}})"));
  Subscribe(Programmatic(R"({"pubsubname": "mq", "topic": "audit",
      "routes": {"rules": [{"match": "event.type == \"widget\"", "path": "/widgets"}]}})"));
  const std::string gadget = Event("1", "gadget");
  auto dead_lettered = component_->Push("orders", gadget);
  auto acked = component_->Push("audit", gadget);
  EXPECT_TRUE(AckOf(*dead_lettered).ok());
  EXPECT_TRUE(AckOf(*acked).ok());
  Drain();
  EXPECT_TRUE(channel_.Events().empty());
  const auto published = component_->Published();
  ASSERT_EQ(published.size(), 1u);
  EXPECT_EQ(published[0].topic, "orders-dlq");
  EXPECT_EQ(published[0].data, gadget);
}

TEST_F(PubSubBlockTest, AnExpiredEventIsDroppedWithoutCallingTheApp) {
  Load();
  Subscribe(Simple("orders-dlq", "orders"));
  Subscribe(Simple("", "audit"));
  const std::string expired = Event("1", "order", {{"expiration", "2000-01-01T00:00:00Z"}});
  auto dead_lettered = component_->Push("orders", expired);
  auto acked = component_->Push("audit", expired);
  EXPECT_TRUE(AckOf(*dead_lettered).ok());
  EXPECT_TRUE(AckOf(*acked).ok());
  Drain();
  EXPECT_TRUE(channel_.Events().empty());
  const auto published = component_->Published();
  ASSERT_EQ(published.size(), 1u);
  EXPECT_EQ(published[0].topic, "orders-dlq");
  EXPECT_EQ(published[0].data, expired);
}

// As another sidecar may write it: with an offset and a fraction of a second.
TEST_F(PubSubBlockTest, AnExpirationWithAnOffsetIsHonoured) {
  Load();
  Subscribe(Simple("", "orders"));
  channel_.Script({kSuccess});
  auto expired = component_->Push("orders", Event("1", "order", {{"expiration", "2000-01-01T05:00:00.25+05:00"}}));
  EXPECT_TRUE(AckOf(*expired).ok());
  EXPECT_TRUE(channel_.Events().empty());
  auto unparsable = component_->Push("orders", Event("2", "order", {{"expiration", "soon"}}));
  EXPECT_TRUE(AckOf(*unparsable).ok());
  ASSERT_EQ(channel_.Events().size(), 1u) << "an expiration that does not parse never expires (as Dapr)";
  EXPECT_EQ(channel_.Events()[0].cloud_event["id"], "2");
}

// For a channel that sends the event's text, with no rules to evaluate, only the fields it
// reads are taken from the event; what is not a CloudEvent and what has expired still go.
TEST_F(PubSubBlockTest, AChannelThatSendsTheTextGetsTheEventUnparsedWithItsTraceFields) {
  channel_.needs_whole_event = false;
  Load();
  Subscribe(Simple("", "orders"));
  channel_.Script({kSuccess});
  const std::string event = Event("1", "order", {{"traceparent", "00-aa-bb-01"}, {"tracestate", "k=v"},
                                                  {"data", {{"traceparent", "nested"}}}});
  auto delivered = component_->Push("orders", event);
  EXPECT_TRUE(AckOf(*delivered).ok());
  auto expired = component_->Push("orders", Event("2", "order", {{"expiration", "2000-01-01T00:00:00Z"}}));
  EXPECT_TRUE(AckOf(*expired).ok());
  auto not_json = component_->Push("orders", "{\"id\": ");
  EXPECT_TRUE(AckOf(*not_json).ok());
  auto events = channel_.Events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data, event);  // the text as the broker had it
  EXPECT_EQ(events[0].cloud_event, (Json{{"traceparent", "00-aa-bb-01"}, {"tracestate", "k=v"}}));
}

TEST_F(PubSubBlockTest, AnEventThatHasNotExpiredYetIsDelivered) {
  Load();
  Subscribe(Simple());
  channel_.Script({kSuccess});
  const std::string later = FormatRfc3339(std::chrono::system_clock::now() + 1h);
  auto ack = component_->Push("orders", Event("1", "order", {{"expiration", later}}));
  EXPECT_TRUE(AckOf(*ack).ok());
  EXPECT_EQ(channel_.Events().size(), 1u);
}

TEST_F(PubSubBlockTest, ARawPayloadSubscriptionGetsAnEnvelopeWithTheBytesInDataBase64) {
  Load();
  auto subscription = Simple("orders-dlq");
  subscription.metadata["rawPayload"] = "true";
  Subscribe(std::move(subscription));
  const std::string bytes("hi\0\xff", 4);  // not a CloudEvent, not even text
  channel_.Script({kSuccess, kRetry});
  auto ack = component_->Push("orders", bytes, {}, "application/octet-stream");
  EXPECT_TRUE(AckOf(*ack).ok());
  auto events = channel_.Events();
  ASSERT_EQ(events.size(), 1u);
  const Json& envelope = events[0].cloud_event;
  EXPECT_EQ(envelope.value("data_base64", ""), "aGkA/w==");
  EXPECT_EQ(envelope.value("datacontenttype", ""), "application/octet-stream");
  EXPECT_EQ(envelope.value("topic", ""), "orders");
  EXPECT_EQ(envelope.value("pubsubname", ""), "mq");
  EXPECT_EQ(envelope.value("specversion", ""), "1.0");
  EXPECT_EQ(envelope.value("type", ""), "com.dapr.event.sent");
  EXPECT_EQ(envelope.value("source", ""), "Dapr");
  EXPECT_FALSE(envelope.value("id", "").empty());
  EXPECT_FALSE(envelope.contains("data"));
  EXPECT_EQ(Json::parse(events[0].data), envelope);  // what an HTTP app gets is the same envelope
  EXPECT_EQ(events[0].path, "/orders");

  // A dead letter carries the message's own bytes, not the envelope.
  auto dead_lettered = component_->Push("orders", bytes, {}, "application/octet-stream");
  EXPECT_TRUE(AckOf(*dead_lettered).ok());
  Drain();
  const auto published = component_->Published();
  ASSERT_EQ(published.size(), 1u);
  EXPECT_EQ(published[0].topic, "orders-dlq");
  EXPECT_EQ(published[0].data, bytes);
  EXPECT_EQ(published[0].content_type, "application/octet-stream");
}

// ---- the component's inbound resiliency policy

TEST_F(PubSubBlockTest, AnInboundRetryPolicyDeliversAgainUntilTheAppAcks) {
  UseInboundRetry(3);
  Load();
  Subscribe(Simple("orders-dlq"));
  channel_.Script({kRetry, kRetry, kSuccess});
  const std::string bytes = Event("1");
  auto ack = component_->Push("orders", bytes);
  std::vector<nanoseconds> delays;
  nanoseconds delay{};
  while (channel_.Events().size() < 3 && timers_.RunNext(&delay)) delays.push_back(delay);
  EXPECT_EQ(delays, (std::vector<nanoseconds>{10ms, 10ms}));  // the retry policy's, not a timeout's
  EXPECT_TRUE(AckOf(*ack).ok());
  Drain();
  const auto events = channel_.Events();
  ASSERT_EQ(events.size(), 3u);
  for (const auto& event : events) {
    EXPECT_EQ(event.data, bytes);  // each attempt carries the whole event
    EXPECT_EQ(event.path, "/orders");
    EXPECT_EQ(event.metadata.at("pubsubName"), "mq");
  }
  EXPECT_EQ(ack->Count(), 1u);
  EXPECT_TRUE(component_->Published().empty());
  EXPECT_TRUE(timers_.ArmedDelays().empty());  // each attempt's timeout was cancelled by its answer
}

TEST_F(PubSubBlockTest, WhenInboundRetriesRunOutTheMessageGoesToTheDeadLetterTopic) {
  UseInboundRetry(2);
  Load();
  Subscribe(Simple("orders-dlq"));
  channel_.Script({kRetry, kRetry, kRetry, kSuccess});
  auto ack = component_->Push("orders", Event("1"));
  while (timers_.RunNext()) {
  }
  EXPECT_TRUE(AckOf(*ack).ok());
  Drain();
  EXPECT_EQ(channel_.Events().size(), 3u);  // the first try and two retries
  const auto published = component_->Published();
  ASSERT_EQ(published.size(), 1u);
  EXPECT_EQ(published[0].topic, "orders-dlq");
}

TEST_F(PubSubBlockTest, AnInboundRetryPolicyDoesNotRetryADrop) {
  UseInboundRetry(3);
  Load();
  Subscribe(Simple());
  channel_.Script({kDrop, kSuccess});
  auto ack = component_->Push("orders", Event("1"));
  while (timers_.RunNext()) {
  }
  EXPECT_TRUE(AckOf(*ack).ok());
  EXPECT_EQ(channel_.Events().size(), 1u);
}

// ---- bulk subscriptions

TEST_F(PubSubBlockTest, ABulkSubscriptionAsksTheComponentForABatchOfUnansweredMessages) {
  UseTimers();
  Load();
  Subscribe(BulkSubscription());
  const auto requests = component_->SubscribeRequests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].min_concurrency, 3u);  // max_messages_count
}

TEST_F(PubSubBlockTest, AFullBatchGoesAtOnceInOneBulkDelivery) {
  UseTimers();
  Load();
  Subscribe(BulkSubscription());
  std::vector<std::shared_ptr<Acks>> acks;
  for (const char* id : {"m1", "m2", "m3"}) acks.push_back(component_->Push("orders", Event(id), {{"x-broker", id}}));
  auto batches = channel_.BulkEvents();
  ASSERT_EQ(batches.size(), 1u);
  const auto& batch = batches[0];
  EXPECT_FALSE(batch.id.empty());
  EXPECT_EQ(batch.pubsub_name, "mq");
  EXPECT_EQ(batch.topic, "orders");
  EXPECT_EQ(batch.path, "/orders");
  ASSERT_EQ(batch.entries.size(), 3u);
  std::set<std::string> entry_ids;
  const char* ids[] = {"m1", "m2", "m3"};
  for (size_t i = 0; i < 3; ++i) {
    const auto& entry = batch.entries[i];
    entry_ids.insert(entry.entry_id);
    EXPECT_EQ(entry.cloud_event, Json::parse(Event(ids[i])));
    EXPECT_FALSE(entry.is_raw);
    EXPECT_EQ(entry.metadata, (std::map<std::string, std::string>{{"x-broker", ids[i]}, {"pubsubName", "mq"}}));
  }
  EXPECT_EQ(entry_ids.size(), 3u);  // one id per entry
  EXPECT_TRUE(channel_.Events().empty());
  for (auto& ack : acks) EXPECT_EQ(ack->Count(), 0u);

  channel_.AnswerBulk(0, {{"m1", pubsub::Outcome::kSuccess}, {"m2", pubsub::Outcome::kSuccess}, {"m3", pubsub::Outcome::kSuccess}});
  for (auto& ack : acks) EXPECT_TRUE(AckOf(*ack).ok());
  // The batch's timer, still armed, finds the batch gone and sends nothing.
  EXPECT_EQ(timers_.ArmedDelays(), (std::vector<nanoseconds>{50ms}));
  while (timers_.RunNext()) {
  }
  EXPECT_EQ(channel_.BulkEvents().size(), 1u);
  Drain();
  for (auto& ack : acks) EXPECT_EQ(ack->Count(), 1u);
  EXPECT_TRUE(component_->Published().empty());
}

TEST_F(PubSubBlockTest, ALoneMessageWaitsForTheBatchTimer) {
  UseTimers();
  Load();
  Subscribe(BulkSubscription());
  auto ack = component_->Push("orders", Event("m1"));
  EXPECT_TRUE(channel_.BulkEvents().empty());
  EXPECT_EQ(timers_.ArmedDelays(), (std::vector<nanoseconds>{50ms}));  // max_await_duration_ms
  ASSERT_TRUE(timers_.RunNext());
  auto batches = channel_.BulkEvents();
  ASSERT_EQ(batches.size(), 1u);
  ASSERT_EQ(batches[0].entries.size(), 1u);
  EXPECT_EQ(batches[0].entries[0].cloud_event.value("id", ""), "m1");
  EXPECT_EQ(ack->Count(), 0u);
  channel_.AnswerBulk(0, {{"m1", pubsub::Outcome::kSuccess}});
  EXPECT_TRUE(AckOf(*ack).ok());
  EXPECT_TRUE(timers_.ArmedDelays().empty());  // the batch's timeout was cancelled by the answer
}

TEST_F(PubSubBlockTest, TheTimerOfABatchThatWentFullDoesNotCutTheNextBatchShort) {
  UseTimers();
  Load();
  Subscribe(BulkSubscription());
  for (const char* id : {"m1", "m2", "m3"}) component_->Push("orders", Event(id));
  ASSERT_EQ(channel_.BulkEvents().size(), 1u);
  channel_.AnswerBulk(0, {{"m1", pubsub::Outcome::kSuccess}, {"m2", pubsub::Outcome::kSuccess}, {"m3", pubsub::Outcome::kSuccess}});
  auto ack = component_->Push("orders", Event("m4"));
  EXPECT_EQ(timers_.ArmedDelays(), (std::vector<nanoseconds>{50ms, 50ms}));  // the full batch's, then m4's
  ASSERT_TRUE(timers_.RunNext());  // the first batch's timer
  EXPECT_EQ(channel_.BulkEvents().size(), 1u) << "m4 went before its own batch's wait was over";
  ASSERT_TRUE(timers_.RunNext());  // m4's batch's timer
  ASSERT_EQ(channel_.BulkEvents().size(), 2u);
  EXPECT_EQ(channel_.BulkEvents()[1].entries.size(), 1u);
  channel_.AnswerBulk(1, {{"m4", pubsub::Outcome::kSuccess}});
  EXPECT_TRUE(AckOf(*ack).ok());
}

TEST_F(PubSubBlockTest, EachEntrysOutcomeSettlesItsOwnMessage) {
  UseTimers();
  Load();
  Subscribe(BulkSubscription());
  auto success = component_->Push("orders", Event("m1"));
  auto retry = component_->Push("orders", Event("m2"));
  auto drop = component_->Push("orders", Event("m3"));
  ASSERT_EQ(channel_.BulkEvents().size(), 1u);
  channel_.AnswerBulk(0, {{"m1", pubsub::Outcome::kSuccess}, {"m2", pubsub::Outcome::kRetry}, {"m3", pubsub::Outcome::kDrop}},
                      "the app answered 200");
  EXPECT_TRUE(AckOf(*success).ok());
  EXPECT_FALSE(AckOf(*retry).ok());
  EXPECT_TRUE(AckOf(*drop).ok());

  // An entry the app's answer leaves out is retried.
  auto missing = component_->Push("orders", Event("m4"));
  while (channel_.BulkEvents().size() < 2 && timers_.RunNext()) {
  }
  ASSERT_EQ(channel_.BulkEvents().size(), 2u);
  channel_.AnswerBulk(1, {});
  EXPECT_FALSE(AckOf(*missing).ok());
  Drain();
  EXPECT_TRUE(component_->Published().empty());  // no dead-letter topic
  for (auto* ack : {success.get(), retry.get(), drop.get(), missing.get()}) EXPECT_EQ(ack->Count(), 1u);
}

TEST_F(PubSubBlockTest, EntriesTheAppDidNotAckGoToTheDeadLetterTopic) {
  UseTimers();
  Load();
  Subscribe(BulkSubscription("orders-dlq"));
  auto success = component_->Push("orders", Event("m1"));
  auto drop = component_->Push("orders", Event("m2"));
  auto missing = component_->Push("orders", Event("m3"));
  ASSERT_EQ(channel_.BulkEvents().size(), 1u);
  channel_.AnswerBulk(0, {{"m1", pubsub::Outcome::kSuccess}, {"m2", pubsub::Outcome::kDrop}});
  for (auto* ack : {success.get(), drop.get(), missing.get()}) EXPECT_TRUE(AckOf(*ack).ok());
  Drain();
  std::multiset<std::string> dead_letters;
  for (const auto& request : component_->Published()) {
    EXPECT_EQ(request.topic, "orders-dlq");
    dead_letters.insert(request.data);
  }
  EXPECT_EQ(dead_letters, (std::multiset<std::string>{Event("m2"), Event("m3")}));
}

TEST_F(PubSubBlockTest, EntriesRoutedToTwoPathsGoInTwoBulkDeliveries) {
  UseTimers();
  Load();
  auto subscription = Programmatic(R"({"pubsubname": "mq", "topic": "orders",
      "routes": {"rules": [{"match": "event.type == \"a\"", "path": "/a"}], "default": "/b"}})");
  subscription.bulk = {true, 3, 50};
  Subscribe(std::move(subscription));
  auto a1 = component_->Push("orders", Event("a1", "a"));
  auto b1 = component_->Push("orders", Event("b1", "b"));
  auto a2 = component_->Push("orders", Event("a2", "a"));
  const auto batches = channel_.BulkEvents();
  ASSERT_EQ(batches.size(), 2u);
  std::map<std::string, std::vector<std::string>> ids_by_path;
  for (const auto& batch : batches) {
    for (const auto& entry : batch.entries) ids_by_path[batch.path].push_back(entry.cloud_event.value("id", ""));
  }
  EXPECT_EQ(ids_by_path, (std::map<std::string, std::vector<std::string>>{{"/a", {"a1", "a2"}}, {"/b", {"b1"}}}));
  EXPECT_NE(batches[0].id, batches[1].id);
  for (size_t i = 0; i < batches.size(); ++i) {
    channel_.AnswerBulk(i, {{"a1", pubsub::Outcome::kSuccess}, {"a2", pubsub::Outcome::kSuccess}, {"b1", pubsub::Outcome::kSuccess}});
  }
  for (auto* ack : {a1.get(), b1.get(), a2.get()}) EXPECT_TRUE(AckOf(*ack).ok());
}

TEST_F(PubSubBlockTest, ABatchTheAppDoesNotAnswerIsRetriedWhenItsTimeoutFires) {
  UseTimers();
  Load();
  Subscribe(BulkSubscription());
  std::vector<std::shared_ptr<Acks>> acks;
  for (const char* id : {"m1", "m2", "m3"}) acks.push_back(component_->Push("orders", Event(id)));
  ASSERT_EQ(channel_.BulkEvents().size(), 1u);
  std::vector<nanoseconds> delays;
  nanoseconds delay{};
  while (timers_.RunNext(&delay)) delays.push_back(delay);
  EXPECT_EQ(delays, (std::vector<nanoseconds>{50ms, pubsub::kDefaultDeliveryTimeout}));
  for (auto& ack : acks) EXPECT_FALSE(AckOf(*ack).ok());
  // The app's answer, coming late, changes nothing.
  channel_.AnswerBulk(0, {{"m1", pubsub::Outcome::kSuccess}, {"m2", pubsub::Outcome::kSuccess}, {"m3", pubsub::Outcome::kSuccess}});
  Drain();
  for (auto& ack : acks) {
    EXPECT_EQ(ack->Count(), 1u);
    EXPECT_FALSE(ack->All().front().ok());
  }
}

// ---- subscribing

TEST_F(PubSubBlockTest, SubscribeRefusesAnUnknownComponentAndATopicOutsideTheSubscriptionScopes) {
  Load({{"subscriptionScopes", "checkout=audit"}});
  auto elsewhere = Simple();
  elsewhere.pubsub_name = "nope";
  EXPECT_EQ(block_.Subscribe(elsewhere, SubscriptionKind::kDeclarative, channel_).code(), StatusCode::kNotFound);
  EXPECT_EQ(block_.Subscribe(Simple("", "orders"), SubscriptionKind::kDeclarative, channel_).code(),
            StatusCode::kPermissionDenied);
  EXPECT_TRUE(block_.Subscribe(Simple("", "audit"), SubscriptionKind::kDeclarative, channel_).ok());
  const auto requests = component_->SubscribeRequests();
  ASSERT_EQ(requests.size(), 1u);  // only the allowed one reached the component
  EXPECT_EQ(requests[0].topic, "audit");
}

// ---- publishing

TEST_F(PubSubBlockTest, PublishWithoutAnyComponentIsNotConfigured) {
  ExpectApiError(Publish(Item(), true), "ERR_PUBSUB_NOT_CONFIGURED", 400, StatusCode::kFailedPrecondition);
}

TEST_F(PubSubBlockTest, PublishRefusesAnEmptyOrUnknownComponentNameAndAnEmptyTopic) {
  Load();
  ExpectApiError(Publish(Item(""), true), "ERR_PUBSUB_EMPTY", 404, StatusCode::kInvalidArgument);
  auto unknown = Publish(Item("nope"), true);
  ExpectApiError(unknown, "ERR_PUBSUB_NOT_FOUND", 404, StatusCode::kInvalidArgument);
  if (!unknown.ok()) {
    ASSERT_EQ(unknown.error().resources.size(), 1u);
    EXPECT_EQ(unknown.error().resources[0].resource_type, "pubsub");
    EXPECT_EQ(unknown.error().resources[0].resource_name, "nope");
  }
  ExpectApiError(Publish(Item("mq", ""), true), "ERR_TOPIC_NAME_EMPTY", 404, StatusCode::kInvalidArgument);
  Drain();
  EXPECT_TRUE(component_->Published().empty());
}

TEST_F(PubSubBlockTest, PublishRefusesARawPayloadFlagThatIsNotABoolean) {
  Load();
  auto item = Item();
  item.metadata["rawPayload"] = "perhaps";
  ExpectApiError(Publish(std::move(item), true), "ERR_PUBSUB_REQUEST_METADATA", 400, StatusCode::kInvalidArgument);
  Drain();
  EXPECT_TRUE(component_->Published().empty());
}

TEST_F(PubSubBlockTest, PublishOutsideThePublishingScopesIsForbidden) {
  Load({{"publishingScopes", "checkout=audit;other=orders"}});
  auto forbidden = Publish(Item("mq", "orders"), true);
  ExpectApiError(forbidden, "ERR_PUBSUB_FORBIDDEN", 403, StatusCode::kPermissionDenied);
  if (!forbidden.ok()) {
    EXPECT_EQ(forbidden.error().reason_metadata.at("topic"), "orders");
  }
  EXPECT_TRUE(Publish(Item("mq", "audit")).ok());
  Drain();
  const auto published = component_->Published();
  ASSERT_EQ(published.size(), 1u);
  EXPECT_EQ(published[0].topic, "audit");
}

TEST_F(PubSubBlockTest, AComponentPublishErrorIsAPublishMessageError) {
  Load();
  component_->FailPublishTo("orders", Status(StatusCode::kInternal, "broker down"));
  component_->FailPublishTo("missing", Status(StatusCode::kNotFound, "no such topic"));
  auto failed = Publish(Item("mq", "orders"));
  ExpectApiError(failed, "ERR_PUBSUB_PUBLISH_MESSAGE", 500, StatusCode::kInternal);
  if (!failed.ok()) {
    EXPECT_NE(failed.error().message.find("broker down"), std::string::npos) << failed.error().message;
  }
  // A topic the broker does not have is the caller's mistake.
  ExpectApiError(Publish(Item("mq", "missing")), "ERR_PUBSUB_NOT_FOUND", 400, StatusCode::kNotFound);
}

TEST_F(PubSubBlockTest, AComponentThatPublishesWithoutBlockingIsCalledOnTheCallersThread) {
  component_->async_publish = true;
  Load();
  component_->FailPublishTo("failing", Status(StatusCode::kInternal, "broker down"));
  auto calls = std::make_shared<Calls<ApiResult<Done>>>();
  block_.Publish(Item("mq", "orders"), [calls](ApiResult<Done> result) { calls->Add(std::move(result)); });
  ASSERT_EQ(calls->Count(), 1u);  // the fake's PublishAsync answers at once: no worker in between
  EXPECT_TRUE(calls->All().front().ok());
  const auto published = component_->Published();
  ASSERT_EQ(published.size(), 1u);
  EXPECT_EQ(published[0].content_type, "application/cloudevents+json");
  EXPECT_EQ(Json::parse(published[0].data).value("source", ""), "checkout");
  ExpectApiError(Publish(Item("mq", "failing"), true), "ERR_PUBSUB_PUBLISH_MESSAGE", 500, StatusCode::kInternal);
}

TEST_F(PubSubBlockTest, APublishedMessageIsACloudEventFromThisApp) {
  Load();
  auto item = Item("mq", "orders", R"({"n":1})", "application/json");
  item.metadata["partitionKey"] = "p1";
  item.traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
  ASSERT_TRUE(Publish(std::move(item)).ok());
  const auto published = component_->Published();
  ASSERT_EQ(published.size(), 1u);
  EXPECT_EQ(published[0].topic, "orders");
  EXPECT_EQ(published[0].content_type, "application/cloudevents+json");
  EXPECT_EQ(published[0].metadata, (ps::Metadata{{"partitionKey", "p1"}}));
  Json event = Json::parse(published[0].data, nullptr, false);
  ASSERT_TRUE(event.is_object()) << published[0].data;
  EXPECT_EQ(event.value("source", ""), "checkout");
  EXPECT_EQ(event.value("topic", ""), "orders");
  EXPECT_EQ(event.value("pubsubname", ""), "mq");
  EXPECT_EQ(event.value("type", ""), "com.dapr.event.sent");
  EXPECT_EQ(event.value("specversion", ""), "1.0");
  EXPECT_EQ(event.value("datacontenttype", ""), "application/json");
  EXPECT_EQ(event.value("traceparent", ""), "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
  EXPECT_FALSE(event.value("id", "").empty());
  EXPECT_EQ(event["data"], Json({{"n", 1}}));
  EXPECT_FALSE(event.contains("expiration"));
}

TEST_F(PubSubBlockTest, ATtlBecomesTheEnvelopesExpirationUnlessTheBrokerExpiresMessagesItself) {
  Load();
  auto item = Item();
  item.metadata["ttlInSeconds"] = "60";
  ASSERT_TRUE(Publish(item).ok());
  component_->features.message_ttl = true;
  ASSERT_TRUE(block_.AddPubSub("ttl", component_, ComponentMetadata("ttl", "pubsub.fake", {})).ok());
  item.pubsub_name = "ttl";
  ASSERT_TRUE(Publish(item).ok());
  const auto published = component_->Published();
  ASSERT_EQ(published.size(), 2u);
  Json dapr_expires = Json::parse(published[0].data);
  Json broker_expires = Json::parse(published[1].data);
  const std::string now = FormatRfc3339(std::chrono::system_clock::now());
  ASSERT_TRUE(dapr_expires.contains("expiration")) << published[0].data;
  EXPECT_GT(dapr_expires["expiration"].get<std::string>(), now);
  EXPECT_FALSE(broker_expires.contains("expiration")) << published[1].data;
  EXPECT_EQ(published[1].metadata.at("ttlInSeconds"), "60");  // the broker's to apply
}

TEST_F(PubSubBlockTest, ARawPayloadPublishCarriesTheBodyUntouched) {
  Load();
  auto item = Item("mq", "orders", std::string("raw\0bytes", 9), "application/octet-stream");
  item.metadata["rawPayload"] = "true";
  ASSERT_TRUE(Publish(std::move(item)).ok());
  const auto published = component_->Published();
  ASSERT_EQ(published.size(), 1u);
  EXPECT_EQ(published[0].data, std::string("raw\0bytes", 9));
  EXPECT_EQ(published[0].content_type, "application/octet-stream");
}

TEST_F(PubSubBlockTest, BulkPublishRefusesADuplicateOrMissingEntryIdBeforeTouchingTheComponent) {
  Load();
  BulkPublishItem item;
  item.pubsub_name = "mq";
  item.topic = "orders";
  item.entries = {{"e1", R"({"n":1})", "application/json", {}}, {"e1", R"({"n":2})", "application/json", {}}};
  auto duplicate = BulkPublish(item);
  ASSERT_FALSE(duplicate.ok());
  EXPECT_EQ(duplicate.error().error_code, "ERR_PUBSUB_EVENTS_SER");
  EXPECT_EQ(duplicate.error().http_status, 400);
  EXPECT_EQ(duplicate.error().reason, "DAPR_PUBSUB_MARSHAL_EVENTS");
  item.entries[1].entry_id = "";
  auto missing = BulkPublish(item);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().error_code, "ERR_PUBSUB_EVENTS_SER");
  Drain();
  EXPECT_TRUE(component_->BulkPublished().empty());
  EXPECT_TRUE(component_->Published().empty());
}

TEST_F(PubSubBlockTest, BulkPublishHandsTheComponentOneEnvelopePerEntry) {
  Load();
  BulkPublishItem item;
  item.pubsub_name = "mq";
  item.topic = "orders";
  item.metadata["partitionKey"] = "p1";
  item.entries = {{"e1", R"({"n":1})", "application/json", {}},
                  {"e2", "plain bytes", "text/plain", {{"rawPayload", "true"}}}};
  auto result = BulkPublish(item);
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_TRUE(result->empty());
  const auto requests = component_->BulkPublished();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].topic, "orders");
  ASSERT_EQ(requests[0].entries.size(), 2u);
  const auto& enveloped = requests[0].entries[0];
  EXPECT_EQ(enveloped.entry_id, "e1");
  EXPECT_EQ(enveloped.content_type, "application/cloudevents+json");
  Json event = Json::parse(enveloped.data);
  EXPECT_EQ(event.value("source", ""), "checkout");
  EXPECT_EQ(event.value("topic", ""), "orders");
  EXPECT_EQ(event.value("pubsubname", ""), "mq");
  EXPECT_EQ(event["data"], Json({{"n", 1}}));
  EXPECT_EQ(enveloped.metadata.at("partitionKey"), "p1");
  const auto& raw = requests[0].entries[1];
  EXPECT_EQ(raw.entry_id, "e2");
  EXPECT_EQ(raw.data, "plain bytes");
  EXPECT_EQ(raw.content_type, "text/plain");
}

}  // namespace
}  // namespace dapr::blocks
