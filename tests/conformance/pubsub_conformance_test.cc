// One conformance suite for every registered pub/sub component, driven by the capabilities
// each declares (GetFeatures: message_ttl, subscribe_wildcards) and, for what the interface
// does not report, by the small table of traits below (durability, consumer groups, the
// delivery bound). Redis and MQTT run against the real servers named by
// DAPR_TEST_REDIS_ADDR and DAPR_TEST_MQTT_ADDR (scripts/services.sh starts them); a type
// whose server is not named fails, it is not skipped.
//
// Every test works on topics and consumerIDs of its own (a random prefix), so runs may
// share one Redis or broker. Handlers only touch state they own through shared_ptr: a
// subscription may still deliver between the end of a test body and TearDown's Close.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "components/builtin.h"

namespace dapr::pubsub {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// How long a test waits for what must come (only a failing test waits this long).
constexpr milliseconds kTimeout{10000};
// How long a test watches for what must not come, when no redelivery delay is involved.
constexpr milliseconds kQuiet{300};

std::string Env(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

std::string UniqueSuffix() {
  static std::mutex mutex;
  static std::mt19937_64 random{std::random_device{}()};
  std::lock_guard lock(mutex);
  return std::to_string(random() % 1000000000);
}

// Metadata that points each registered type at a backend, with its redelivery knobs set
// short so that the suite is fast; a type missing here fails the suite, so a new component
// cannot skip conformance by accident. consumerID is added per instance by the fixture.
std::optional<ComponentMetadata::Properties> ConfigFor(const std::string& type) {
  if (type == "pubsub.in-memory") return ComponentMetadata::Properties{{"redeliverInterval", "100ms"}};
  if (type == "pubsub.sqlite") {
    auto path = std::filesystem::temp_directory_path() / ("pubsub-conformance-" + UniqueSuffix() + ".db");
    // A failure is due again after redeliverInterval; processingTimeout only frees the
    // lease of a delivery nobody answers, so it stays above the slowest handler here (250 ms).
    return ComponentMetadata::Properties{{"connectionString", path.string()},
                                         {"redeliverInterval", "100ms"},
                                         {"processingTimeout", "1s"},
                                         {"pollInterval", "20ms"}};
  }
  if (type == "pubsub.redis") {
    // Bare numbers are milliseconds here, as in Dapr: a failed entry is claimed again once
    // it has been pending 200 ms, looked for every 100 ms.
    return ComponentMetadata::Properties{{"redisHost", Env("DAPR_TEST_REDIS_ADDR")},
                                         {"processingTimeout", "200"},
                                         {"redeliverInterval", "100"}};
  }
  if (type == "pubsub.mqtt3") {
    // Redelivers in-process after a backoff (1 s doubling by default); a persistent session
    // (cleanSession false, QoS 1) keeps what is published for a client id (the consumerID)
    // while it is away.
    std::string address = Env("DAPR_TEST_MQTT_ADDR");
    return ComponentMetadata::Properties{{"url", address.empty() ? "" : "tcp://" + address},
                                         {"qos", "1"},
                                         {"cleanSession", "false"},
                                         {"backOffInitialInterval", "100ms"},
                                         {"backOffMaxInterval", "400ms"}};
  }
  return std::nullopt;
}

// What a type promises beyond GetFeatures, decided here per type (and documented) because
// the interface does not report it. A type missing here fails the suite too.
struct Traits {
  // A consumer group that subscribed once gets what is published while it has no
  // subscriber, after it subscribes again with the same consumerID.
  bool durable = false;
  // A delivery still unanswered when Close is called stays with the broker and comes again
  // to the next instance of the consumerID (the Close contract of pubsub.h).
  bool keeps_unfinished = false;
  // Instances on one backend see each other's messages (else each instance is a broker of
  // its own, and a second consumer is a second subscription of the same instance).
  bool shared = false;
  // Instances of one consumerID share the messages: each is delivered to one of them.
  bool consumer_groups = false;
  // One delivery at a time per topic (the topic is the ordering key): parallel deliveries
  // need several topics.
  bool ordered_by_topic = false;
  // Deliveries in flight (handed out, not answered) per subscription, or per component
  // where ordered_by_topic; 0 when unknown.
  size_t concurrency = 0;
  // The earliest a failed delivery comes again with ConfigFor's knobs; 0 when unknown.
  milliseconds redelivery{0};
};

std::optional<Traits> TraitsFor(const std::string& type) {
  // Process-local and not durable: a publish reaches the subscriptions that exist at that
  // moment, of this instance only, and consumerID means nothing (every subscription gets
  // every message); Close drops what is queued.
  if (type == "pubsub.in-memory") {
    return Traits{.concurrency = 10, .redelivery = 100ms};
  }
  // Streams with consumer groups: the group's position and its pending entries live in
  // Redis. A failed entry is claimed again once pending processingTimeout (200 ms).
  if (type == "pubsub.redis") {
    return Traits{.durable = true, .keeps_unfinished = true, .shared = true, .consumer_groups = true,
                  .concurrency = 10, .redelivery = 200ms};
  }
  // The groups and pending tables keep each group's position and leases in the file.
  if (type == "pubsub.sqlite") {
    return Traits{.durable = true, .keeps_unfinished = true, .shared = true, .consumer_groups = true,
                  .concurrency = 10, .redelivery = 100ms};
  }
  // A persistent session per client id (cleanSession false) keeps what is published while
  // the consumer is away. Not keeps_unfinished: libmosquitto acks a message before handing
  // it over, so what is unanswered at Close is lost (documented in mqtt_pubsub.h). MQTT 3
  // has no consumer groups (a second connection with the same client id takes the session
  // over), keeps order per topic, and bounds deliveries per component (`concurrency`).
  if (type == "pubsub.mqtt3") {
    return Traits{.durable = true, .shared = true, .ordered_by_topic = true, .concurrency = 10,
                  .redelivery = 100ms};
  }
  return std::nullopt;
}

std::vector<std::string> RegisteredTypes() {
  components::Registries registries;
  components::RegisterBuiltins(registries);
  return registries.pubsub.Types();  // "pubsub.redis/v1"
}

::testing::AssertionResult Ok(const Status& status) {
  if (status.ok()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "status " << static_cast<int>(status.code()) << ": "
                                       << status.message();
}

// What one subscription received, in arrival order, with the time each call started.
class Inbox {
 public:
  struct Arrival {
    Message message;
    Clock::time_point at;
  };
  using Predicate = std::function<bool(const std::vector<Arrival>&)>;

  void Add(Message message) {
    {
      std::lock_guard lock(mutex_);
      arrivals_.push_back({std::move(message), Clock::now()});
    }
    changed_.notify_all();
  }

  // False when pred does not hold within the timeout.
  bool WaitFor(const Predicate& pred, milliseconds timeout = kTimeout) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return pred(arrivals_); });
  }
  bool WaitForCount(size_t count, milliseconds timeout = kTimeout) {
    return WaitFor([count](const auto& arrivals) { return arrivals.size() >= count; }, timeout);
  }
  bool WaitForDistinct(size_t count, milliseconds timeout = kTimeout) {
    return WaitFor([count](const auto& arrivals) { return DataOf(arrivals).size() >= count; }, timeout);
  }
  bool WaitForData(const std::string& data, milliseconds timeout = kTimeout) {
    return WaitFor([&](const auto& arrivals) { return DataOf(arrivals).count(data) > 0; }, timeout);
  }

