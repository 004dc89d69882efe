// Tests of pubsub.mqtt3 against a real Mosquitto: the shared one at DAPR_TEST_MQTT_ADDR
// (host:port; each test on topics and client ids of its own), and, to kill or restart the
// broker under a component, a mosquitto the test starts itself on a free port, with
// persistence. Metadata parsing and an unreachable broker need no broker. Redelivery
// intervals are small so that the whole suite takes a few seconds.
#include "components/pubsub/mqtt3/mqtt_pubsub.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <thread>
#include <vector>

namespace dapr::components::pubsub {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using ::dapr::pubsub::DeliveryDone;
using ::dapr::pubsub::Message;
using ::dapr::pubsub::MessageHandler;
using ::dapr::pubsub::Metadata;
using ::dapr::pubsub::PublishRequest;
using ::dapr::pubsub::SubscribeRequest;
using Properties = ComponentMetadata::Properties;

std::optional<std::string> SharedBrokerAddress() {
  const char* address = std::getenv("DAPR_TEST_MQTT_ADDR");
  if (address == nullptr || *address == '\0') return std::nullopt;
  return std::string(address);
}

std::string Unique(const std::string& prefix) {
  static std::mt19937_64 random{std::random_device{}()};
  static std::mutex mutex;
  std::lock_guard lock(mutex);
  return prefix + "-" + std::to_string(random() % 1000000000);
}

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
  socklen_t length = sizeof(address);
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  close(fd);
  return ntohs(address.sin_port);
}

ComponentMetadata MetadataFor(const std::string& address, const std::string& consumer,
                              Properties extra = {}) {
  Properties properties{{"url", "tcp://" + address}, {"consumerID", consumer}};
  for (auto& [key, value] : extra) properties[key] = value;
  return ComponentMetadata("pubsub", "pubsub.mqtt3", std::move(properties));
}

// Records every delivery; `reply` answers the n-th delivery of a given data (1 for the
// first): a Status at once, no value to hold the done for the test. Acks all by default.
class Inbox : public std::enable_shared_from_this<Inbox> {
 public:
  using Reply = std::function<std::optional<Status>(const Message&, int attempt)>;

  static std::shared_ptr<Inbox> Make(Reply reply = nullptr) {
    auto inbox = std::make_shared<Inbox>();
    inbox->reply_ = std::move(reply);
    return inbox;
  }
  static std::shared_ptr<Inbox> Holding() {
    return Make([](const Message&, int) -> std::optional<Status> { return std::nullopt; });
  }

  MessageHandler Handler() {
    return [self = shared_from_this()](Message message, DeliveryDone done) {
      self->Receive(std::move(message), std::move(done));
    };
  }

  bool WaitFor(size_t count, std::chrono::milliseconds timeout = 3s) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, timeout, [&] { return messages_.size() >= count; });
  }
  bool WaitUntil(const std::function<bool(const std::vector<Message>&)>& done,
                 std::chrono::milliseconds timeout = 3s) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, timeout, [&] { return done(messages_); });
  }
  size_t Count() {
    std::lock_guard lock(mutex_);
    return messages_.size();
  }
  std::vector<Message> Messages() {
    std::lock_guard lock(mutex_);
    return messages_;
  }
  std::vector<std::string> Data() {
    std::lock_guard lock(mutex_);
    std::vector<std::string> data;
    for (const auto& message : messages_) data.push_back(message.data);
    return data;
  }
  std::set<std::string> Topics() {
    std::lock_guard lock(mutex_);
    std::set<std::string> topics;
    for (const auto& message : messages_) topics.insert(message.topic);
    return topics;
  }
  size_t Held() {
    std::lock_guard lock(mutex_);
    return held_.size();
  }
  std::vector<DeliveryDone> TakeHeld() {
    std::lock_guard lock(mutex_);
    return std::move(held_);
  }

 private:
  void Receive(Message message, DeliveryDone done) {
    std::optional<Status> reply = Status::Ok();
    {
      std::lock_guard lock(mutex_);
      const int attempt = ++attempts_[message.data];
      if (reply_) reply = reply_(message, attempt);
      messages_.push_back(std::move(message));
      if (!reply) held_.push_back(done);
    }
    cv_.notify_all();
    if (reply) done(*reply);
  }

  Reply reply_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<Message> messages_;
  std::map<std::string, int> attempts_;
  std::vector<DeliveryDone> held_;
};

Status Publish(MqttPubSub& pubsub, const std::string& topic, const std::string& data,
               Metadata metadata = {}) {
  return pubsub.Publish(
      PublishRequest{topic, data, "application/octet-stream", std::move(metadata)});
}

