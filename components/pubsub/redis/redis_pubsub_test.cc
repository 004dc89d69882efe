// Tests of pubsub.redis against a real Redis: the shared one at DAPR_TEST_REDIS_ADDR (each
// test on topics of its own), and, to restart Redis under a subscriber, a redis-server the
// test starts itself. Metadata parsing and an unreachable host need no Redis.
#include "components/pubsub/redis/redis_pubsub.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <thread>

namespace dapr::components::pubsub {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using ::dapr::pubsub::DeliveryDone;
using ::dapr::pubsub::Message;
using ::dapr::pubsub::MessageHandler;
using ::dapr::pubsub::PublishRequest;
using ::dapr::pubsub::SubscribeRequest;
using state::RedisArgs;
using state::RedisConnection;
using state::ReplyPtr;

std::optional<std::string> SharedRedisAddress() {
  const char* address = std::getenv("DAPR_TEST_REDIS_ADDR");
  if (address == nullptr || *address == '\0') return std::nullopt;
  return std::string(address);
}

std::string UniqueName(const std::string& prefix) {
  static std::mt19937_64 random{std::random_device{}()};
  static std::mutex mutex;
  std::lock_guard lock(mutex);
  return prefix + "-" + std::to_string(random() % 1000000000);
}

ComponentMetadata PubSubMetadata(const std::string& address, const std::string& group,
                                 ComponentMetadata::Properties extra = {}) {
  ComponentMetadata::Properties properties = {{"redisHost", address}, {"consumerID", group}};
  for (auto& [key, value] : extra) properties[key] = value;
  return ComponentMetadata("pubsub", "pubsub.redis", std::move(properties));
}

// A command on a connection of its own, to look at (or meddle with) what the component does.
ReplyPtr Raw(const std::string& address, const RedisArgs& args) {
  state::RedisConnectOptions options;
  const size_t colon = address.rfind(':');
  options.host = address.substr(0, colon);
  options.port = std::stoi(address.substr(colon + 1));
  auto connection = RedisConnection::Open(options);
  if (!connection.ok()) {
    ADD_FAILURE() << connection.error().message();
    return nullptr;
  }
  auto reply = (*connection)->Command(args);
  if (!reply.ok()) {
    ADD_FAILURE() << reply.error().message();
    return nullptr;
  }
  return std::move(reply).value();
}

long long Integer(const ReplyPtr& reply) { return reply ? reply->integer : -1; }

// Entries pending in the group (XPENDING summary: count first).
long long PendingCount(const std::string& address, const std::string& topic, const std::string& group) {
  ReplyPtr reply = Raw(address, {"XPENDING", topic, group});
  if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements == 0) return -1;
  return reply->element[0]->integer;
}

// Records every delivery. `answer` decides each one: a Status answers at once, nullopt
// holds the done for the test to answer later (a slow or hung app).
class Inbox {
 public:
  using Answer = std::function<std::optional<Status>(const Message&, int attempt)>;

  explicit Inbox(Answer answer = [](const Message&, int) { return Status::Ok(); })
      : answer_(std::move(answer)) {}

  MessageHandler Handler() {
    return [this](Message message, DeliveryDone done) { Receive(std::move(message), std::move(done)); };
  }