  std::vector<Arrival> Arrivals() {
    std::lock_guard lock(mutex_);
    return arrivals_;
  }
  size_t Count() {
    std::lock_guard lock(mutex_);
    return arrivals_.size();
  }
  std::set<std::string> Data() {
    std::lock_guard lock(mutex_);
    return DataOf(arrivals_);
  }
  std::set<std::string> Topics() {
    std::lock_guard lock(mutex_);
    std::set<std::string> topics;
    for (const auto& arrival : arrivals_) topics.insert(arrival.message.topic);
    return topics;
  }

 private:
  static std::set<std::string> DataOf(const std::vector<Arrival>& arrivals) {
    std::set<std::string> data;
    for (const auto& arrival : arrivals) data.insert(arrival.message.data);
    return data;
  }

  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<Arrival> arrivals_;
};

// A handler that acks at once, then records (so a recorded message is already acked).
MessageHandler Acking(std::shared_ptr<Inbox> inbox) {
  return [inbox](Message message, DeliveryDone done) {
    done(Status::Ok());
    inbox->Add(std::move(message));
  };
}

// Runs work later on threads of its own: the slow handlers answer from here, as the
// sidecar's workers do, so the component's own threads stay free.
class Later {
 public:
  ~Later() { Join(); }
  void After(milliseconds delay, std::function<void()> work) {
    std::lock_guard lock(mutex_);
    threads_.emplace_back([delay, work = std::move(work)] {
      std::this_thread::sleep_for(delay);
      work();
    });
  }
  void Join() {
    std::vector<std::thread> threads;
    {
      std::lock_guard lock(mutex_);
      threads.swap(threads_);
    }
    for (auto& thread : threads) thread.join();
  }

 private:
  std::mutex mutex_;
  std::vector<std::thread> threads_;
};

