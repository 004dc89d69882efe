// Tests of pubsub.sqlite on database files in a fresh temporary directory: delivery and order,
// consumer groups and replicas sharing a file, redelivery after a failure or a timeout,
// durability across instances and a SIGKILL, TTL, the sweep, the concurrency bound, Close,
// and the errors of Init. Intervals are small so that each test takes well under 2 s.
#include "components/pubsub/sqlite/sqlite_pubsub.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <vector>

namespace dapr::components::pubsub {
namespace {

using namespace std::chrono_literals;
using ::dapr::pubsub::DeliveryDone;
using ::dapr::pubsub::Message;
using ::dapr::pubsub::MessageHandler;
using ::dapr::pubsub::Metadata;
using ::dapr::pubsub::PublishRequest;
using ::dapr::pubsub::SubscribeRequest;
using SteadyClock = std::chrono::steady_clock;
using Properties = ComponentMetadata::Properties;

// Records every delivery; answers each as `reply` says for the n-th one (no value: keeps the
// done unanswered), acking all by default. Shared with the handler, so it outlives deliveries.
class Inbox : public std::enable_shared_from_this<Inbox> {
 public:
  using Reply = std::function<std::optional<Status>(size_t n)>;

  static std::shared_ptr<Inbox> Make(Reply reply = nullptr) {
    auto inbox = std::make_shared<Inbox>();
    inbox->reply_ = std::move(reply);
    return inbox;
  }
  static std::shared_ptr<Inbox> Holding() {
    return Make([](size_t) -> std::optional<Status> { return std::nullopt; });
  }

  MessageHandler Handler() {
    return [self = shared_from_this()](Message message, DeliveryDone done) {
      self->Receive(std::move(message), std::move(done));
    };
  }

  bool WaitFor(size_t count, std::chrono::milliseconds timeout = 1500ms) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, timeout, [&] { return messages_.size() >= count; });
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
  std::vector<SteadyClock::time_point> Times() {
    std::lock_guard lock(mutex_);
    return times_;
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
      if (reply_) reply = reply_(messages_.size());
      messages_.push_back(std::move(message));
      times_.push_back(SteadyClock::now());
      if (!reply) held_.push_back(done);
    }
    cv_.notify_all();
    if (reply) done(*reply);
  }

  Reply reply_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<Message> messages_;
  std::vector<SteadyClock::time_point> times_;
  std::vector<DeliveryDone> held_;
};

class SqlitePubSubTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "sqlite-pubsub-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    path_ = (dir_ / "pubsub.db").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Small intervals; `extra` overrides them.
  ComponentMetadata MetadataFor(const std::string& consumer, Properties extra = {}) const {
    Properties properties{{"connectionString", path_},
                          {"consumerID", consumer},
                          {"pollInterval", "10ms"},
                          {"redeliverInterval", "100ms"},
                          {"processingTimeout", "5s"}};
    for (auto& [key, value] : extra) properties[key] = value;
    return ComponentMetadata("pubsub", "pubsub.sqlite", std::move(properties));
  }

  std::unique_ptr<SqlitePubSub> Open(const std::string& consumer, Properties extra = {}) const {
    auto pubsub = std::make_unique<SqlitePubSub>();
    Status status = pubsub->Init(MetadataFor(consumer, std::move(extra)));
    EXPECT_TRUE(status.ok()) << status.message();
    return pubsub;
  }

  static void Subscribe(SqlitePubSub& pubsub, const std::string& topic, Inbox& inbox) {
    Status status = pubsub.Subscribe(SubscribeRequest{topic, {}}, inbox.Handler());
    ASSERT_TRUE(status.ok()) << status.message();
  }

  // The group comes to exist (its position set), then nobody is subscribed.
  void JoinAndLeave(const std::string& consumer, const std::string& topic) const {
    auto pubsub = Open(consumer);
    auto inbox = Inbox::Make();
    Subscribe(*pubsub, topic, *inbox);
    pubsub->Close();
  }

  static Status Publish(SqlitePubSub& pubsub, const std::string& topic, const std::string& data,
                        Metadata metadata = {}) {
    return pubsub.Publish(PublishRequest{topic, data, "text/plain", std::move(metadata)});
  }

  int64_t CountRows(const std::string& table) const {
    sqlite3* db = nullptr;
    sqlite3_open_v2(path_.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
    sqlite3_stmt* stmt = nullptr;
    sqlite3_prepare_v2(db, ("SELECT COUNT(*) FROM " + table).c_str(), -1, &stmt, nullptr);
    int64_t count = sqlite3_step(stmt) == SQLITE_ROW ? sqlite3_column_int64(stmt, 0) : -1;
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return count;
  }

  std::filesystem::path dir_;
  std::string path_;
};