void Subscribe(MqttPubSub& pubsub, const std::string& topic, Inbox& inbox) {
  Status status = pubsub.Subscribe(SubscribeRequest{topic, {}}, inbox.Handler());
  ASSERT_TRUE(status.ok()) << status.message();
}

class Mqtt3PubSubTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto address = SharedBrokerAddress();
    if (!address) GTEST_SKIP() << "DAPR_TEST_MQTT_ADDR is not set (host:port of an MQTT broker)";
    address_ = *address;
    base_ = Unique("dapr-cpp-test");
  }

  // A topic of this test's own.
  std::string Topic(const std::string& name) const { return base_ + "/" + name; }

  // Clean sessions unless the test asks otherwise, so the shared broker keeps nothing.
  std::unique_ptr<MqttPubSub> Open(const std::string& consumer, Properties extra = {}) {
    Properties properties{{"cleanSession", "true"}, {"backOffInitialInterval", "100ms"}};
    for (auto& [key, value] : extra) properties[key] = value;
    auto pubsub = std::make_unique<MqttPubSub>();
    Status status = pubsub->Init(MetadataFor(address_, consumer, std::move(properties)));
    EXPECT_TRUE(status.ok()) << status.message();
    return pubsub;
  }

  std::string address_;
  std::string base_;
};

// ---- delivery ---------------------------------------------------------------------------

TEST_F(Mqtt3PubSubTest, Mqtt3PubSubRoundTripsBinaryData) {
  const std::string topic = Topic("binary");
  auto inbox = Inbox::Make();
  auto pubsub = Open(Unique("app"));
  Subscribe(*pubsub, topic, *inbox);
  std::string data("\0\x01\xff{\"id\":1}\r\n", 12);
  for (int i = 0; i < 256; ++i) data += static_cast<char>(i);
  ASSERT_TRUE(Publish(*pubsub, topic, data).ok());
  ASSERT_TRUE(inbox->WaitFor(1));
  Message message = inbox->Messages()[0];
  EXPECT_EQ(message.topic, topic);
  EXPECT_EQ(message.data, data);
  EXPECT_EQ(message.content_type, "");  // MQTT 3.1.1 carries none
  EXPECT_EQ(message.metadata, (Metadata{{"retained", "false"}}));
  EXPECT_TRUE(pubsub->GetFeatures().subscribe_wildcards);
  // An empty message too.
  ASSERT_TRUE(Publish(*pubsub, topic, "").ok());
  ASSERT_TRUE(inbox->WaitFor(2));
  EXPECT_EQ(inbox->Data()[1], "");
}

TEST_F(Mqtt3PubSubTest, Mqtt3PubSubDeliversATopicInPublishOrder) {
  const std::string topic = Topic("order");
  auto inbox = Inbox::Make();
  auto pubsub = Open(Unique("app"));
  Subscribe(*pubsub, topic, *inbox);
  std::vector<std::string> sent;
  for (int i = 0; i < 50; ++i) {
    sent.push_back("m" + std::to_string(i));
    ASSERT_TRUE(Publish(*pubsub, topic, sent.back()).ok());
  }
  ASSERT_TRUE(inbox->WaitFor(50));
  EXPECT_EQ(inbox->Data(), sent);
}

TEST_F(Mqtt3PubSubTest, Mqtt3PubSubEveryConsumerIdGetsEveryMessage) {
  const std::string topic = Topic("fanout");
  auto first = Inbox::Make();
  auto second = Inbox::Make();
  auto a = Open(Unique("app-a"));
  auto b = Open(Unique("app-b"));
  Subscribe(*a, topic, *first);
  Subscribe(*b, topic, *second);
  for (const char* data : {"one", "two", "three"}) ASSERT_TRUE(Publish(*a, topic, data).ok());
  ASSERT_TRUE(first->WaitFor(3));
  ASSERT_TRUE(second->WaitFor(3));
  const std::vector<std::string> expected{"one", "two", "three"};
  EXPECT_EQ(first->Data(), expected);
  EXPECT_EQ(second->Data(), expected);
}