// Polls until pred holds; false at the timeout.
bool Eventually(const std::function<bool()>& pred, milliseconds timeout = kTimeout) {
  auto deadline = Clock::now() + timeout;
  while (!pred()) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

std::string Describe(const std::set<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return "{" + out + "}";
}

class PubSubConformance : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    const std::string& type_version = GetParam();
    type_ = type_version.substr(0, type_version.find('/'));
    version_ = type_version.substr(type_version.find('/') + 1);
    auto config = ConfigFor(type_);
    ASSERT_TRUE(config) << "no conformance configuration for " << type_version;
    auto traits = TraitsFor(type_);
    ASSERT_TRUE(traits) << "no conformance traits (durability, consumer groups) for " << type_version;
    for (const auto& [key, value] : *config) {
      ASSERT_FALSE(value.empty()) << type_ << ": " << key << " is empty (is the backend started?)";
    }
    config_ = *config;
    traits_ = *traits;
    prefix_ = "conf-" + UniqueSuffix();
    pubsub_ = NewInstance("a");
    ASSERT_NE(pubsub_, nullptr);
    features_ = pubsub_->GetFeatures();
  }

  void TearDown() override {
    later_.Join();  // late answers land before their components go
    for (auto& instance : instances_) instance->Close();
    // As in daprd: the loop stops before the components go (their loop clients with it).
    work_.reset();
    loop_.stop();
    if (loop_thread_.joinable()) loop_thread_.join();
    instances_.clear();
    if (type_ == "pubsub.sqlite") {
      std::string path = config_["connectionString"];
      for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
        std::error_code ignored;
        std::filesystem::remove(path + suffix, ignored);
      }
    }
  }

  // A new instance of the type on the same backend, consumerID <prefix>-<consumer>: the
  // same consumer name gives the same consumerID. Null (and a failure) when it cannot start.
  PubSub* NewInstance(const std::string& consumer) {
    auto properties = config_;
    properties["consumerID"] = ConsumerId(consumer);
    components::Registries registries;
    components::RegisterBuiltins(registries);
    auto created = registries.pubsub.Create(type_, version_);
    if (!created.ok()) {
      ADD_FAILURE() << type_ << ": " << created.error().message();
      return nullptr;
    }
    std::unique_ptr<PubSub> instance = std::move(created).value();
    // daprd hands every component its event loop before Init; one that takes it runs its
    // clients (and perhaps its deliveries) there, and that is the path to test.
    if (instance->AttachEventLoop(loop_) && !loop_thread_.joinable()) {
      loop_thread_ = std::thread([this] { loop_.run(); });
    }
    Status init = instance->Init(ComponentMetadata("conformance", type_, properties));
    if (!init.ok()) {
      ADD_FAILURE() << type_ << " Init: " << init.message();
      return nullptr;
    }
    instances_.push_back(std::move(instance));
    return instances_.back().get();
  }

  // Where a second consumer subscribes: an instance of its own where instances share the
  // backend, else (in-memory) another subscription of the same instance.
  PubSub* OtherConsumer(const std::string& consumer) {
    return traits_.shared ? NewInstance(consumer) : pubsub_;
  }

  std::string ConsumerId(const std::string& consumer) const { return prefix_ + "-" + consumer; }
  std::string Topic(const std::string& name) const { return prefix_ + "-" + name; }

  static Status Publish(PubSub* to, const std::string& topic, const std::string& data,
                        Metadata metadata = {}) {
    return to->Publish({topic, data, "application/octet-stream", std::move(metadata)});
  }

  // How long to watch for a redelivery that must not come.
  milliseconds RedeliveryWindow() const {
    if (traits_.redelivery.count() == 0) return 1500ms;  // unknown delay: watch longer
    return std::max<milliseconds>(3 * traits_.redelivery, 500ms);
  }

  void Note(const std::string& key, const std::string& value) {
    RecordProperty(key, value);
    std::cout << "[     NOTE ] " << type_ << ": " << key << " = " << value << std::endl;
  }

  std::string type_;
  std::string version_;
  ComponentMetadata::Properties config_;
  Traits traits_;
  Features features_;
  std::string prefix_;
  Later later_;
  boost::asio::io_context loop_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_ =
      boost::asio::make_work_guard(loop_);
  std::thread loop_thread_;
  std::vector<std::unique_ptr<PubSub>> instances_;
  PubSub* pubsub_ = nullptr;  // the first instance, consumerID <prefix>-a
};