std::vector<std::string> Numbered(int count) {
  std::vector<std::string> data;
  for (int i = 0; i < count; ++i) data.push_back("m" + std::to_string(i));
  return data;
}

TEST_F(SqlitePubSubTest, SqlitePubSubDeliversWhatWasPublished) {
  auto pubsub = Open("app");
  auto inbox = Inbox::Make();
  Subscribe(*pubsub, "orders", *inbox);
  ASSERT_TRUE(pubsub->Publish({"orders", "{\"id\":1}", "application/json", {}}).ok());
  ASSERT_TRUE(Publish(*pubsub, "other", "not for orders").ok());

  ASSERT_TRUE(inbox->WaitFor(1));
  Message message = inbox->Messages()[0];
  EXPECT_EQ(message.topic, "orders");
  EXPECT_EQ(message.data, "{\"id\":1}");
  EXPECT_EQ(message.content_type, "application/json");
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(inbox->Count(), 1u);
  EXPECT_TRUE(pubsub->GetFeatures().message_ttl);
}

TEST_F(SqlitePubSubTest, SqlitePubSubDeliversInPublishOrder) {
  auto pubsub = Open("app");
  auto inbox = Inbox::Make();
  Subscribe(*pubsub, "t", *inbox);
  for (const auto& data : Numbered(200)) ASSERT_TRUE(Publish(*pubsub, "t", data).ok());
  ASSERT_TRUE(inbox->WaitFor(200));
  EXPECT_EQ(inbox->Data(), Numbered(200));
}

TEST_F(SqlitePubSubTest, SqlitePubSubPublishWakesTheSubscriberAtOnce) {
  auto pubsub = Open("app", {{"pollInterval", "10s"}});
  auto inbox = Inbox::Make();
  Subscribe(*pubsub, "t", *inbox);
  auto start = SteadyClock::now();
  ASSERT_TRUE(Publish(*pubsub, "t", "fast").ok());
  ASSERT_TRUE(inbox->WaitFor(1, 500ms));
  EXPECT_LT(SteadyClock::now() - start, 200ms);
}

TEST_F(SqlitePubSubTest, SqlitePubSubEveryConsumerGroupGetsEveryMessage) {
  auto a = Open("app-a");
  auto b = Open("app-b");
  auto inbox_a = Inbox::Make();
  auto inbox_b = Inbox::Make();
  Subscribe(*a, "t", *inbox_a);
  Subscribe(*b, "t", *inbox_b);
  for (const auto& data : Numbered(20)) ASSERT_TRUE(Publish(*a, "t", data).ok());

  ASSERT_TRUE(inbox_a->WaitFor(20));
  ASSERT_TRUE(inbox_b->WaitFor(20));
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(inbox_a->Data(), Numbered(20));
  EXPECT_EQ(inbox_b->Data(), Numbered(20));
}

