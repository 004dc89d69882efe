// pubsub.mqtt3: Dapr pub/sub on an MQTT 3.1.1 broker (Mosquitto, EMQX, HiveMQ...), through
// libmosquitto. Built as a module (libdapr_pubsub_mqtt3.so) that daprd loads only when an
// mqtt3 component is configured, so an idle sidecar never maps libmosquitto.
//
// Connections. Two MQTT clients per component, as Dapr's older pubsub.mqtt had:
//   - the subscriber, client id = consumerID, made by the first Subscribe. With
//     cleanSession=false (the default) the broker keeps its session while daprd is away:
//     the subscriptions and the QoS 1/2 messages published meanwhile, which it delivers
//     once a component with the same consumerID connects again. Each Subscribe adds one
//     filter to this connection; after every reconnection all of them are subscribed again
//     (the broker keeps them in a kept session; doing it anyway costs nothing).
//   - the publisher, client id = consumerID + "-producer", clean session, made by Init
//     (which fails when the broker cannot be reached or refuses the client).
// Two replicas with the same consumerID take each other's client id, and the broker keeps
// only the newest; give each replica its own consumerID (Dapr says the same).
//
// Threads. Each connection has a network thread of its own running mosquitto_loop (not
// mosquitto_loop_start, whose thread ends for good on some errors, e.g. a failed DNS
// lookup); it reconnects after a loss with a backoff of 0.5 s doubling to 10 s. The
// subscriber's thread only queues each message it receives (it never calls a handler); a
// dispatcher thread hands queued messages to the handlers:
//   - in order per concrete topic (the order MQTT keeps): one delivery of a topic at a
//     time, the next once the previous one's `done` said OK (or it was given up);
//   - deliveries of different topics in parallel, at most `concurrency` unanswered;
//   - at most `queueDepth` messages queued or in flight; when full the network thread waits
//     for room, which stops reading from the broker (TCP pushes back; the broker queues).
// Dapr's own mqtt3 hands every message to the app at once, in no order and without a bound
// (paho with OrderMatters off); this follows the contract of dapr/pubsub/pubsub.h instead.
// A message whose topic matches no subscription yet (a kept session delivers the messages
// of all its subscriptions as soon as the first Subscribe connects) waits, up to
// queueDepth of them, for the Subscribe of its filter.
//
// Acks, and what is lost when. libmosquitto 2.0 has no manual acks: it queues the PUBACK of
// a QoS 1 message (QoS 2: PUBREC, and the message is handed over on PUBREL) *before* it
// hands the message over, and writes it on its next turn. So the broker forgets a message
// about as soon as this component has queued it, and a failed delivery (done(error))
// cannot be handed back: the component delivers it again itself, on its topic's turn,
// after a backoff of backOffInitialInterval (1 s) doubling up to backOffMaxInterval (30 s),
// until its done is OK, backOffMaxRetries redeliveries have failed (it is then dropped, with
// an error logged) or the component closes.
// The messages held here (queued, in flight, waiting for a retry: at most queueDepth) are
// LOST when the process dies or the component closes, unlike with pubsub.redis and
// pubsub.sqlite: at-least-once holds only while daprd runs. This is a limitation of the
// client library, not of MQTT. What the broker still has is safe: the messages published
// while daprd is down (cleanSession=false), those not read yet, and the one the network
// thread holds while it waits for room, whose PUBACK is not written until it is queued.
// Close drops the subscriber's connection without flushing it, so any PUBACK not written
// yet stays unwritten, and its message comes back to the next session (perhaps a
// duplicate of a delivery that was in flight).
//
// Publish waits for the broker's PUBACK (QoS 1) or PUBCOMP (QoS 2), at most 10 s; QoS 0
// returns once the message is queued for sending. A publisher that is not connected fails
// at once (Unavailable) rather than waiting for the reconnection. A publish that failed
// because the connection dropped or the wait timed out may still reach the broker: the
// client resends unacknowledged messages after it reconnects, so a retry by the caller can
// make a duplicate.
//
// Not supported: TLS (ssl://, mqtts://, tcps://, tls:// and the caCert, clientCert and
// clientKey keys are refused at Init, never ignored), MQTT 5, and WebSocket transports.
//
// Logging: a module has no access to daprd's logger, so connection losses, reconnections
// and dropped messages are written to stderr as lines in daprd's text format.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>