TEST_F(Mqtt3PubSubTest, Mqtt3PubSubWildcardsReportTheConcreteTopic) {
  auto plus = Inbox::Make();
  auto hash = Inbox::Make();
  auto pubsub = Open(Unique("app"));
  Subscribe(*pubsub, Topic("sensors/+/temp"), *plus);
  Subscribe(*pubsub, Topic("logs/#"), *hash);
  ASSERT_TRUE(Publish(*pubsub, Topic("sensors/a/temp"), "1").ok());
  ASSERT_TRUE(Publish(*pubsub, Topic("sensors/b/temp"), "2").ok());
  ASSERT_TRUE(Publish(*pubsub, Topic("sensors/a/humidity"), "no").ok());
  ASSERT_TRUE(Publish(*pubsub, Topic("sensors/a/b/temp"), "no").ok());
  ASSERT_TRUE(Publish(*pubsub, Topic("logs"), "3").ok());  // "#" matches the parent too
  ASSERT_TRUE(Publish(*pubsub, Topic("logs/x/y/z"), "4").ok());
  ASSERT_TRUE(plus->WaitFor(2));
  ASSERT_TRUE(hash->WaitFor(2));
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(plus->Topics(),
            (std::set<std::string>{Topic("sensors/a/temp"), Topic("sensors/b/temp")}));
  EXPECT_EQ(hash->Topics(), (std::set<std::string>{Topic("logs"), Topic("logs/x/y/z")}));
  EXPECT_EQ(plus->Count(), 2u);
  EXPECT_EQ(hash->Count(), 2u);
}

TEST_F(Mqtt3PubSubTest, Mqtt3PubSubRetainedMessageReachesALaterSubscriber) {
  const std::string topic = Topic("retained");
  auto pubsub = Open(Unique("app"));
  ASSERT_TRUE(Publish(*pubsub, topic, "last", {{"retain", "true"}}).ok());
  auto inbox = Inbox::Make();
  Subscribe(*pubsub, topic, *inbox);
  ASSERT_TRUE(inbox->WaitFor(1));
  EXPECT_EQ(inbox->Messages()[0].data, "last");
  EXPECT_EQ(inbox->Messages()[0].metadata.at("retained"), "true");
  // An empty retained message clears it from the broker.
  ASSERT_TRUE(Publish(*pubsub, topic, "", {{"retain", "true"}}).ok());
  EXPECT_EQ(Publish(*pubsub, topic, "x", {{"retain", "maybe"}}).code(),
            StatusCode::kInvalidArgument);
}

TEST_F(Mqtt3PubSubTest, Mqtt3PubSubRefusesBadTopicsAndSecondSubscriptions) {
  auto pubsub = Open(Unique("app"));
  EXPECT_EQ(Publish(*pubsub, Topic("a/+"), "x").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Publish(*pubsub, "", "x").code(), StatusCode::kInvalidArgument);
  auto inbox = Inbox::Make();
  EXPECT_EQ(pubsub->Subscribe({Topic("a/#/b"), {}}, inbox->Handler()).code(),
            StatusCode::kInvalidArgument);
  Subscribe(*pubsub, Topic("a"), *inbox);
  EXPECT_EQ(pubsub->Subscribe({Topic("a"), {}}, inbox->Handler()).code(),
            StatusCode::kAlreadyExists);
}

// A streaming subscription that ends: that filter stops receiving, another one keeps on,
// and the same filter can be subscribed again (the broker got UNSUBSCRIBE and a new SUBSCRIBE).
TEST_F(Mqtt3PubSubTest, Mqtt3PubSubUnsubscribeEndsOnlyThatFilter) {
  auto ended = Inbox::Make();
  auto kept = Inbox::Make();
  auto pubsub = Open(Unique("app"));
  Subscribe(*pubsub, Topic("u/a"), *ended);
  Subscribe(*pubsub, Topic("u/b"), *kept);
  ASSERT_TRUE(Publish(*pubsub, Topic("u/a"), "before").ok());
  ASSERT_TRUE(ended->WaitFor(1));
  ASSERT_TRUE(pubsub->Unsubscribe(Topic("u/a")).ok());
  EXPECT_TRUE(pubsub->Unsubscribe(Topic("never-subscribed")).ok());
  ASSERT_TRUE(Publish(*pubsub, Topic("u/a"), "after").ok());
  ASSERT_TRUE(Publish(*pubsub, Topic("u/b"), "still").ok());
  ASSERT_TRUE(kept->WaitFor(1));
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(ended->Data(), (std::vector<std::string>{"before"}));
  auto again = Inbox::Make();
  Subscribe(*pubsub, Topic("u/a"), *again);
  ASSERT_TRUE(Publish(*pubsub, Topic("u/a"), "resubscribed").ok());
  ASSERT_TRUE(again->WaitUntil([](const std::vector<Message>& messages) {
    return std::any_of(messages.begin(), messages.end(),
                       [](const Message& m) { return m.data == "resubscribed"; });
  }));
  EXPECT_EQ(ended->Count(), 1u);
}

// ---- redelivery ---------------------------------------------------------------------------