TEST_F(SqlitePubSubTest, SqlitePubSubReplicasOfOneGroupShareTheMessages) {
  auto publisher = Open("publisher");
  auto first = Open("app", {{"concurrency", "2"}});
  auto second = Open("app", {{"concurrency", "2"}});
  // Slow handlers, so that neither replica can take everything before the other polls.
  auto slow_ack = [](size_t) -> std::optional<Status> {
    std::this_thread::sleep_for(5ms);
    return Status::Ok();
  };
  auto inbox_1 = Inbox::Make(slow_ack);
  auto inbox_2 = Inbox::Make(slow_ack);
  Subscribe(*first, "t", *inbox_1);
  Subscribe(*second, "t", *inbox_2);
  for (const auto& data : Numbered(40)) ASSERT_TRUE(Publish(*publisher, "t", data).ok());

  auto deadline = SteadyClock::now() + 1500ms;
  while (inbox_1->Count() + inbox_2->Count() < 40 && SteadyClock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
  }
  std::this_thread::sleep_for(100ms);
  std::vector<std::string> all = inbox_1->Data();
  for (const auto& data : inbox_2->Data()) all.push_back(data);
  std::multiset<std::string> delivered(all.begin(), all.end());
  std::vector<std::string> expected = Numbered(40);
  EXPECT_EQ(delivered, std::multiset<std::string>(expected.begin(), expected.end()));
  EXPECT_GT(inbox_1->Count(), 0u);
  EXPECT_GT(inbox_2->Count(), 0u);
}

TEST_F(SqlitePubSubTest, SqlitePubSubFailedDeliveryIsRetriedAfterRedeliverInterval) {
  auto pubsub = Open("app", {{"redeliverInterval", "300ms"}});
  auto inbox = Inbox::Make([](size_t n) -> std::optional<Status> {
    return n == 0 ? Internal("app failed") : Status::Ok();
  });
  Subscribe(*pubsub, "t", *inbox);
  ASSERT_TRUE(Publish(*pubsub, "t", "again").ok());

  ASSERT_TRUE(inbox->WaitFor(2));
  auto times = inbox->Times();
  EXPECT_GE(times[1] - times[0], 280ms);
  EXPECT_LT(times[1] - times[0], 1000ms);
  EXPECT_EQ(inbox->Data(), (std::vector<std::string>{"again", "again"}));
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(inbox->Count(), 2u);
}

TEST_F(SqlitePubSubTest, SqlitePubSubZeroRedeliverIntervalRetriesAtTheNextPoll) {
  auto pubsub = Open("app", {{"redeliverInterval", "0"}, {"pollInterval", "20ms"}});
  auto inbox = Inbox::Make([](size_t n) -> std::optional<Status> {
    return n < 2 ? Internal("app failed") : Status::Ok();
  });
  Subscribe(*pubsub, "t", *inbox);
  ASSERT_TRUE(Publish(*pubsub, "t", "again").ok());
  ASSERT_TRUE(inbox->WaitFor(3, 500ms));
  auto times = inbox->Times();
  EXPECT_LT(times[2] - times[0], 300ms);
}

TEST_F(SqlitePubSubTest, SqlitePubSubUnansweredDeliveryIsRetriedAfterProcessingTimeout) {
  // One slot: the redelivery also shows that the unanswered delivery gave its slot back.
  auto pubsub = Open("app", {{"processingTimeout", "300ms"}, {"concurrency", "1"}});
  auto inbox = Inbox::Make([](size_t n) -> std::optional<Status> {
    if (n == 0) return std::nullopt;
    return Status::Ok();
  });
  Subscribe(*pubsub, "t", *inbox);
  ASSERT_TRUE(Publish(*pubsub, "t", "slow").ok());

  ASSERT_TRUE(inbox->WaitFor(2));
  auto times = inbox->Times();
  EXPECT_GE(times[1] - times[0], 280ms);
  EXPECT_LT(times[1] - times[0], 1000ms);
  // The late answer of the first delivery is harmless.
  for (auto& done : inbox->TakeHeld()) done(Internal("too late"));
  std::this_thread::sleep_for(150ms);
  EXPECT_EQ(inbox->Count(), 2u);
}

TEST_F(SqlitePubSubTest, SqlitePubSubNewGroupStartsAfterExistingMessages) {
  auto publisher = Open("publisher");
  ASSERT_TRUE(Publish(*publisher, "t", "before").ok());
  auto pubsub = Open("app");
  auto inbox = Inbox::Make();
  Subscribe(*pubsub, "t", *inbox);
  ASSERT_TRUE(Publish(*publisher, "t", "after").ok());
  ASSERT_TRUE(inbox->WaitFor(1));
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(inbox->Data(), std::vector<std::string>{"after"});
}

