// The contract every pub/sub component implements (pubsub.in-memory, pubsub.sqlite,
// pubsub.redis, ...). A component moves opaque messages between publishers and
// subscribers of a topic and nothing more: the CloudEvent envelope, routing, the app's
// answer, dead letters and scopes all live in the pub/sub block.
//
// Delivery is at least once. The component hands each message to the handler of the
// subscription and keeps it until the handler's `done` reports success; a failure (or a
// sidecar that dies before answering) makes the component deliver the message again later,
// after its own redelivery delay.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "dapr/component_metadata.h"
#include "dapr/status.h"

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace dapr::pubsub {

using Metadata = std::map<std::string, std::string>;

// Optional capabilities, reported by the metadata API.
struct Features {
  bool message_ttl = false;          // the broker expires messages itself ("ttlInSeconds")
  bool bulk_publish = false;         // BulkPublish is native, not the default loop
  bool subscribe_wildcards = false;  // topics such as "orders/+" or "orders/#"
};

struct PublishRequest {
  std::string topic;
  std::string data;          // the bytes to deliver (usually the CloudEvent JSON)
  std::string content_type;  // of data
  Metadata metadata;         // the publish request's metadata (ttlInSeconds, broker keys)
};

struct BulkPublishEntry {
  std::string entry_id;
  std::string data;
  std::string content_type;
  Metadata metadata;
};

struct BulkPublishRequest {
  std::string topic;
  std::vector<BulkPublishEntry> entries;
  Metadata metadata;
};

struct BulkPublishFailure {
  std::string entry_id;
  std::string error;
};

// One message handed to the sidecar.
struct Message {
  std::string topic;         // the topic it was published to (concrete, for a wildcard subscription)
  std::string data;
  std::string content_type;  // empty when the broker does not carry one
  Metadata metadata;         // broker metadata; delivered to the app as headers
};

struct SubscribeRequest {
  std::string topic;
  Metadata metadata;  // the subscription's metadata
  // The sidecar means to hold this many messages unanswered at once (a bulk subscription
  // gathers a batch before the app answers any of it). A component whose concurrency bound
  // is lower raises it to this for the subscription; 0: the component's own bound.
  size_t min_concurrency = 0;
};

// Reports how one delivery ended: OK acks the message, an error has it delivered again.
// Called exactly once, from any thread, possibly after Close.
using DeliveryDone = std::function<void(Status)>;
// Called on the component's threads, for each message of a subscription. Up to the
// component's concurrency bound of calls are in flight at once (without giving up the
// order of messages that share an ordering key, where the broker keeps one).
using MessageHandler = std::function<void(Message message, DeliveryDone done)>;

// Errors from Publish, by code:
//   kNotFound     the broker has no such topic (the API answers 400 ERR_PUBSUB_NOT_FOUND)
//   anything else the publish failed (500 ERR_PUBSUB_PUBLISH_MESSAGE)
class PubSub {
 public:
  virtual ~PubSub() = default;

  // Connects and prepares the backend; called once before any other call. The metadata
  // always holds consumerID (the app id unless the component sets it).
  virtual Status Init(const ComponentMetadata& metadata) = 0;
  virtual Features GetFeatures() const = 0;

  // Blocking; called on a worker thread. Returns once the broker holds the message.
  virtual Status Publish(const PublishRequest& request) = 0;
  // The entries that could not be published; the default publishes them one by one.
  virtual std::vector<BulkPublishFailure> BulkPublish(const BulkPublishRequest& request);

  // Optional non-blocking path, as for state stores: a component whose client can run on
  // the sidecar's event loop accepts the loop here (once, before Init) and then answers
  // SupportsAsyncPublish() with true; the block then calls PublishAsync from the loop instead
  // of the blocking Publish on a worker (each hand-off between threads costs tens of µs).
  // done runs on the loop.
  virtual bool AttachEventLoop(boost::asio::io_context& loop) { return false; }
  virtual bool SupportsAsyncPublish() const { return false; }
  virtual void PublishAsync(PublishRequest request, std::function<void(Status)> done) { done(Publish(request)); }
  // True when a delivery's done never blocks (the ack is itself asynchronous): the block then
  // calls it where the app's answer arrives, not on a worker.
  virtual bool AcksWithoutBlocking() const { return false; }

  // Starts delivering the topic's messages to handler; returns once the subscription
  // exists (messages published after it returns are delivered).
  virtual Status Subscribe(const SubscribeRequest& request, MessageHandler handler) = 0;

  // Ends this instance's subscriptions to topic (a streaming subscription whose stream
  // closed): no handler call for them starts after it returns. What was not acked stays with
  // the broker. Blocking; never called from a handler. The default refuses.
  virtual Status Unsubscribe(const std::string& topic) {
    return Status(StatusCode::kUnimplemented, "this pub/sub component cannot end one subscription");
  }

  // Stops delivering: no handler call starts after Close returns. Messages whose delivery
  // did not finish stay with the broker for redelivery.
  virtual void Close() {}
};

}  // namespace dapr::pubsub