TEST_F(Mqtt3PubSubTest, Mqtt3PubSubFailedDeliveryIsDeliveredAgainInOrder) {
  const std::string topic = Topic("retry");
  auto inbox = Inbox::Make([](const Message& message, int attempt) -> std::optional<Status> {
    if (message.data == "first" && attempt == 1)
      return Status(StatusCode::kUnavailable, "app says retry");
    return Status::Ok();
  });
  auto pubsub = Open(Unique("app"));
  Subscribe(*pubsub, topic, *inbox);
  const auto start = Clock::now();
  ASSERT_TRUE(Publish(*pubsub, topic, "first").ok());
  ASSERT_TRUE(Publish(*pubsub, topic, "second").ok());
  ASSERT_TRUE(inbox->WaitFor(3));
  EXPECT_GE(Clock::now() - start, 90ms);  // backOffInitialInterval
  // The failed one again before the next of its topic; then each once only.
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(inbox->Data(), (std::vector<std::string>{"first", "first", "second"}));
}

TEST_F(Mqtt3PubSubTest, Mqtt3PubSubGivesUpAfterBackOffMaxRetries) {
  const std::string topic = Topic("give-up");
  auto inbox = Inbox::Make([](const Message& message, int) -> std::optional<Status> {
    if (message.data == "poison") return Status(StatusCode::kUnavailable, "always fails");
    return Status::Ok();
  });
  auto pubsub =
      Open(Unique("app"), {{"backOffMaxRetries", "2"}, {"backOffInitialInterval", "50ms"}});
  Subscribe(*pubsub, topic, *inbox);
  ASSERT_TRUE(Publish(*pubsub, topic, "poison").ok());
  ASSERT_TRUE(Publish(*pubsub, topic, "next").ok());
  ASSERT_TRUE(inbox->WaitFor(4));
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(inbox->Data(), (std::vector<std::string>{"poison", "poison", "poison", "next"}));
}

// ---- the concurrency bound ------------------------------------------------------------------

TEST_F(Mqtt3PubSubTest, Mqtt3PubSubBoundsDeliveriesInFlightOnePerTopic) {
  auto inbox = Inbox::Holding();
  auto pubsub = Open(Unique("app"), {{"concurrency", "2"}});
  Subscribe(*pubsub, Topic("c/#"), *inbox);
  for (const char* topic : {"c/a", "c/a", "c/b", "c/c"})
    ASSERT_TRUE(Publish(*pubsub, Topic(topic), topic).ok());
  ASSERT_TRUE(inbox->WaitFor(2));
  std::this_thread::sleep_for(150ms);
  EXPECT_EQ(inbox->Count(), 2u);  // c/a and c/b; c/c waits for a slot, the second c/a for its turn
  EXPECT_EQ(inbox->Topics(), (std::set<std::string>{Topic("c/a"), Topic("c/b")}));
  for (auto& done : inbox->TakeHeld()) done(Status::Ok());
  ASSERT_TRUE(inbox->WaitFor(4));
  for (auto& done : inbox->TakeHeld()) done(Status::Ok());
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(inbox->Count(), 4u);
}

// ---- sessions ---------------------------------------------------------------------------------

// cleanSession=false (the default): the broker keeps the subscriber's session while it is
// away, with the messages of all its subscriptions; each is delivered once the same
// consumerID subscribes again, even a topic subscribed a little after the first.
TEST_F(Mqtt3PubSubTest, Mqtt3PubSubKeptSessionDeliversWhatWasPublishedWhileAway) {
  const std::string consumer = Unique("durable");
  const Properties durable{{"cleanSession", "false"}};
  const std::string orders = Topic("orders");
  const std::string payments = Topic("payments");
  {
    auto inbox = Inbox::Make();
    auto first = Open(consumer, durable);
    Subscribe(*first, orders, *inbox);
    Subscribe(*first, payments, *inbox);
    first->Close();
  }
  auto publisher = Open(Unique("publisher"));
  for (const char* data : {"o1", "o2", "o3"}) ASSERT_TRUE(Publish(*publisher, orders, data).ok());
  ASSERT_TRUE(Publish(*publisher, payments, "p1").ok());

  auto orders_inbox = Inbox::Make();
  auto payments_inbox = Inbox::Make();
  auto second = Open(consumer, durable);
  Subscribe(*second, orders, *orders_inbox);
  ASSERT_TRUE(orders_inbox->WaitFor(3));
  EXPECT_EQ(orders_inbox->Data(), (std::vector<std::string>{"o1", "o2", "o3"}));
  // The session's payments message arrived with the rest; it waited for this Subscribe.
  std::this_thread::sleep_for(100ms);
  Subscribe(*second, payments, *payments_inbox);
  ASSERT_TRUE(payments_inbox->WaitFor(1));
  EXPECT_EQ(payments_inbox->Data(), (std::vector<std::string>{"p1"}));
  // Delivered after publishing too.
  ASSERT_TRUE(Publish(*publisher, orders, "o4").ok());
  ASSERT_TRUE(orders_inbox->WaitFor(4));
  second->Close();
  // Leave nothing behind on the shared broker: a clean connection ends the session.
  Open(consumer)->Close();
}