  bool WaitForCount(size_t count, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return messages_.size() >= count; });
  }

  // The data of each delivery, in the order the handler saw them.
  std::vector<std::string> Data() {
    std::lock_guard lock(mutex_);
    std::vector<std::string> out;
    for (const auto& message : messages_) out.push_back(message.data);
    return out;
  }
  std::vector<Message> Messages() {
    std::lock_guard lock(mutex_);
    return messages_;
  }
  size_t Count() {
    std::lock_guard lock(mutex_);
    return messages_.size();
  }
  size_t InFlight() {
    std::lock_guard lock(mutex_);
    return in_flight_;
  }
  size_t MaxInFlight() {
    std::lock_guard lock(mutex_);
    return max_in_flight_;
  }

  // Answers the oldest held delivery; false when none is held.
  bool ReleaseOne(Status status) {
    DeliveryDone done;
    {
      std::lock_guard lock(mutex_);
      if (held_.empty()) return false;
      done = std::move(held_.front());
      held_.pop_front();
      --in_flight_;
    }
    done(status);
    return true;
  }
  void ReleaseAll(Status status) {
    while (ReleaseOne(status)) {
    }
  }

 private:
  void Receive(Message message, DeliveryDone done) {
    std::optional<Status> status;
    {
      std::lock_guard lock(mutex_);
      const int attempt = ++attempts_[message.data];
      status = answer_(message, attempt);
      messages_.push_back(std::move(message));
      max_in_flight_ = std::max(max_in_flight_, ++in_flight_);
      if (!status) held_.push_back(std::move(done));
      if (status) --in_flight_;
    }
    changed_.notify_all();
    if (status) done(*status);
  }

  Answer answer_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<Message> messages_;
  std::map<std::string, int> attempts_;
  std::deque<DeliveryDone> held_;
  size_t in_flight_ = 0;
  size_t max_in_flight_ = 0;
};

Inbox::Answer HoldAll() {
  return [](const Message&, int) -> std::optional<Status> { return std::nullopt; };
}

class RedisPubSubTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto address = SharedRedisAddress();
    if (!address) GTEST_SKIP() << "DAPR_TEST_REDIS_ADDR is not set (host:port of a Redis)";
    address_ = *address;
  }

  void TearDown() override {
    for (const auto& topic : topics_) Raw(address_, {"DEL", topic});
  }

  std::string Topic(const std::string& name) {
    topics_.push_back(UniqueName("dapr-cpp-test-" + name));
    return topics_.back();
  }

  std::unique_ptr<RedisPubSub> Open(const std::string& group, ComponentMetadata::Properties extra = {}) {
    auto pubsub = std::make_unique<RedisPubSub>();
    Status status = pubsub->Init(PubSubMetadata(address_, group, std::move(extra)));
    EXPECT_TRUE(status.ok()) << status.message();
    return pubsub;
  }

  static Status Publish(RedisPubSub& pubsub, const std::string& topic, const std::string& data,
                        const std::string& content_type = "", ::dapr::pubsub::Metadata metadata = {}) {
    return pubsub.Publish(PublishRequest{topic, data, content_type, std::move(metadata)});
  }

  static void Subscribe(RedisPubSub& pubsub, const std::string& topic, Inbox& inbox) {
    Status status = pubsub.Subscribe(SubscribeRequest{topic, {}}, inbox.Handler());
    ASSERT_TRUE(status.ok()) << status.message();
  }

  std::string address_;
  std::vector<std::string> topics_;
};

// Fast redelivery, so that the redelivery tests take a fraction of a second.
const ComponentMetadata::Properties kQuickRedelivery = {{"processingTimeout", "200ms"},
                                                        {"redeliverInterval", "100ms"}};

TEST_F(RedisPubSubTest, RedisPubSubPublishIsDeliveredWithContentTypeAndMetadata) {
  const std::string topic = Topic("deliver");
  Inbox inbox;
  auto pubsub = Open("app");
  Subscribe(*pubsub, topic, inbox);
  const std::string data = std::string("{\"id\":1}\0binary", 15);
  ASSERT_TRUE(Publish(*pubsub, topic, data, "application/json", {{"traceid", "abc"}}).ok());
  ASSERT_TRUE(inbox.WaitForCount(1, 2s));
  Message message = inbox.Messages()[0];
  EXPECT_EQ(message.topic, topic);
  EXPECT_EQ(message.data, data);
  EXPECT_EQ(message.content_type, "application/json");
  EXPECT_EQ(message.metadata, (::dapr::pubsub::Metadata{{"traceid", "abc"}}));
  // Acked: nothing left pending.
  for (auto deadline = Clock::now() + 1s; Clock::now() < deadline && PendingCount(address_, topic, "app") != 0;) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(PendingCount(address_, topic, "app"), 0);
}