TEST_P(PubSubConformance, DeliversExactBytesOnTheirTopic) {
  auto inbox = std::make_shared<Inbox>();
  auto neighbour = std::make_shared<Inbox>();
  const std::string topic = Topic("bytes");
  ASSERT_TRUE(Ok(pubsub_->Subscribe({topic, {}}, Acking(inbox))));
  ASSERT_TRUE(Ok(pubsub_->Subscribe({Topic("bytes-neighbour"), {}}, Acking(neighbour))));

  const std::string small("\x00\xff{\"a\":1}\n\x01\x00", 12);
  std::string large(64 * 1024, '\0');
  for (size_t i = 0; i < large.size(); ++i) large[i] = static_cast<char>((i * 7 + i / 256) % 256);
  ASSERT_TRUE(Ok(Publish(pubsub_, topic, small)));
  ASSERT_TRUE(Ok(Publish(pubsub_, topic, large)));

  ASSERT_TRUE(inbox->WaitForCount(2)) << "got " << inbox->Count() << " of 2";
  for (const auto& arrival : inbox->Arrivals()) {
    EXPECT_EQ(arrival.message.topic, topic);
    EXPECT_TRUE(arrival.message.content_type.empty() ||
                arrival.message.content_type == "application/octet-stream")
        << "content type " << arrival.message.content_type;
  }
  EXPECT_EQ(inbox->Data(), (std::set<std::string>{small, large})) << "the bytes changed on the way";
  std::this_thread::sleep_for(kQuiet);
  EXPECT_EQ(inbox->Count(), 2u) << "delivered more than once without a failure";
  EXPECT_EQ(neighbour->Count(), 0u) << "a subscription of another topic got them";
}

TEST_P(PubSubConformance, ConcurrentPublishesAreAllDelivered) {
  constexpr int kThreads = 5;
  constexpr int kEach = 10;
  auto inbox = std::make_shared<Inbox>();
  const std::string topic = Topic("concurrent");
  ASSERT_TRUE(Ok(pubsub_->Subscribe({topic, {}}, Acking(inbox))));

  std::atomic<int> failures{0};
  std::set<std::string> published;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kEach; ++i) published.insert("m-" + std::to_string(t) + "-" + std::to_string(i));
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        if (!Publish(pubsub_, topic, "m-" + std::to_string(t) + "-" + std::to_string(i)).ok()) ++failures;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);

  EXPECT_TRUE(inbox->WaitForDistinct(published.size()))
      << "delivered " << inbox->Data().size() << " distinct of " << published.size();
  EXPECT_EQ(inbox->Data(), published);
  Note("concurrent_duplicates", std::to_string(inbox->Count() - inbox->Data().size()));
}

TEST_P(PubSubConformance, FailedDeliveryComesAgainUntilAcked) {
  auto inbox = std::make_shared<Inbox>();
  const std::string topic = Topic("redeliver");
  ASSERT_TRUE(Ok(pubsub_->Subscribe({topic, {}}, [inbox](Message message, DeliveryDone done) {
    const bool first = inbox->Count() == 0;  // one message, one delivery at a time
    inbox->Add(std::move(message));
    done(first ? Unavailable("conformance: the first delivery fails") : Status::Ok());
  })));
  ASSERT_TRUE(Ok(Publish(pubsub_, topic, "again")));

  ASSERT_TRUE(inbox->WaitForCount(2)) << "a failed delivery was not delivered again";
  auto arrivals = inbox->Arrivals();
  auto delay = std::chrono::duration_cast<milliseconds>(arrivals[1].at - arrivals[0].at);
  Note("redelivery_delay_ms", std::to_string(delay.count()));
  EXPECT_EQ(arrivals[1].message.data, "again");
  EXPECT_GE(delay, traits_.redelivery * 8 / 10) << "redelivered before the redelivery delay";

  std::this_thread::sleep_for(RedeliveryWindow());
  EXPECT_EQ(inbox->Count(), 2u) << "an acked message was delivered again";
}

TEST_P(PubSubConformance, EveryConsumerIdGetsEveryMessage) {
  constexpr int kMessages = 10;
  auto first = std::make_shared<Inbox>();
  auto second = std::make_shared<Inbox>();
  const std::string topic = Topic("fanout");
  PubSub* other = OtherConsumer("b");
  ASSERT_NE(other, nullptr);
  ASSERT_TRUE(Ok(pubsub_->Subscribe({topic, {}}, Acking(first))));
  ASSERT_TRUE(Ok(other->Subscribe({topic, {}}, Acking(second))));

  std::set<std::string> published;
  for (int i = 0; i < kMessages; ++i) {
    published.insert("f-" + std::to_string(i));
    ASSERT_TRUE(Ok(Publish(pubsub_, topic, "f-" + std::to_string(i))));
  }
  EXPECT_TRUE(first->WaitForDistinct(kMessages)) << "first consumer: " << first->Data().size();
  EXPECT_TRUE(second->WaitForDistinct(kMessages)) << "second consumer: " << second->Data().size();
  EXPECT_EQ(first->Data(), published);
  EXPECT_EQ(second->Data(), published);
}