#include "dapr/pubsub/pubsub.h"

namespace dapr::components::pubsub {

struct MqttPubSubOptions {
  std::string host;  // a name or an address; an IPv6 address without its brackets
  int port = 1883;
  std::string username;  // from the url's user info, percent-decoded
  std::string password;
  std::string consumer_id;  // the subscriber's client id
  int qos = 1;
  bool retain = false;
  bool clean_session = false;
  // backOffMaxRetries: redeliveries of a failed message before it is dropped; 0 or -1
  // (the default 0, as Dapr's) means until its delivery succeeds or the component closes.
  long long max_retries = 0;
  std::chrono::milliseconds backoff_initial{1000};
  std::chrono::milliseconds backoff_max{30000};
  size_t concurrency = 10;   // deliveries in flight (unanswered), across topics
  size_t queue_depth = 100;  // messages received and not answered yet

  std::string ProducerId() const { return consumer_id + "-producer"; }
  std::string Address() const;  // host:port, for messages
};

// Reads the metadata of metadata.yaml; an error names the key and never quotes the password.
Result<MqttPubSubOptions> ParseMqttPubSubOptions(const ComponentMetadata& metadata);

class MqttPubSub final : public ::dapr::pubsub::PubSub {
 public:
  MqttPubSub() = default;
  ~MqttPubSub() override;
  MqttPubSub(const MqttPubSub&) = delete;
  MqttPubSub& operator=(const MqttPubSub&) = delete;

  Status Init(const ComponentMetadata& metadata) override;
  // Dapr's mqtt3 reports wildcards ("+", "#" in Subscribe), and so does this one.
  ::dapr::pubsub::Features GetFeatures() const override {
    ::dapr::pubsub::Features features;
    features.subscribe_wildcards = true;
    return features;
  }
  // The request's "retain" metadata ("true"/"false") overrides the component's `retain`.
  Status Publish(const ::dapr::pubsub::PublishRequest& request) override;
  // A topic filter, with MQTT wildcards; "$share/<group>/<filter>" for a shared
  // subscription. The handler's Message.topic is the topic each message was published to;
  // its metadata has "retained" ("true" for a retained message sent on subscribing).
  Status Subscribe(const ::dapr::pubsub::SubscribeRequest& request,
                   ::dapr::pubsub::MessageHandler handler) override;
  // Ends the subscription to this filter (exactly as subscribed): no delivery for it starts
  // after this returns, and the broker is sent UNSUBSCRIBE. What it had received and not
  // delivered stays queued for another matching subscription (see the header comment on what
  // is lost when the process ends).
  Status Unsubscribe(const std::string& topic) override;
  // Stops reading and dispatching, disconnects, and waits for the threads (at most ~2 s for
  // a thread stuck connecting to an unresponsive host, which is then left to end by itself).
  void Close() override;

  // Defined in mqtt_pubsub.cc.
  class Connection;  // one MQTT client and its network thread
  class Inbox;       // the subscriptions, the per-topic queues and the dispatcher thread

 private:
  MqttPubSubOptions options_;
  std::mutex subscribe_mutex_;  // one Subscribe at a time: they share the first connect
  std::mutex mutex_;            // guards the members below
  bool closed_ = false;
  std::shared_ptr<Connection> producer_;
  std::shared_ptr<Connection> consumer_;  // made by the first Subscribe
  std::shared_ptr<Inbox> inbox_;
};

}  // namespace dapr::components::pubsub