// Dapr's layout both ways: an entry Dapr wrote reads, and ours has Dapr's fields.
TEST_F(RedisPubSubTest, RedisPubSubStreamLayoutIsDapr) {
  const std::string topic = Topic("layout");
  Inbox inbox;
  auto pubsub = Open("app");
  Subscribe(*pubsub, topic, inbox);
  Raw(address_, {"XADD", topic, "*", "data", "from-dapr", "metadata", "{\"k\":\"v\"}"});
  ASSERT_TRUE(inbox.WaitForCount(1, 2s));
  EXPECT_EQ(inbox.Messages()[0].data, "from-dapr");
  EXPECT_EQ(inbox.Messages()[0].metadata.at("k"), "v");

  ASSERT_TRUE(Publish(*pubsub, topic, "ours", "", {{"a", "b"}}).ok());
  ReplyPtr last = Raw(address_, {"XREVRANGE", topic, "+", "-", "COUNT", "1"});
  ASSERT_TRUE(last && last->elements == 1);
  const redisReply* fields = last->element[0]->element[1];
  std::map<std::string, std::string> stored;
  for (size_t i = 0; i + 1 < fields->elements; i += 2) {
    stored[std::string(fields->element[i]->str, fields->element[i]->len)] =
        std::string(fields->element[i + 1]->str, fields->element[i + 1]->len);
  }
  EXPECT_EQ(stored["data"], "ours");
  EXPECT_EQ(stored["metadata"], "{\"a\":\"b\"}");
}

TEST_F(RedisPubSubTest, RedisPubSubDeliversInPublishOrder) {
  const std::string topic = Topic("order");
  Inbox inbox;
  auto pubsub = Open("app", {{"concurrency", "1"}});
  Subscribe(*pubsub, topic, inbox);
  std::vector<std::string> sent;
  for (int i = 0; i < 50; ++i) {
    sent.push_back("m" + std::to_string(i));
    ASSERT_TRUE(Publish(*pubsub, topic, sent.back()).ok());
  }
  ASSERT_TRUE(inbox.WaitForCount(50, 3s));
  EXPECT_EQ(inbox.Data(), sent);
}

TEST_F(RedisPubSubTest, RedisPubSubTwoConsumerGroupsEachGetEveryMessage) {
  const std::string topic = Topic("groups");
  Inbox orders, audit;
  auto first = Open("orders");
  auto second = Open("audit");
  Subscribe(*first, topic, orders);
  Subscribe(*second, topic, audit);
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(Publish(*first, topic, std::to_string(i)).ok());
  ASSERT_TRUE(orders.WaitForCount(20, 2s));
  ASSERT_TRUE(audit.WaitForCount(20, 2s));
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(orders.Count(), 20u);
  EXPECT_EQ(audit.Count(), 20u);
}

TEST_F(RedisPubSubTest, RedisPubSubInstancesOfOneGroupShareTheMessages) {
  const std::string topic = Topic("share");
  Inbox a, b;
  auto first = Open("app");
  auto second = Open("app");
  EXPECT_NE(first->consumer_name(), second->consumer_name());
  Subscribe(*first, topic, a);
  Subscribe(*second, topic, b);
  std::set<std::string> sent;
  for (int i = 0; i < 60; ++i) {
    sent.insert(std::to_string(i));
    ASSERT_TRUE(Publish(*first, topic, std::to_string(i)).ok());
    std::this_thread::sleep_for(2ms);  // let both readers take turns
  }
  for (auto deadline = Clock::now() + 2s; Clock::now() < deadline && a.Count() + b.Count() < 60;) {
    std::this_thread::sleep_for(10ms);
  }
  std::this_thread::sleep_for(100ms);
  auto got_a = a.Data(), got_b = b.Data();
  std::multiset<std::string> all(got_a.begin(), got_a.end());
  all.insert(got_b.begin(), got_b.end());
  EXPECT_EQ(all.size(), 60u);  // no duplicates...
  EXPECT_EQ(std::set<std::string>(all.begin(), all.end()), sent);  // ...and none missing
  EXPECT_GT(got_a.size(), 0u);
  EXPECT_GT(got_b.size(), 0u);
}