TEST_P(PubSubConformance, InstancesOfOneConsumerIdShareMessages) {
  if (!traits_.consumer_groups) {
    GTEST_SKIP() << type_ << " has no consumer groups (TraitsFor): instances of one consumerID "
                 << "do not share a topic's messages";
  }
  constexpr int kMessages = 20;
  auto inbox = std::make_shared<Inbox>();  // both instances record here
  const std::string topic = Topic("group");
  PubSub* replica = NewInstance("a");  // the same consumerID as pubsub_
  ASSERT_NE(replica, nullptr);
  ASSERT_TRUE(Ok(pubsub_->Subscribe({topic, {}}, Acking(inbox))));
  ASSERT_TRUE(Ok(replica->Subscribe({topic, {}}, Acking(inbox))));
  for (int i = 0; i < kMessages; ++i) ASSERT_TRUE(Ok(Publish(pubsub_, topic, "g-" + std::to_string(i))));

  EXPECT_TRUE(inbox->WaitForDistinct(kMessages)) << "delivered " << inbox->Data().size();
  std::this_thread::sleep_for(kQuiet);
  EXPECT_EQ(inbox->Count(), static_cast<size_t>(kMessages)) << "a message went to both replicas";
}

// Seen with the defaults (concurrency 10): at most 10 in flight for pubsub.in-memory,
// pubsub.redis and pubsub.sqlite alike, and never one at a time. A handler that blocks
// instead of answering later serializes them all: the components call it on their
// dispatcher thread.
TEST_P(PubSubConformance, ConcurrentDeliveriesAreBounded) {
  struct Gauge {
    std::atomic<int> now{0};
    std::atomic<int> max{0};
    std::atomic<int> answered{0};
  };
  auto gauge = std::make_shared<Gauge>();
  auto inbox = std::make_shared<Inbox>();
  const std::string topic = Topic("bounded");
  // Slow deliveries: the handler returns at once and answers 250 ms later from another
  // thread, as the sidecar does once the app answers.
  MessageHandler handler = [this, gauge, inbox](Message message, DeliveryDone done) {
    int now = ++gauge->now;
    int max = gauge->max.load();
    while (now > max && !gauge->max.compare_exchange_weak(max, now)) {
    }
    inbox->Add(std::move(message));
    later_.After(250ms, [gauge, done = std::move(done)] {
      --gauge->now;  // before done: the component may start the next one at once
      done(Status::Ok());
      ++gauge->answered;
    });
  };

  const int messages = traits_.concurrency > 0 ? static_cast<int>(traits_.concurrency) * 5 / 2 : 25;
  // A type that keeps order per topic delivers one message of a topic at a time: give each
  // message a topic of its own there, all subscribed through the same handler.
  const int topics = traits_.ordered_by_topic ? messages : 1;
  auto topic_of = [&](int i) { return topic + "-" + std::to_string(i % topics); };
  for (int i = 0; i < topics; ++i) ASSERT_TRUE(Ok(pubsub_->Subscribe({topic_of(i), {}}, handler)));
  for (int i = 0; i < messages; ++i) ASSERT_TRUE(Ok(Publish(pubsub_, topic_of(i), "c-" + std::to_string(i))));
  ASSERT_TRUE(inbox->WaitForDistinct(messages)) << "delivered " << inbox->Data().size() << " of " << messages;
  ASSERT_TRUE(Eventually([&] { return gauge->answered.load() >= messages; }));

  Note("max_in_flight", std::to_string(gauge->max.load()));
  EXPECT_GT(gauge->max.load(), 1) << "slow deliveries were handed out one at a time";
  if (traits_.concurrency > 0) {
    EXPECT_LE(gauge->max.load(), static_cast<int>(traits_.concurrency)) << "above the concurrency bound";
  } else {
    EXPECT_LT(gauge->max.load(), messages) << "no bound: every message was in flight at once";
  }
}