TEST_F(SqlitePubSubTest, SqlitePubSubMessagesWaitForTheirGroupAcrossRestarts) {
  auto inbox = Inbox::Make();
  auto first = Open("app");
  Subscribe(*first, "t", *inbox);
  ASSERT_TRUE(Publish(*first, "t", "one").ok());
  ASSERT_TRUE(inbox->WaitFor(1));
  first->Close();
  first.reset();

  auto publisher = Open("publisher");
  ASSERT_TRUE(Publish(*publisher, "t", "two").ok());
  ASSERT_TRUE(Publish(*publisher, "t", "three").ok());

  auto again = Inbox::Make();
  auto second = Open("app");
  Subscribe(*second, "t", *again);
  ASSERT_TRUE(again->WaitFor(2));
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(again->Data(), (std::vector<std::string>{"two", "three"}));
}

TEST_F(SqlitePubSubTest, SqlitePubSubUnackedDeliveryComesBackToTheNextInstance) {
  auto held = Inbox::Holding();
  auto first = Open("app", {{"processingTimeout", "300ms"}});
  Subscribe(*first, "t", *held);
  ASSERT_TRUE(Publish(*first, "t", "unfinished").ok());
  ASSERT_TRUE(held->WaitFor(1));
  first->Close();
  first.reset();

  auto inbox = Inbox::Make();
  auto second = Open("app", {{"processingTimeout", "300ms"}});
  Subscribe(*second, "t", *inbox);
  ASSERT_TRUE(inbox->WaitFor(1));
  EXPECT_EQ(inbox->Data(), std::vector<std::string>{"unfinished"});
}

// A child process subscribes, publishes and is SIGKILLed while holding the leases; with a 60 s
// processingTimeout the next instance still gets both messages at once, as it can tell that
// the lease owner is gone.
TEST_F(SqlitePubSubTest, SqlitePubSubSigkilledSubscriberLeavesNothingBehind) {
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    alarm(5);  // never outlive a broken test
    SqlitePubSub pubsub;
    if (!pubsub.Init(MetadataFor("app", {{"processingTimeout", "60s"}})).ok()) _exit(2);
    auto keep = [](Message, DeliveryDone) {};
    auto die = [](Message, DeliveryDone) { raise(SIGKILL); };
    if (!pubsub.Subscribe({"held", {}}, keep).ok() || !pubsub.Subscribe({"t", {}}, die).ok()) {
      _exit(3);
    }
    if (!Publish(pubsub, "held", "kept").ok() || !Publish(pubsub, "t", "fatal").ok()) _exit(4);
    pause();
    _exit(5);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status)) << "child exited with " << WEXITSTATUS(status);
  ASSERT_EQ(WTERMSIG(status), SIGKILL);

  auto restarted = Open("app", {{"processingTimeout", "60s"}});
  auto held = Inbox::Make();
  auto fatal = Inbox::Make();
  Subscribe(*restarted, "held", *held);
  Subscribe(*restarted, "t", *fatal);
  ASSERT_TRUE(held->WaitFor(1, 1000ms));
  ASSERT_TRUE(fatal->WaitFor(1, 1000ms));
  EXPECT_EQ(held->Data(), std::vector<std::string>{"kept"});
  EXPECT_EQ(fatal->Data(), std::vector<std::string>{"fatal"});
}