TEST_F(RedisPubSubTest, RedisPubSubFailedDeliveryIsRedelivered) {
  const std::string topic = Topic("retry");
  Inbox inbox([](const Message&, int attempt) -> std::optional<Status> {
    if (attempt == 1) return Unavailable("the app failed");
    return Status::Ok();
  });
  auto pubsub = Open("app", kQuickRedelivery);
  Subscribe(*pubsub, topic, inbox);
  const auto start = Clock::now();
  ASSERT_TRUE(Publish(*pubsub, topic, "again").ok());
  ASSERT_TRUE(inbox.WaitForCount(2, 2s));
  EXPECT_GE(Clock::now() - start, 150ms);  // after processingTimeout, not at once
  EXPECT_EQ(inbox.Data(), (std::vector<std::string>{"again", "again"}));
  std::this_thread::sleep_for(400ms);  // acked the second time: no third delivery
  EXPECT_EQ(inbox.Count(), 2u);
  EXPECT_EQ(PendingCount(address_, topic, "app"), 0);
}

TEST_F(RedisPubSubTest, RedisPubSubRedeliveryDisabledLeavesTheMessagePending) {
  const std::string topic = Topic("noretry");
  Inbox inbox([](const Message&, int) -> std::optional<Status> { return Unavailable("no"); });
  auto pubsub = Open("app", {{"processingTimeout", "100ms"}, {"redeliverInterval", "0"}});
  Subscribe(*pubsub, topic, inbox);
  ASSERT_TRUE(Publish(*pubsub, topic, "once").ok());
  ASSERT_TRUE(inbox.WaitForCount(1, 2s));
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(inbox.Count(), 1u);
  EXPECT_EQ(PendingCount(address_, topic, "app"), 1);
}

// An instance that took a message and went away without answering: another instance
// of the app gets it once it has been pending for processingTimeout.
TEST_F(RedisPubSubTest, RedisPubSubUnansweredMessageGoesToAnotherInstance) {
  const std::string topic = Topic("takeover");
  Inbox hung(HoldAll()), healthy;
  auto first = Open("app", kQuickRedelivery);
  Subscribe(*first, topic, hung);
  ASSERT_TRUE(Publish(*first, topic, "orphan").ok());
  ASSERT_TRUE(hung.WaitForCount(1, 2s));
  auto second = Open("app", kQuickRedelivery);
  Subscribe(*second, topic, healthy);
  ASSERT_TRUE(healthy.WaitForCount(1, 2s));
  EXPECT_EQ(healthy.Data(), std::vector<std::string>{"orphan"});
  // The first instance, still alive, holds on to its delivery and never claims it back.
  EXPECT_EQ(hung.Count(), 1u);
  first->Close();
  hung.ReleaseAll(Status::Ok());  // a done after Close: must not crash
}

TEST_F(RedisPubSubTest, RedisPubSubConcurrencyBoundsDeliveriesInFlight) {
  const std::string topic = Topic("concurrency");
  Inbox inbox(HoldAll());
  auto pubsub = Open("app", {{"concurrency", "3"}});
  Subscribe(*pubsub, topic, inbox);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(Publish(*pubsub, topic, std::to_string(i)).ok());
  ASSERT_TRUE(inbox.WaitForCount(3, 2s));
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(inbox.Count(), 3u);
  EXPECT_EQ(inbox.InFlight(), 3u);
  for (size_t delivered = 3; delivered < 10; ++delivered) {
    ASSERT_TRUE(inbox.ReleaseOne(Status::Ok()));
    ASSERT_TRUE(inbox.WaitForCount(delivered + 1, 2s));
  }
  inbox.ReleaseAll(Status::Ok());
  EXPECT_EQ(inbox.Count(), 10u);
  EXPECT_EQ(inbox.MaxInFlight(), 3u);
}