TEST_P(PubSubConformance, CloseStopsDeliveries) {
  auto started = std::make_shared<std::atomic<int>>(0);
  const std::string topic = Topic("close");
  ASSERT_TRUE(Ok(pubsub_->Subscribe({topic, {}}, [this, started](Message, DeliveryDone done) {
    ++*started;
    // Some answers arrive after Close: the contract allows it, and they must be harmless.
    later_.After(50ms, [done = std::move(done)] { done(Status::Ok()); });
  })));
  // A publisher that keeps going across Close (through an instance of its own where one
  // sees the other's messages; in-memory publishes to the closing instance and fails).
  PubSub* publisher = traits_.shared ? NewInstance("publisher") : pubsub_;
  ASSERT_NE(publisher, nullptr);
  std::jthread publishing([publisher, topic](std::stop_token stop) {
    for (int i = 0; !stop.stop_requested(); ++i) {
      (void)Publish(publisher, topic, "x-" + std::to_string(i));
      std::this_thread::sleep_for(5ms);
    }
  });
  ASSERT_TRUE(Eventually([&] { return started->load() >= 5; })) << "nothing was delivered";

  pubsub_->Close();
  const int at_close = started->load();
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(started->load(), at_close) << "handler calls started after Close returned";
}

// The streaming-subscription contract: after Unsubscribe(topic) returns, no handler call
// for that topic starts; the component's other subscriptions go on; the topic can be
// subscribed again. Unsubscribing a topic never subscribed is harmless.
TEST_P(PubSubConformance, UnsubscribeEndsOneSubscriptionOnly) {
  auto ended = std::make_shared<Inbox>();
  auto kept = std::make_shared<Inbox>();
  const std::string gone = Topic("unsub-gone");
  const std::string stays = Topic("unsub-stays");
  ASSERT_TRUE(Ok(pubsub_->Subscribe({gone, {}}, Acking(ended))));
  ASSERT_TRUE(Ok(pubsub_->Subscribe({stays, {}}, Acking(kept))));
  ASSERT_TRUE(Ok(Publish(pubsub_, gone, "before")));
  ASSERT_TRUE(ended->WaitForData("before"));

  ASSERT_TRUE(Ok(pubsub_->Unsubscribe(gone)));
  EXPECT_TRUE(Ok(pubsub_->Unsubscribe(Topic("unsub-never"))));
  ASSERT_TRUE(Ok(Publish(pubsub_, gone, "after")));
  ASSERT_TRUE(Ok(Publish(pubsub_, stays, "still")));
  ASSERT_TRUE(kept->WaitForData("still")) << "the other subscription stopped too";
  std::this_thread::sleep_for(RedeliveryWindow());
  EXPECT_EQ(ended->Data(), std::set<std::string>{"before"}) << "delivered after Unsubscribe returned";

  auto again = std::make_shared<Inbox>();
  ASSERT_TRUE(Ok(pubsub_->Subscribe({gone, {}}, Acking(again))));
  ASSERT_TRUE(Ok(Publish(pubsub_, gone, "resubscribed")));
  EXPECT_TRUE(again->WaitForData("resubscribed")) << "the topic could not be subscribed again";
}

// A handler may close its own component (a sidecar shutting down from a delivery): no
// deadlock, no crash, and no handler call starts after Close returns.
TEST_P(PubSubConformance, CloseFromAHandlerIsHarmless) {
  auto calls = std::make_shared<std::atomic<int>>(0);
  auto closed = std::make_shared<std::atomic<bool>>(false);
  const std::string topic = Topic("close-inside");
  PubSub* self = pubsub_;
  ASSERT_TRUE(Ok(pubsub_->Subscribe({topic, {}}, [self, calls, closed](Message, DeliveryDone done) {
    ++*calls;
    done(Status::Ok());
    if (!closed->exchange(true)) self->Close();
  })));
  // Through an instance of its own where instances share the backend; in-memory refuses
  // publishes once closed, which is fine here.
  PubSub* publisher = traits_.shared ? NewInstance("publisher") : pubsub_;
  ASSERT_NE(publisher, nullptr);
  for (int i = 0; i < 5; ++i) {
    Status published = Publish(publisher, topic, "m" + std::to_string(i));
    ASSERT_TRUE(published.ok() || closed->load()) << published.message();
  }
  ASSERT_TRUE(Eventually([&] { return closed->load(); })) << "nothing was delivered";
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(calls->load(), 1) << "handler calls started after Close returned";
}

TEST_P(PubSubConformance, BulkPublishDeliversEveryEntry) {
  constexpr int kEntries = 20;
  auto inbox = std::make_shared<Inbox>();
  const std::string topic = Topic("bulk");
  ASSERT_TRUE(Ok(pubsub_->Subscribe({topic, {}}, Acking(inbox))));

  BulkPublishRequest request;
  request.topic = topic;
  std::set<std::string> published;
  for (int i = 0; i < kEntries; ++i) {
    std::string data = std::string("bulk\0", 5) + std::to_string(i);
    published.insert(data);
    request.entries.push_back({"e-" + std::to_string(i), data, "application/octet-stream", {}});
  }
  auto failures = pubsub_->BulkPublish(request);
  EXPECT_TRUE(failures.empty()) << failures.size() << " failed, the first " << failures[0].entry_id
                                << ": " << failures[0].error;
  EXPECT_TRUE(inbox->WaitForDistinct(kEntries)) << "delivered " << inbox->Data().size();
  EXPECT_EQ(inbox->Data(), published);
  Note("bulk_publish", features_.bulk_publish ? "native" : "the default loop");
}