TEST_F(SqlitePubSubTest, SqlitePubSubExpiredMessagesAreNeverDelivered) {
  JoinAndLeave("app", "t");
  auto publisher = Open("publisher");
  ASSERT_TRUE(Publish(*publisher, "t", "short", {{"ttlInSeconds", "1"}}).ok());
  ASSERT_TRUE(Publish(*publisher, "t", "zero", {{"TTLINSECONDS", "0"}}).ok());
  ASSERT_TRUE(Publish(*publisher, "t", "long", {{"ttlInSeconds", "60"}}).ok());
  ASSERT_TRUE(Publish(*publisher, "t", "forever").ok());
  EXPECT_EQ(Publish(*publisher, "t", "bad", {{"ttlInSeconds", "soon"}}).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(Publish(*publisher, "t", "bad", {{"ttlInSeconds", "-1"}}).code(),
            StatusCode::kInvalidArgument);
  std::this_thread::sleep_for(1100ms);

  auto pubsub = Open("app");
  auto inbox = Inbox::Make();
  Subscribe(*pubsub, "t", *inbox);
  ASSERT_TRUE(inbox->WaitFor(2));
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(inbox->Data(), (std::vector<std::string>{"long", "forever"}));
}

TEST_F(SqlitePubSubTest, SqlitePubSubSweepDeletesConsumedMessages) {
  auto pubsub = Open("app", {{"cleanupInterval", "50ms"}});
  auto inbox = Inbox::Make();
  Subscribe(*pubsub, "t", *inbox);
  for (const auto& data : Numbered(5)) ASSERT_TRUE(Publish(*pubsub, "t", data).ok());
  ASSERT_TRUE(Publish(*pubsub, "no-group", "nobody reads this").ok());
  ASSERT_TRUE(inbox->WaitFor(5));
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(CountRows("pubsub_messages"), 0);
  EXPECT_EQ(CountRows("pubsub_pending"), 0);

  // Ids keep growing after the rows are gone, so the group's position stays right.
  ASSERT_TRUE(Publish(*pubsub, "t", "later").ok());
  ASSERT_TRUE(inbox->WaitFor(6));
  EXPECT_EQ(inbox->Data().back(), "later");
}

TEST_F(SqlitePubSubTest, SqlitePubSubMaxLenKeepsTheNewest) {
  JoinAndLeave("app", "t");
  auto publisher = Open("publisher", {{"maxLen", "2"}, {"cleanupInterval", "50ms"}});
  for (const auto& data : Numbered(5)) ASSERT_TRUE(Publish(*publisher, "t", data).ok());
  std::this_thread::sleep_for(200ms);

  auto pubsub = Open("app");
  auto inbox = Inbox::Make();
  Subscribe(*pubsub, "t", *inbox);
  ASSERT_TRUE(inbox->WaitFor(2));
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(inbox->Data(), (std::vector<std::string>{"m3", "m4"}));
}

TEST_F(SqlitePubSubTest, SqlitePubSubConcurrencyBoundIsRespected) {
  auto pubsub = Open("app", {{"concurrency", "3"}});
  std::mutex mutex;
  std::vector<std::thread> answering;
  std::atomic<int> in_flight{0};
  std::atomic<int> most{0};
  std::atomic<int> finished{0};
  MessageHandler handler = [&](Message, DeliveryDone done) {
    int now = ++in_flight;
    most = std::max(most.load(), now);
    std::lock_guard lock(mutex);
    answering.emplace_back([&, done = std::move(done)] {
      std::this_thread::sleep_for(15ms);
      --in_flight;  // before done: done frees the slot
      ++finished;
      done(Status::Ok());
    });
  };
  ASSERT_TRUE(pubsub->Subscribe({"t", {}}, handler).ok());
  for (const auto& data : Numbered(30)) ASSERT_TRUE(Publish(*pubsub, "t", data).ok());

  auto deadline = SteadyClock::now() + 1500ms;
  while (finished < 30 && SteadyClock::now() < deadline) std::this_thread::sleep_for(5ms);
  pubsub->Close();
  std::lock_guard lock(mutex);
  for (auto& thread : answering) thread.join();
  EXPECT_EQ(finished, 30);
  EXPECT_EQ(most, 3);
}

TEST_F(SqlitePubSubTest, SqlitePubSubCloseIsPromptAndEndsDeliveries) {
  // A long poll interval: Close must wake the poller, not wait for it.
  auto pubsub = Open("app", {{"concurrency", "2"}, {"pollInterval", "5s"}});
  auto inbox = Inbox::Holding();
  Subscribe(*pubsub, "t", *inbox);
  for (const auto& data : Numbered(3)) ASSERT_TRUE(Publish(*pubsub, "t", data).ok());
  ASSERT_TRUE(inbox->WaitFor(2));

  auto start = SteadyClock::now();
  pubsub->Close();
  EXPECT_LT(SteadyClock::now() - start, 1s);
  EXPECT_EQ(Publish(*pubsub, "t", "closed").code(), StatusCode::kUnavailable);
  auto publisher = Open("publisher");
  ASSERT_TRUE(Publish(*publisher, "t", "m3").ok());
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(inbox->Count(), 2u);

  // Answers after Close, and after the instance is gone, still count.
  std::vector<DeliveryDone> held = inbox->TakeHeld();
  ASSERT_EQ(held.size(), 2u);
  held[0](Status::Ok());
  pubsub.reset();
  held[1](Internal("failed after close"));

  auto inbox_2 = Inbox::Make();
  auto next = Open("app");
  Subscribe(*next, "t", *inbox_2);
  ASSERT_TRUE(inbox_2->WaitFor(3));
  std::this_thread::sleep_for(100ms);
  std::vector<std::string> data = inbox_2->Data();
  std::sort(data.begin(), data.end());  // m1 comes back after its redeliverInterval
  EXPECT_EQ(data, (std::vector<std::string>{"m1", "m2", "m3"}));
}

TEST_F(SqlitePubSubTest, SqlitePubSubRefusesCallsBeforeInit) {
  SqlitePubSub pubsub;
  EXPECT_EQ(Publish(pubsub, "t", "x").code(), StatusCode::kUnavailable);
  auto inbox = Inbox::Make();
  EXPECT_EQ(pubsub.Subscribe({"t", {}}, inbox->Handler()).code(), StatusCode::kUnavailable);
}

TEST_F(SqlitePubSubTest, SqlitePubSubInitErrors) {
  auto init = [](Properties properties) {
    SqlitePubSub pubsub;
    return pubsub.Init(ComponentMetadata("pubsub", "pubsub.sqlite", std::move(properties)));
  };
  Status missing = init({{"consumerID", "app"}});
  EXPECT_FALSE(missing.ok());
  EXPECT_NE(missing.message().find("connectionString"), std::string::npos) << missing.message();

  EXPECT_FALSE(init({{"connectionString", path_}}).ok());  // no consumerID

  std::ofstream(dir_ / "a-file") << "not a directory";
  Status unwritable =
      init({{"connectionString", (dir_ / "a-file" / "pubsub.db").string()}, {"consumerID", "app"}});
  EXPECT_FALSE(unwritable.ok());
  EXPECT_NE(unwritable.message().find("cannot use database"), std::string::npos);
  EXPECT_FALSE(init({{"connectionString", (dir_ / "no" / "such" / "dir.db").string()},
                     {"consumerID", "app"}})
                   .ok());

  for (auto [key, value] : std::vector<std::pair<std::string, std::string>>{
           {"processingTimeout", "soon"},
           {"processingTimeout", "0s"},
           {"redeliverInterval", "-1s"},
           {"pollInterval", "0"},
           {"cleanupInterval", "1 hour"},
           {"busyTimeout", "x"},
           {"concurrency", "0"},
           {"concurrency", "many"},
           {"maxLen", "-1"},
           {"tablePrefix", "bad-name"},
       }) {
    Status status = init({{"connectionString", path_}, {"consumerID", "app"}, {key, value}});
    EXPECT_FALSE(status.ok()) << key << "=" << value;
    EXPECT_NE(status.message().find(key), std::string::npos) << status.message();
  }
  EXPECT_TRUE(init({{"connectionString", "file:" + path_ + "?mode=rwc"},
                    {"consumerID", "app"},
                    {"redeliverInterval", "0"},
                    {"tablePrefix", "my_"}})
                  .ok());
}

}  // namespace
}  // namespace dapr::components::pubsub
