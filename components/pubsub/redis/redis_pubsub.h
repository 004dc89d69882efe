// pubsub.redis: Dapr pub/sub on Redis Streams with consumer groups, compatible with the
// streams Dapr's components-contrib pubsub/redis writes and reads.
//
// Layout (Dapr's): a topic is a stream; a publish is XADD <topic> * data <bytes>, plus a
// "metadata" field (a JSON object of strings, as Dapr writes it) and, an addition of ours
// that Dapr ignores, "contentType". The consumerID is the consumer group, so every app
// (consumerID) gets every message and the replicas of one app share them.
//
// Threads. Publishes and acks borrow connections from a small pool, so concurrent workers
// do not queue behind one socket. Each subscription has a reader, on a connection of its
// own, that runs XREADGROUP ... BLOCK <500 ms> into a local queue of at most queueDepth
// messages and, every redeliverInterval, claims entries pending for longer than
// processingTimeout (XPENDING [IDLE] + XCLAIM, as Dapr does) into the same queue. It alone
// talks to Redis for the subscription, so a broken connection is repaired in one place,
// with a backoff. Queued messages go to the handler, at most `concurrency` with no answer
// yet, by a part that never does I/O, so Close can stop it at once.
//   - With the sidecar's event loop attached (AttachEventLoop), all of it runs there: the
//     reader as a chain of asynchronous commands (each reply starts the next), the handler
//     calls from the loop, and publishes and acks over one pipelined connection. No thread
//     per subscription, and no hand-off between threads on the way to the app.
//   - Without a loop, a reader thread with a blocking connection, and a dispatcher thread.
// done(OK) acks (XACK); done(error) leaves the entry pending, so that the claim loop
// delivers it again once it has been idle for processingTimeout, as Dapr does.
//
// The consumer name is consumerID-hostname-pid-random: unique per instance (Dapr uses the
// consumerID for all), so that the claim loop can tell an entry another, perhaps dead,
// instance holds from one this instance is still processing, which it leaves alone.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "components/state/redis/redis_async_client.h"
#include "components/state/redis/redis_connection.h"
#include "dapr/pubsub/pubsub.h"

namespace dapr::components::pubsub {

struct RedisPubSubOptions {
  state::RedisConnectOptions connect;
  std::string consumer_group;  // consumerID
  std::chrono::milliseconds processing_timeout{60000};
  std::chrono::milliseconds redeliver_interval{15000};  // Dapr's code default (its docs say 60s)
  size_t queue_depth = 100;
  size_t concurrency = 10;
  long long max_len_approx = 0;          // 0: no MAXLEN trimming
  std::chrono::milliseconds stream_ttl{0};  // 0: no MINID trimming
  int pool_size = 10;                    // connections for publishes and acks

  // Dapr: a zero processingTimeout or redeliverInterval turns redelivery off.
  bool redelivery() const {
    return processing_timeout.count() > 0 && redeliver_interval.count() > 0;
  }
};

// Reads the metadata of metadata.yaml; an error names the key, never the password.
Result<RedisPubSubOptions> ParseRedisPubSubOptions(const ComponentMetadata& metadata);

class RedisPubSub final : public ::dapr::pubsub::PubSub {
 public:
  RedisPubSub() = default;
  ~RedisPubSub() override;
  RedisPubSub(const RedisPubSub&) = delete;
  RedisPubSub& operator=(const RedisPubSub&) = delete;

  Status Init(const ComponentMetadata& metadata) override;
  // Dapr's redis pub/sub reports no features: ttlInSeconds is enforced by the runtime.
  ::dapr::pubsub::Features GetFeatures() const override { return {}; }
  Status Publish(const ::dapr::pubsub::PublishRequest& request) override;
  // With the loop: publishes (XADD) and acks (XACK) go over one pipelined connection on it.
  bool AttachEventLoop(boost::asio::io_context& loop) override;
  bool SupportsAsyncPublish() const override { return async_ != nullptr; }
  void PublishAsync(::dapr::pubsub::PublishRequest request, std::function<void(Status)> done) override;
  bool AcksWithoutBlocking() const override { return async_ != nullptr; }
  Status Subscribe(const ::dapr::pubsub::SubscribeRequest& request,
                   ::dapr::pubsub::MessageHandler handler) override;
  Status Unsubscribe(const std::string& topic) override;
  void Close() override;

  // This instance's name within its consumer groups (for tests and diagnostics).
  const std::string& consumer_name() const { return consumer_name_; }

  class Subscription;  // a subscription's reader and dispatcher (redis_pubsub.cc)

 private:
  // data is the request's, passed apart so that the async path can move it in.
  std::vector<std::string> XaddCommand(const ::dapr::pubsub::PublishRequest& request, std::string data) const;

  RedisPubSubOptions options_;
  std::string consumer_name_;
  // Shared with the subscriptions and their `done` callbacks, which may outlive this.
  std::shared_ptr<state::RedisConnectionPool> pool_;
  boost::asio::io_context* loop_ = nullptr;
  std::shared_ptr<state::RedisAsyncClient> async_;  // set by Init when a loop was attached
  std::mutex mutex_;  // guards subscriptions_ against a concurrent Close
  std::vector<std::shared_ptr<Subscription>> subscriptions_;
  std::atomic<bool> closed_{false};  // read on every publish, without the mutex
};

}  // namespace dapr::components::pubsub