TEST_P(PubSubConformance, WildcardSubscriptionsReceiveConcreteTopics) {
  if (!features_.subscribe_wildcards) {
    GTEST_SKIP() << type_ << " declares no subscribe_wildcards: \"+\" and \"#\" are plain topic names there";
  }
  const std::string base = prefix_ + "/wild";
  const std::string a = base + "/orders/a", b = base + "/orders/b", deep = base + "/audit/x/y";
  auto plus = std::make_shared<Inbox>();
  auto hash = std::make_shared<Inbox>();
  PubSub* plus_consumer = OtherConsumer("plus");
  PubSub* hash_consumer = OtherConsumer("hash");
  ASSERT_NE(plus_consumer, nullptr);
  ASSERT_NE(hash_consumer, nullptr);
  ASSERT_TRUE(Ok(plus_consumer->Subscribe({base + "/orders/+", {}}, Acking(plus))));
  ASSERT_TRUE(Ok(hash_consumer->Subscribe({base + "/#", {}}, Acking(hash))));
  for (const auto& topic : {a, b, deep}) ASSERT_TRUE(Ok(Publish(pubsub_, topic, topic)));

  const std::set<std::string> orders{a, b}, all{a, b, deep};
  auto has_topics = [](const std::set<std::string>& topics) {
    return [&topics](const std::vector<Inbox::Arrival>& arrivals) {
      std::set<std::string> got;
      for (const auto& arrival : arrivals) got.insert(arrival.message.topic);
      return got == topics;
    };
  };
  EXPECT_TRUE(plus->WaitFor(has_topics(orders))) << "\"+\" got " << Describe(plus->Topics());
  EXPECT_TRUE(hash->WaitFor(has_topics(all))) << "\"#\" got " << Describe(hash->Topics());
  std::this_thread::sleep_for(kQuiet);
  EXPECT_EQ(plus->Topics(), orders) << "\"+\" matches one level only";
  for (auto* inbox : {plus.get(), hash.get()}) {
    for (const auto& arrival : inbox->Arrivals()) {
      EXPECT_EQ(arrival.message.data, arrival.message.topic) << "Message.topic is not the concrete topic";
    }
  }
}

TEST_P(PubSubConformance, ExpiredMessageIsNotDelivered) {
  if (!features_.message_ttl) {
    GTEST_SKIP() << type_ << " declares no message_ttl: ttlInSeconds is left to the runtime";
  }
  if (!traits_.durable) {
    GTEST_SKIP() << type_ << " is not durable (TraitsFor): no message waits unsubscribed to expire; "
                 << "ExpiredMessageIsNotRedelivered covers its TTL";
  }
  const std::string topic = Topic("ttl");
  PubSub* before = NewInstance("ttl");
  ASSERT_NE(before, nullptr);
  ASSERT_TRUE(Ok(before->Subscribe({topic, {}}, Acking(std::make_shared<Inbox>()))));  // the group exists
  before->Close();

  ASSERT_TRUE(Ok(Publish(pubsub_, topic, "expires", {{"ttlInSeconds", "1"}})));
  ASSERT_TRUE(Ok(Publish(pubsub_, topic, "lasts", {{"ttlInSeconds", "60"}})));
  ASSERT_TRUE(Ok(Publish(pubsub_, topic, "plain")));
  std::this_thread::sleep_for(2s);

  auto inbox = std::make_shared<Inbox>();
  PubSub* after = NewInstance("ttl");
  ASSERT_NE(after, nullptr);
  ASSERT_TRUE(Ok(after->Subscribe({topic, {}}, Acking(inbox))));
  EXPECT_TRUE(inbox->WaitForDistinct(2)) << "got " << Describe(inbox->Data());
  std::this_thread::sleep_for(kQuiet);
  EXPECT_EQ(inbox->Data(), (std::set<std::string>{"lasts", "plain"})) << "a message past its TTL came";
}