// What is lost, and what is not, when a component closes with a full queue: the message
// with the handler (m1) may have been acknowledged to the broker already (the library
// sends the ack on its next turn, which depends on timing); the one waiting for room (m2)
// was not, and the rest was never read: they stay with the broker, which delivers them to
// the next session of the consumerID.
TEST_F(Mqtt3PubSubTest, Mqtt3PubSubFullQueueLeavesTheRestWithTheBroker) {
  const std::string consumer = Unique("slow");
  const Properties durable{{"cleanSession", "false"}, {"queueDepth", "1"}, {"concurrency", "1"}};
  const std::string topic = Topic("backlog");
  auto publisher = Open(Unique("publisher"));
  auto held = Inbox::Holding();
  auto first = Open(consumer, durable);
  Subscribe(*first, topic, *held);
  for (const char* data : {"m1", "m2", "m3", "m4", "m5"})
    ASSERT_TRUE(Publish(*publisher, topic, data).ok());
  ASSERT_TRUE(held->WaitFor(1));
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(held->Data(), (std::vector<std::string>{"m1"}));
  first->Close();
  for (auto& done : held->TakeHeld()) done(Status::Ok());

  auto inbox = Inbox::Make();
  auto second = Open(consumer, durable);
  Subscribe(*second, topic, *inbox);
  ASSERT_TRUE(inbox->WaitFor(4));
  std::this_thread::sleep_for(100ms);
  std::vector<std::string> data = inbox->Data();
  if (!data.empty() && data.front() == "m1") data.erase(data.begin());  // acked or not
  EXPECT_EQ(data, (std::vector<std::string>{"m2", "m3", "m4", "m5"}));
  second->Close();
  Open(consumer)->Close();  // end the kept session
}

TEST_F(Mqtt3PubSubTest, Mqtt3PubSubCleanSessionForgetsWhatWasPublishedWhileAway) {
  const std::string consumer = Unique("fresh");
  const std::string topic = Topic("t");
  {
    auto inbox = Inbox::Make();
    auto first = Open(consumer);
    Subscribe(*first, topic, *inbox);
  }
  auto publisher = Open(Unique("publisher"));
  ASSERT_TRUE(Publish(*publisher, topic, "while away").ok());
  auto inbox = Inbox::Make();
  auto second = Open(consumer);
  Subscribe(*second, topic, *inbox);
  ASSERT_TRUE(Publish(*publisher, topic, "after").ok());
  ASSERT_TRUE(inbox->WaitFor(1));
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(inbox->Data(), (std::vector<std::string>{"after"}));
}

// ---- Close ------------------------------------------------------------------------------------

