// How the pub/sub block reaches its app, whatever the app's protocol: ask which topics it
// subscribes to, and hand it one event. The HTTP and gRPC forms are in src/channel/.
#pragma once

#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "blocks/pubsub/app_reply.h"
#include "blocks/pubsub/subscription.h"
#include "dapr/status.h"

namespace dapr::blocks::pubsub {

// One event on its way to the app.
struct TopicEvent {
  std::string pubsub_name;
  std::string topic;
  std::string path;             // the route the rules chose
  std::string data;             // the CloudEvent as JSON text: what an HTTP app gets
  nlohmann::json cloud_event;   // the same, parsed (a gRPC app gets its fields)
  std::map<std::string, std::string> metadata;  // the broker's, delivered as headers
};

// What the app answered; the detail says why a delivery did not succeed, for the logs.
struct DeliveryResult {
  DeliveryResult() = default;
  DeliveryResult(Outcome outcome, std::string detail, std::optional<int> http_status = std::nullopt,
                 std::optional<int> grpc_code = std::nullopt)
      : outcome(outcome), detail(std::move(detail)), http_status(http_status), grpc_code(grpc_code) {}

  Outcome outcome = Outcome::kSuccess;
  std::string detail;
  // The app's HTTP status or gRPC code behind a failure, when it gave one: a retry policy's
  // `matching` lists are checked against it. A RETRY answer or a lost connection has none
  // and is always retriable.
  std::optional<int> http_status;
  std::optional<int> grpc_code;
};

// One entry of a bulk delivery.
struct BulkEntry {
  std::string entry_id;
  nlohmann::json cloud_event;  // the event (a raw subscription's is built around the bytes)
  std::string raw;             // a raw subscription's bytes, which the app gets instead
  bool is_raw = false;
  std::map<std::string, std::string> metadata;  // the broker's for this message
};

// The entries of one bulk subscription that go to one path, in one call.
struct BulkTopicEvent {
  std::string id;  // of this delivery
  std::string pubsub_name;
  std::string topic;
  std::string path;
  std::vector<BulkEntry> entries;
  std::map<std::string, std::string> metadata;
};

// The app's statuses by entry id; an entry it did not mention is absent (retried). detail
// says why entries were not acked, for the logs.
struct BulkDeliveryResult {
  std::map<std::string, Outcome> outcomes;
  std::string detail;
};

class TopicChannel {
 public:
  virtual ~TopicChannel() = default;
  // The app's programmatic subscriptions (GET /dapr/subscribe, ListTopicSubscriptions).
  // An app that has none, or does not serve the call, gives an empty list.
  virtual void ListSubscriptions(std::function<void(Result<std::vector<Subscription>>)> done) = 0;
  // done runs once, on any thread.
  virtual void Deliver(TopicEvent event, std::function<void(DeliveryResult)> done) = 0;
  // A bulk subscription's batch; done runs once, on any thread.
  virtual void DeliverBulk(BulkTopicEvent event, std::function<void(BulkDeliveryResult)> done) = 0;
  // False when Deliver reads only the event's text (data) and its top-level traceparent and
  // tracestate from cloud_event: the block may then leave the rest of the event unparsed.
  virtual bool NeedsWholeEvent() const { return true; }
};

}  // namespace dapr::blocks::pubsub