TEST_F(RedisPubSubTest, RedisPubSubMaxLenApproxTrimsTheStream) {
  const std::string topic = Topic("maxlen");
  auto pubsub = Open("app", {{"maxLenApprox", "10"}});
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(Publish(*pubsub, topic, std::to_string(i)).ok());
  // "~" trims whole macro nodes (100 entries by default), so the length stays near 10.
  const long long length = Integer(Raw(address_, {"XLEN", topic}));
  EXPECT_GE(length, 10);
  EXPECT_LE(length, 200);
}

TEST_F(RedisPubSubTest, RedisPubSubStreamTtlTrimsOldEntries) {
  const std::string topic = Topic("ttl");
  // Entries far in the past, as though published long ago.
  for (int i = 1; i <= 300; ++i) Raw(address_, {"XADD", topic, std::to_string(i) + "-1", "data", "old"});
  auto pubsub = Open("app", {{"streamTTL", "1h"}});
  ASSERT_TRUE(Publish(*pubsub, topic, "new").ok());
  EXPECT_LT(Integer(Raw(address_, {"XLEN", topic})), 301);
}

TEST_F(RedisPubSubTest, RedisPubSubCloseIsPromptAndFinal) {
  Inbox inbox(HoldAll());
  auto pubsub = Open("app");
  std::vector<std::string> topics = {Topic("close1"), Topic("close2"), Topic("close3")};
  for (const auto& topic : topics) Subscribe(*pubsub, topic, inbox);
  ASSERT_TRUE(Publish(*pubsub, topics[0], "held").ok());
  ASSERT_TRUE(inbox.WaitForCount(1, 2s));
  const auto start = Clock::now();
  pubsub->Close();
  EXPECT_LT(Clock::now() - start, 1500ms);
  // No delivery after Close, a publish is refused, and a late done is harmless.
  for (const auto& topic : topics) Raw(address_, {"XADD", topic, "*", "data", "late"});
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(inbox.Count(), 1u);
  EXPECT_FALSE(Publish(*pubsub, topics[0], "refused").ok());
  EXPECT_FALSE(pubsub->Subscribe(SubscribeRequest{topics[0], {}}, inbox.Handler()).ok());
  inbox.ReleaseAll(Status::Ok());
  pubsub.reset();
}

TEST_F(RedisPubSubTest, RedisPubSubCloseForgetsAnIdleConsumer) {
  const std::string topic = Topic("forget");
  Inbox inbox;
  auto pubsub = Open("app");
  Subscribe(*pubsub, topic, inbox);
  ASSERT_TRUE(Publish(*pubsub, topic, "x").ok());
  ASSERT_TRUE(inbox.WaitForCount(1, 2s));
  std::this_thread::sleep_for(50ms);  // the ack
  pubsub->Close();
  ReplyPtr consumers = Raw(address_, {"XINFO", "CONSUMERS", topic, "app"});
  ASSERT_TRUE(consumers && consumers->type == REDIS_REPLY_ARRAY);
  EXPECT_EQ(consumers->elements, 0u);
}

// The stream (and its group) deleted under a subscriber: the reader creates the group
// again and goes on.
TEST_F(RedisPubSubTest, RedisPubSubRecreatesAVanishedGroup) {
  const std::string topic = Topic("vanish");
  Inbox inbox;
  auto pubsub = Open("app");
  Subscribe(*pubsub, topic, inbox);
  ASSERT_TRUE(Publish(*pubsub, topic, "before").ok());
  ASSERT_TRUE(inbox.WaitForCount(1, 2s));
  Raw(address_, {"DEL", topic});
  std::this_thread::sleep_for(100ms);
  ASSERT_TRUE(Publish(*pubsub, topic, "after").ok());
  ASSERT_TRUE(inbox.WaitForCount(2, 2500ms));
  EXPECT_EQ(inbox.Data(), (std::vector<std::string>{"before", "after"}));
}