TEST_F(Mqtt3PubSubTest, Mqtt3PubSubCloseStopsDeliveriesPromptly) {
  const std::string topic = Topic("close");
  auto inbox = Inbox::Make();
  auto held = Inbox::Holding();
  auto pubsub = Open(Unique("app"));
  Subscribe(*pubsub, topic, *inbox);
  Subscribe(*pubsub, Topic("held"), *held);
  ASSERT_TRUE(Publish(*pubsub, topic, "before").ok());
  ASSERT_TRUE(Publish(*pubsub, Topic("held"), "held").ok());
  ASSERT_TRUE(inbox->WaitFor(1));
  ASSERT_TRUE(held->WaitFor(1));
  const auto start = Clock::now();
  pubsub->Close();
  EXPECT_LT(Clock::now() - start, 500ms);
  EXPECT_EQ(Publish(*pubsub, topic, "x").code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(pubsub->Subscribe({Topic("other"), {}}, inbox->Handler()).code(),
            StatusCode::kFailedPrecondition);
  auto publisher = Open(Unique("publisher"));
  ASSERT_TRUE(Publish(*publisher, topic, "after").ok());
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(inbox->Count(), 1u);
  for (auto& done : held->TakeHeld()) done(Status::Ok());  // an answer after Close is harmless
  pubsub.reset();
}

// ---- no broker ----------------------------------------------------------------------------

TEST(Mqtt3PubSubInit, Mqtt3PubSubUnreachableBrokerFailsFast) {
  const std::string address = "127.0.0.1:" + std::to_string(FreePort());
  const auto start = Clock::now();
  MqttPubSub pubsub;
  Status status = pubsub.Init(MetadataFor(address, "app"));
  EXPECT_EQ(status.code(), StatusCode::kUnavailable) << status.message();
  EXPECT_NE(status.message().find(address), std::string::npos) << status.message();
  EXPECT_LT(Clock::now() - start, 2s);
  EXPECT_EQ(Publish(pubsub, "t", "x").code(), StatusCode::kFailedPrecondition);
}

TEST(Mqtt3PubSubInit, Mqtt3PubSubParsesUrlsAndDefaults) {
  auto parsed = ParseMqttPubSubOptions(
      ComponentMetadata("p", "pubsub.mqtt3", {{"url", "tcp://broker"}, {"consumerID", "app"}}));
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  EXPECT_EQ(parsed->host, "broker");
  EXPECT_EQ(parsed->port, 1883);
  EXPECT_EQ(parsed->username, "");
  EXPECT_EQ(parsed->consumer_id, "app");
  EXPECT_EQ(parsed->ProducerId(), "app-producer");
  EXPECT_EQ(parsed->qos, 1);
  EXPECT_FALSE(parsed->retain);
  EXPECT_FALSE(parsed->clean_session);
  EXPECT_EQ(parsed->max_retries, 0);
  EXPECT_EQ(parsed->backoff_initial, 1s);
  EXPECT_EQ(parsed->backoff_max, 30s);
  EXPECT_EQ(parsed->concurrency, 10u);
  EXPECT_EQ(parsed->queue_depth, 100u);

  parsed = ParseMqttPubSubOptions(
      ComponentMetadata("p", "pubsub.mqtt3",
                        {{"URL", "MQTT://us%65r:p%40ss:word@[::1]:1884/ignored?x=y"},
                         {"consumerid", "app"},
                         {"qos", "2"},
                         {"retain", "true"},
                         {"cleanSession", "true"},
                         {"backOffMaxRetries", "-1"},
                         {"backOffInitialInterval", "250ms"},
                         {"backOffMaxInterval", "5s"},
                         {"concurrency", "3"},
                         {"queueDepth", "7"}}));
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  EXPECT_EQ(parsed->host, "::1");
  EXPECT_EQ(parsed->port, 1884);
  EXPECT_EQ(parsed->Address(), "[::1]:1884");
  EXPECT_EQ(parsed->username, "user");
  EXPECT_EQ(parsed->password, "p@ss:word");
  EXPECT_EQ(parsed->qos, 2);
  EXPECT_TRUE(parsed->retain);
  EXPECT_TRUE(parsed->clean_session);
  EXPECT_EQ(parsed->max_retries, -1);
  EXPECT_EQ(parsed->backoff_initial, 250ms);
  EXPECT_EQ(parsed->backoff_max, 5s);
  EXPECT_EQ(parsed->concurrency, 3u);
  EXPECT_EQ(parsed->queue_depth, 7u);
}

TEST(Mqtt3PubSubInit, Mqtt3PubSubBadMetadataNamesTheKey) {
  struct Case {
    Properties properties;
    std::string key;
  };
  const std::vector<Case> cases = {
      {{{"consumerID", "app"}}, "url"},
      {{{"url", "localhost:1883"}, {"consumerID", "app"}}, "url"},
      {{{"url", "ws://localhost"}, {"consumerID", "app"}}, "url"},
      {{{"url", "ssl://localhost:8883"}, {"consumerID", "app"}}, "TLS"},
      {{{"url", "mqtts://localhost"}, {"consumerID", "app"}}, "TLS"},
      {{{"url", "tcp://"}, {"consumerID", "app"}}, "url"},
      {{{"url", "tcp://host:0"}, {"consumerID", "app"}}, "url"},
      {{{"url", "tcp://host:port"}, {"consumerID", "app"}}, "url"},
      {{{"url", "tcp://host:"}, {"consumerID", "app"}}, "url"},
      {{{"url", "tcp://::1:1883"}, {"consumerID", "app"}}, "url"},
      {{{"url", "tcp://[::1"}, {"consumerID", "app"}}, "url"},
      {{{"url", "tcp://u:p%zz@host"}, {"consumerID", "app"}}, "url"},
      {{{"url", "tcp://host"}}, "consumerID"},
      {{{"url", "tcp://host"}, {"consumerID", ""}}, "consumerID"},
      {{{"url", "tcp://host"}, {"consumerID", "app"}, {"qos", "3"}}, "qos"},
      {{{"url", "tcp://host"}, {"consumerID", "app"}, {"qos", "one"}}, "qos"},
      {{{"url", "tcp://host"}, {"consumerID", "app"}, {"retain", "maybe"}}, "retain"},
      {{{"url", "tcp://host"}, {"consumerID", "app"}, {"cleanSession", "2"}}, "cleanSession"},
      {{{"url", "tcp://host"}, {"consumerID", "app"}, {"backOffMaxRetries", "-2"}},
       "backOffMaxRetries"},
      {{{"url", "tcp://host"}, {"consumerID", "app"}, {"backOffInitialInterval", "0"}},
       "backOffInitialInterval"},
      {{{"url", "tcp://host"}, {"consumerID", "app"}, {"backOffMaxInterval", "1ms"}},
       "backOffMaxInterval"},
      {{{"url", "tcp://host"}, {"consumerID", "app"}, {"concurrency", "0"}}, "concurrency"},
      {{{"url", "tcp://host"}, {"consumerID", "app"}, {"queueDepth", "0"}}, "queueDepth"},
      {{{"url", "tcp://host"}, {"consumerID", "app"}, {"caCert", "-----BEGIN CERTIFICATE-----"}},
       "caCert"},
      {{{"url", "tcp://host"}, {"consumerID", "app"}, {"clientKey", "key"}}, "clientKey"},
  };
  for (const auto& c : cases) {
    auto parsed = ParseMqttPubSubOptions(ComponentMetadata("p", "pubsub.mqtt3", c.properties));
    ASSERT_FALSE(parsed.ok()) << c.key;
    EXPECT_NE(parsed.error().message().find(c.key), std::string::npos) << parsed.error().message();
    MqttPubSub pubsub;  // Init refuses the same, before any connection
    EXPECT_FALSE(pubsub.Init(ComponentMetadata("p", "pubsub.mqtt3", c.properties)).ok()) << c.key;
  }
  // The password is never quoted.
  auto parsed = ParseMqttPubSubOptions(ComponentMetadata(
      "p", "pubsub.mqtt3", {{"url", "tcp://user:topsecret@host:99999"}, {"consumerID", "a"}}));
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.error().message().find("topsecret"), std::string::npos)
      << parsed.error().message();
}

