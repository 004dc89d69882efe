// pubsub.sqlite: a durable broker in one local file, daprd's embedded default, so that
// messages survive a restart (even SIGKILL) with nothing else installed. Several sidecars
// may share the file, with the semantics of Redis Streams consumer groups: every consumer
// group (the consumerID, i.e. the app id) gets each message of a topic once, and the
// replicas of one group share those messages between them.
//
// Three tables (names prefixed by `tablePrefix`, default "pubsub_"):
//   messages  the log: id INTEGER PRIMARY KEY AUTOINCREMENT, topic, data, content type,
//             expiry. SQLite has one writer at a time and assigns an id inside the write
//             transaction, so ids grow in commit order and a cursor never skips a message
//             that commits later; AUTOINCREMENT keeps ids from being reused once the newest
//             rows are deleted.
//   groups    (topic, consumer_group) -> last_id, the group's durable position in the log,
//             as Redis' last-delivered-id. A group seen for the first time starts at the
//             topic's newest id (XGROUP CREATE $): it gets what is published afterwards.
//   pending   (consumer_group, topic, message_id) -> owner, lease_until, attempts: the
//             group's messages taken from the log and not yet acked, as Redis' PEL.
//
// How a delivery is claimed, in one BEGIN IMMEDIATE transaction (one writer at a time, across
// processes, so two replicas can never claim the same row): first the group's pending rows
// whose lease_until has passed (failed deliveries due again, or leases of a consumer that
// died or never answered), oldest first; then, for the free slots left, new messages after
// last_id, each inserted into pending with a lease of processingTimeout, advancing last_id.
// An ack deletes the pending row; a failure sets lease_until to now + redeliverInterval.
// A lease held by a dead process thus expires by itself; besides, a subscription starting
// on the same host frees at once the leases of its group whose owner process is gone (the
// owner id names host, pid namespace, pid and the process' start time), so a daprd that
// was SIGKILLed and restarted gets its unfinished messages back without the timeout.
//
// Each subscription has one poller thread: it claims up to `concurrency` minus the deliveries
// in flight, calls the handler for each in id order, and sleeps `pollInterval` when idle. A
// publish through this instance and every ack wake it at once; a failure does not (the
// message is due after redeliverInterval anyway, and a handler failing at once must not make
// it spin). Before taking the write lock it checks with a plain read whether there is
// anything to claim, so idle pollers of many sidecars only read. A sweeper thread deletes,
// every `cleanupInterval`, expired messages and those every group of the topic is past and
// has acked (and trims each topic to `maxLen` if set).
//
// All SQL of an instance goes through its one connection, serialized by a mutex; the
// connection, the subscriptions and their state are shared with the `done` callbacks, so an
// answer arriving after Close still acks and never touches freed memory.
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "dapr/pubsub/pubsub.h"

namespace dapr::components::pubsub {

class SqlitePubSub final : public ::dapr::pubsub::PubSub {
 public:
  ~SqlitePubSub() override;

  Status Init(const ComponentMetadata& metadata) override;
  ::dapr::pubsub::Features GetFeatures() const override;
  Status Publish(const ::dapr::pubsub::PublishRequest& request) override;
  Status Subscribe(const ::dapr::pubsub::SubscribeRequest& request,
                   ::dapr::pubsub::MessageHandler handler) override;
  Status Unsubscribe(const std::string& topic) override;
  void Close() override;

  // Defined in sqlite_pubsub.cc.
  struct Options;      // the parsed metadata
  class Database;      // the connection and every SQL statement of the broker
  class Subscription;  // one topic's poller thread and its deliveries in flight

 private:
  std::shared_ptr<Database> LiveDatabase();
  void WakeSubscribers(const std::string& topic);
  void SweepLoop(std::chrono::milliseconds interval);

  std::shared_ptr<const Options> options_;
  std::mutex mutex_;
  std::shared_ptr<Database> db_;  // null before Init and after Close
  std::multimap<std::string, std::shared_ptr<Subscription>> subscriptions_;  // by topic
  bool closed_ = false;

  std::mutex sweep_mutex_;
  std::condition_variable sweep_wake_;
  bool sweep_stopping_ = false;
  std::thread sweep_thread_;
};

}  // namespace dapr::components::pubsub