TEST_P(PubSubConformance, ExpiredMessageIsNotRedelivered) {
  if (!features_.message_ttl) {
    GTEST_SKIP() << type_ << " declares no message_ttl: ttlInSeconds is left to the runtime";
  }
  auto inbox = std::make_shared<Inbox>();
  const std::string topic = Topic("ttl-retry");
  ASSERT_TRUE(Ok(pubsub_->Subscribe({topic, {}}, [inbox](Message message, DeliveryDone done) {
    inbox->Add(std::move(message));
    done(Unavailable("conformance: every delivery fails"));
  })));
  const auto published = Clock::now();
  ASSERT_TRUE(Ok(Publish(pubsub_, topic, "short-lived", {{"ttlInSeconds", "1"}})));
  std::this_thread::sleep_for(1s + RedeliveryWindow() + kQuiet);

  auto arrivals = inbox->Arrivals();
  ASSERT_FALSE(arrivals.empty()) << "not delivered while it was alive";
  auto last = std::chrono::duration_cast<milliseconds>(arrivals.back().at - published);
  Note("ttl_deliveries", std::to_string(arrivals.size()) + ", the last after " +
                             std::to_string(last.count()) + " ms");
  EXPECT_LE(last, 1250ms) << "delivered again after its TTL";
}

TEST_P(PubSubConformance, DurableConsumerGetsWhatWasPublishedWhileAway) {
  if (!traits_.durable) {
    GTEST_SKIP() << type_ << " is not durable (TraitsFor): what is published while a consumerID has "
                 << "no subscription is dropped";
  }
  const std::string topic = Topic("durable");
  auto first = std::make_shared<Inbox>();
  PubSub* before = NewInstance("durable");
  ASSERT_NE(before, nullptr);
  ASSERT_TRUE(Ok(before->Subscribe({topic, {}}, Acking(first))));
  ASSERT_TRUE(Ok(Publish(pubsub_, topic, "before")));
  ASSERT_TRUE(first->WaitForData("before"));
  before->Close();

  ASSERT_TRUE(Ok(Publish(pubsub_, topic, "while-away")));
  auto second = std::make_shared<Inbox>();
  PubSub* after = NewInstance("durable");
  ASSERT_NE(after, nullptr);
  ASSERT_TRUE(Ok(after->Subscribe({topic, {}}, Acking(second))));
  EXPECT_TRUE(second->WaitForData("while-away")) << "lost what was published while away";
  std::this_thread::sleep_for(kQuiet);
  EXPECT_EQ(second->Data(), std::set<std::string>{"while-away"}) << "an acked message came again";
}

TEST_P(PubSubConformance, UnfinishedDeliveryStaysWithTheBrokerAfterClose) {
  if (!traits_.keeps_unfinished) {
    GTEST_SKIP() << type_ << " does not keep unfinished deliveries (TraitsFor): what a closed "
                 << "instance held unanswered is gone";
  }
  const std::string topic = Topic("unfinished");
  auto held = std::make_shared<Inbox>();
  auto unanswered = std::make_shared<std::vector<DeliveryDone>>();  // touched by one delivery only
  PubSub* before = NewInstance("unfinished");
  ASSERT_NE(before, nullptr);
  ASSERT_TRUE(Ok(before->Subscribe({topic, {}}, [held, unanswered](Message message, DeliveryDone done) {
    unanswered->push_back(std::move(done));  // the app never answers before Close
    held->Add(std::move(message));
  })));
  ASSERT_TRUE(Ok(Publish(pubsub_, topic, "unfinished")));
  ASSERT_TRUE(held->WaitForCount(1));
  before->Close();

  auto inbox = std::make_shared<Inbox>();
  PubSub* after = NewInstance("unfinished");
  ASSERT_NE(after, nullptr);
  const auto resubscribed = Clock::now();
  ASSERT_TRUE(Ok(after->Subscribe({topic, {}}, Acking(inbox))));
  EXPECT_TRUE(inbox->WaitForData("unfinished")) << "a delivery unanswered at Close was lost";
  Note("unfinished_redelivered_after_ms",
       std::to_string(std::chrono::duration_cast<milliseconds>(Clock::now() - resubscribed).count()));
  // The late answer of the closed instance must change nothing.
  for (auto& done : *unanswered) done(Unavailable("conformance: answered after Close"));
  std::this_thread::sleep_for(kQuiet);
  EXPECT_EQ(inbox->Count(), 1u);
  EXPECT_EQ(held->Count(), 1u) << "the closed instance delivered again";
}

INSTANTIATE_TEST_SUITE_P(AllPubSubs, PubSubConformance, ::testing::ValuesIn(RegisteredTypes()),
                         [](const auto& info) {
                           std::string name = info.param;
                           for (char& c : name) {
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return name;
                         });

}  // namespace
}  // namespace dapr::pubsub