TEST(Mqtt3PubSubInit, Mqtt3PubSubRefusesBadFiltersWithoutABroker) {
  MqttPubSub pubsub;
  auto inbox = Inbox::Make();
  EXPECT_EQ(pubsub.Subscribe({"a/#/b", {}}, inbox->Handler()).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(pubsub.Subscribe({"a+", {}}, inbox->Handler()).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(pubsub.Subscribe({"a/b", {}}, inbox->Handler()).code(),
            StatusCode::kFailedPrecondition);
}

// ---- a broker killed or restarted under the component --------------------------------------

// A mosquitto child on a fixed free port, with persistence in a directory of its own, that
// the test can kill, stop and start again.
class Broker {
 public:
  Broker() : port_(FreePort()) {
    std::string pattern = (std::filesystem::temp_directory_path() / "mqtt3-test-XXXXXX").string();
    if (mkdtemp(pattern.data()) != nullptr) dir_ = pattern;
  }
  ~Broker() {
    Kill();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

  bool Start() {
    if (dir_.empty()) return false;
    const std::string config = dir_ + "/mosquitto.conf";
    {
      std::ofstream out(config);
      out << "listener " << port_ << " 127.0.0.1\n"
          << "allow_anonymous true\n"
          << "persistence true\n"
          << "persistence_location " << dir_ << "/\n"
          << "log_dest none\n";
      if (geteuid() == 0) out << "user root\n";  // or it drops privileges and cannot write
    }
    pid_ = fork();
    if (pid_ == 0) {
      int null_fd = open("/dev/null", O_WRONLY);
      dup2(null_fd, STDOUT_FILENO);
      dup2(null_fd, STDERR_FILENO);
      execlp("mosquitto", "mosquitto", "-c", config.c_str(), static_cast<char*>(nullptr));
      execl("/usr/sbin/mosquitto", "mosquitto", "-c", config.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    return pid_ > 0 && WaitUntilUp();
  }

  void Kill() { Signal(SIGKILL); }
  void Terminate() { Signal(SIGTERM); }  // saves its persistence file on the way out

 private:
  void Signal(int signal) {
    if (pid_ <= 0) return;
    kill(pid_, signal);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

  bool WaitUntilUp() {
    for (auto deadline = Clock::now() + 5s; Clock::now() < deadline;) {
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) {  // exited: not installed, port taken
        pid_ = -1;
        return false;
      }
      int fd = socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in address{};
      address.sin_family = AF_INET;
      address.sin_port = htons(static_cast<uint16_t>(port_));
      address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      const bool up = connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
      close(fd);
      if (up) return true;
      std::this_thread::sleep_for(10ms);
    }
    return false;
  }

  int port_;
  std::string dir_;
  pid_t pid_ = -1;
};

TEST(Mqtt3PubSubBroker, Mqtt3PubSubPublishToADeadBrokerFailsQuickly) {
  if (!SharedBrokerAddress()) GTEST_SKIP() << "DAPR_TEST_MQTT_ADDR is not set";
  Broker broker;
  if (!broker.Start()) GTEST_SKIP() << "could not start mosquitto";
  MqttPubSub pubsub;
  ASSERT_TRUE(pubsub.Init(MetadataFor(broker.address(), "app")).ok());
  ASSERT_TRUE(Publish(pubsub, "t", "up").ok());
  broker.Kill();
  for (int i = 0; i < 3; ++i) {
    const auto start = Clock::now();
    Status status = Publish(pubsub, "t", "down");
    EXPECT_FALSE(status.ok());
    EXPECT_LT(Clock::now() - start, 11s);  // never more than the ack timeout, in fact at once
    EXPECT_LT(Clock::now() - start, 1s);
  }
  const auto start = Clock::now();
  pubsub.Close();
  EXPECT_LT(Clock::now() - start, 1s);
}

TEST(Mqtt3PubSubBroker, Mqtt3PubSubSubscriberReconnectsAfterTheBrokerRestarts) {
  if (!SharedBrokerAddress()) GTEST_SKIP() << "DAPR_TEST_MQTT_ADDR is not set";
  Broker broker;
  if (!broker.Start()) GTEST_SKIP() << "could not start mosquitto";
  auto inbox = Inbox::Make();
  MqttPubSub subscriber;
  MqttPubSub publisher;
  ASSERT_TRUE(subscriber.Init(MetadataFor(broker.address(), "sub")).ok());
  ASSERT_TRUE(publisher.Init(MetadataFor(broker.address(), "pub")).ok());
  Subscribe(subscriber, "orders/#", *inbox);
  ASSERT_TRUE(Publish(publisher, "orders/1", "before").ok());
  ASSERT_TRUE(inbox->WaitFor(1));

  broker.Terminate();
  ASSERT_TRUE(broker.Start());
  // The publisher reconnects too: publish until it is back.
  Status status;
  for (auto deadline = Clock::now() + 5s; Clock::now() < deadline;) {
    status = Publish(publisher, "orders/2", "after");
    if (status.ok()) break;
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_TRUE(status.ok()) << status.message();
  ASSERT_TRUE(inbox->WaitFor(2, 5s));
  EXPECT_EQ(inbox->Data(), (std::vector<std::string>{"before", "after"}));
  EXPECT_EQ(inbox->Messages()[1].topic, "orders/2");
}

// A broker that lost everything (killed, no persistence file written): the component
// subscribes again by itself after reconnecting.
TEST(Mqtt3PubSubBroker, Mqtt3PubSubSubscribesAgainAfterTheBrokerForgotTheSession) {
  if (!SharedBrokerAddress()) GTEST_SKIP() << "DAPR_TEST_MQTT_ADDR is not set";
  Broker broker;
  if (!broker.Start()) GTEST_SKIP() << "could not start mosquitto";
  auto inbox = Inbox::Make();
  MqttPubSub subscriber;
  MqttPubSub publisher;
  ASSERT_TRUE(subscriber.Init(MetadataFor(broker.address(), "sub")).ok());
  ASSERT_TRUE(publisher.Init(MetadataFor(broker.address(), "pub")).ok());
  Subscribe(subscriber, "a", *inbox);
  Subscribe(subscriber, "b/+", *inbox);
  broker.Kill();
  ASSERT_TRUE(broker.Start());
  Status status;
  for (auto deadline = Clock::now() + 5s; Clock::now() < deadline;) {
    status = Publish(publisher, "a", "probe");
    if (status.ok() && inbox->WaitFor(1, 100ms)) break;
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_TRUE(inbox->WaitFor(1)) << status.message();
  ASSERT_TRUE(Publish(publisher, "b/x", "wildcard").ok());
  EXPECT_TRUE(inbox->WaitUntil([](const std::vector<Message>& messages) {
    return std::any_of(messages.begin(), messages.end(),
                       [](const Message& m) { return m.topic == "b/x"; });
  }));
  EXPECT_EQ(inbox->Topics(), (std::set<std::string>{"a", "b/x"}));
}

}  // namespace
}  // namespace dapr::components::pubsub