// Workers publish at once over the pool of connections.
TEST_F(RedisPubSubTest, RedisPubSubConcurrentPublishesAllLand) {
  const std::string topic = Topic("parallel");
  auto pubsub = Open("app", {{"poolSize", "4"}});
  std::atomic<int> failures{0};
  std::vector<std::thread> workers;
  for (int w = 0; w < 8; ++w) {
    workers.emplace_back([&, w] {
      for (int i = 0; i < 100; ++i) {
        if (!Publish(*pubsub, topic, std::to_string(w) + "/" + std::to_string(i)).ok()) ++failures;
      }
    });
  }
  for (auto& worker : workers) worker.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(Integer(Raw(address_, {"XLEN", topic})), 800);
}

// On the sidecar's event loop: publishes go out as XADD without blocking, in order, to the
// topic's own stream, and a delivered message is acked (XACK) from the loop as well.
TEST_F(RedisPubSubTest, RedisPubSubOnTheLoopPublishesAndAcksWithoutBlocking) {
  const std::string topic = Topic("loop");
  boost::asio::io_context loop;
  auto work = boost::asio::make_work_guard(loop);
  std::thread runner([&] { loop.run(); });
  auto pubsub = std::make_unique<RedisPubSub>();
  ASSERT_TRUE(pubsub->AttachEventLoop(loop));
  ASSERT_TRUE(pubsub->Init(PubSubMetadata(address_, "app", {})).ok());
  ASSERT_TRUE(pubsub->SupportsAsyncPublish());
  ASSERT_TRUE(pubsub->AcksWithoutBlocking());
  Inbox inbox;
  Subscribe(*pubsub, topic, inbox);

  std::promise<std::vector<Status>> published;
  auto statuses = std::make_shared<std::vector<Status>>();
  boost::asio::post(loop, [&, statuses] {
    for (int i = 0; i < 20; ++i) {
      pubsub->PublishAsync(PublishRequest{topic, "m" + std::to_string(i), "text/plain", {}},
                           [&, statuses](Status status) {
                             statuses->push_back(status);
                             if (statuses->size() == 20) published.set_value(*statuses);
                           });
    }
  });
  auto future = published.get_future();
  ASSERT_EQ(future.wait_for(3s), std::future_status::ready);
  for (const auto& status : future.get()) EXPECT_TRUE(status.ok()) << status.message();
  EXPECT_EQ(Integer(Raw(address_, {"XLEN", topic})), 20);
  ASSERT_TRUE(inbox.WaitForCount(20, 3s));
  EXPECT_EQ(inbox.Messages()[0].content_type, "text/plain");
  for (auto deadline = Clock::now() + 2s; Clock::now() < deadline && PendingCount(address_, topic, "app") != 0;) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(PendingCount(address_, topic, "app"), 0);
  pubsub->Close();
  work.reset();
  loop.stop();
  runner.join();
}

TEST(RedisPubSubFeatures, RedisPubSubReportsNoFeatures) {
  RedisPubSub pubsub;
  auto features = pubsub.GetFeatures();
  EXPECT_FALSE(features.message_ttl);
  EXPECT_FALSE(features.bulk_publish);
  EXPECT_FALSE(features.subscribe_wildcards);
}

// ---- Init errors: no Redis needed ---------------------------------------------------------

Status InitWith(ComponentMetadata::Properties properties) {
  RedisPubSub pubsub;
  return pubsub.Init(ComponentMetadata("pubsub", "pubsub.redis", std::move(properties)));
}

TEST(RedisPubSubInit, RedisPubSubBadMetadataNamesTheKey) {
  const ComponentMetadata::Properties base = {{"redisHost", "127.0.0.1:1"}, {"consumerID", "app"}};
  auto with = [&](std::string key, std::string value) {
    auto properties = base;
    properties[key] = value;
    return InitWith(properties);
  };
  struct Case {
    std::string key, value;
  };
  for (const Case& bad : std::vector<Case>{{"processingTimeout", "soon"},
                                           {"redeliverInterval", "-5s"},
                                           {"queueDepth", "many"},
                                           {"queueDepth", "0"},
                                           {"concurrency", "0"},
                                           {"maxLenApprox", "-1"},
                                           {"redisDB", "x"},
                                           {"dialTimeout", "1parsec"},
                                           {"streamTTL", "forever"},
                                           {"enableTLS", "true"},
                                           {"redisType", "cluster"},
                                           {"redisHost", "localhost:http"},
                                           {"redisHost", "a:1,b:2"}}) {
    Status status = with(bad.key, bad.value);
    EXPECT_FALSE(status.ok()) << bad.key << "=" << bad.value;
    EXPECT_NE(status.message().find(bad.key), std::string::npos) << status.message();
  }
  Status missing = InitWith({{"consumerID", "app"}});
  EXPECT_EQ(missing.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(missing.message().find("redisHost"), std::string::npos) << missing.message();
}

TEST(RedisPubSubInit, RedisPubSubParsesDaprDurationsAndDefaults) {
  auto defaults = ParseRedisPubSubOptions(
      ComponentMetadata("p", "pubsub.redis", {{"redisHost", "redis"}, {"consumerID", "app"}}));
  ASSERT_TRUE(defaults.ok()) << defaults.error().message();
  EXPECT_EQ(defaults->connect.port, 6379);
  EXPECT_EQ(defaults->processing_timeout, 60s);
  EXPECT_EQ(defaults->redeliver_interval, 15s);
  EXPECT_EQ(defaults->queue_depth, 100u);
  EXPECT_EQ(defaults->concurrency, 10u);
  auto custom = ParseRedisPubSubOptions(ComponentMetadata(
      "p", "pubsub.redis",
      {{"redisHost", "[::1]:7000"}, {"consumerID", "app"}, {"processingTimeout", "5000"},
       {"redeliverInterval", "30s"}, {"readTimeout", "250"}, {"streamTTL", "10"}}));
  ASSERT_TRUE(custom.ok()) << custom.error().message();
  EXPECT_EQ(custom->connect.host, "::1");
  EXPECT_EQ(custom->connect.port, 7000);
  EXPECT_EQ(custom->processing_timeout, 5s);  // a bare number is milliseconds, as in Dapr
  EXPECT_EQ(custom->redeliver_interval, 30s);
  EXPECT_EQ(custom->connect.read_timeout, 250ms);
  EXPECT_EQ(custom->connect.write_timeout, 250ms);  // defaults to readTimeout
  EXPECT_EQ(custom->stream_ttl, 10s);
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

TEST(RedisPubSubInit, RedisPubSubUnreachableRedisFailsFast) {
  const auto start = Clock::now();
  Status status = InitWith({{"redisHost", "127.0.0.1:" + std::to_string(FreePort())},
                            {"consumerID", "app"},
                            {"dialTimeout", "500ms"}});
  EXPECT_EQ(status.code(), StatusCode::kUnavailable) << status.message();
  EXPECT_NE(status.message().find("127.0.0.1"), std::string::npos) << status.message();
  EXPECT_LT(Clock::now() - start, 1s);
}

// ---- a Redis restarted under the component ------------------------------------------------

// A redis-server child on a fixed free port, that the test can stop and start again.
class RedisServer {
 public:
  RedisServer() : port_(FreePort()) {}
  ~RedisServer() { Stop(); }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

  bool Start() {
    pid_ = fork();
    if (pid_ == 0) {
      int null_fd = open("/dev/null", O_WRONLY);
      dup2(null_fd, STDOUT_FILENO);
      dup2(null_fd, STDERR_FILENO);
      const std::string port = std::to_string(port_);
      execlp("redis-server", "redis-server", "--port", port.c_str(), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--daemonize", "no", "--dir", "/tmp",
             static_cast<char*>(nullptr));
      _exit(127);
    }
    return pid_ > 0 && WaitUntilUp();
  }

  void Stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  void Freeze() { kill(pid_, SIGSTOP); }  // a hung server: connections open, no replies

 private:
  bool WaitUntilUp() {
    for (auto deadline = Clock::now() + 5s; Clock::now() < deadline;) {
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) {  // exited: not installed, port taken
        pid_ = -1;
        return false;
      }
      redisContext* context = redisConnectWithTimeout("127.0.0.1", port_, timeval{0, 200000});
      const bool up = context != nullptr && context->err == 0;
      if (context != nullptr) redisFree(context);
      if (up) return true;
      std::this_thread::sleep_for(10ms);
    }
    return false;
  }

  int port_;
  pid_t pid_ = -1;
};

TEST(RedisPubSubRestart, RedisPubSubReconnectsAfterRedisRestarts) {
  if (!SharedRedisAddress()) GTEST_SKIP() << "DAPR_TEST_REDIS_ADDR is not set";
  RedisServer server;
  if (!server.Start()) GTEST_SKIP() << "could not start redis-server from PATH";
  Inbox inbox;
  RedisPubSub pubsub;
  ASSERT_TRUE(pubsub.Init(PubSubMetadata(server.address(), "app", {{"dialTimeout", "500ms"}})).ok());
  ASSERT_TRUE(pubsub.Subscribe(SubscribeRequest{"orders", {}}, inbox.Handler()).ok());
  ASSERT_TRUE(pubsub.Publish(PublishRequest{"orders", "before", "", {}}).ok());
  ASSERT_TRUE(inbox.WaitForCount(1, 2s));

  server.Stop();
  const auto start = Clock::now();
  Status down = pubsub.Publish(PublishRequest{"orders", "lost", "", {}});
  EXPECT_EQ(down.code(), StatusCode::kUnavailable) << down.message();
  EXPECT_LT(Clock::now() - start, 1s);

  // Without persistence the restarted Redis has neither the stream nor the group.
  ASSERT_TRUE(server.Start());
  Status up = pubsub.Publish(PublishRequest{"orders", "after", "", {}});
  ASSERT_TRUE(up.ok()) << up.message();
  ASSERT_TRUE(inbox.WaitForCount(2, 2500ms));
  EXPECT_EQ(inbox.Data(), (std::vector<std::string>{"before", "after"}));
  pubsub.Close();
}

// A Redis that stops answering (not closing its sockets) must not hold Close up.
TEST(RedisPubSubRestart, RedisPubSubCloseIsPromptWhenRedisHangs) {
  if (!SharedRedisAddress()) GTEST_SKIP() << "DAPR_TEST_REDIS_ADDR is not set";
  RedisServer server;
  if (!server.Start()) GTEST_SKIP() << "could not start redis-server from PATH";
  Inbox inbox;
  auto pubsub = std::make_unique<RedisPubSub>();
  ASSERT_TRUE(pubsub->Init(PubSubMetadata(server.address(), "app", {{"readTimeout", "2s"}})).ok());
  ASSERT_TRUE(pubsub->Subscribe(SubscribeRequest{"orders", {}}, inbox.Handler()).ok());
  ASSERT_TRUE(pubsub->Subscribe(SubscribeRequest{"payments", {}}, inbox.Handler()).ok());
  std::this_thread::sleep_for(100ms);  // the readers are blocked in XREADGROUP
  server.Freeze();
  const auto start = Clock::now();
  pubsub->Close();
  pubsub.reset();
  EXPECT_LT(Clock::now() - start, 1500ms);
  server.Stop();
  EXPECT_EQ(inbox.Count(), 0u);
}

}  // namespace
}  // namespace dapr::components::pubsub
