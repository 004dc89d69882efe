// The CloudEvent (spec 1.0) envelope a sidecar wraps around a published message, as Dapr
// builds it: id, source (the publishing app), type, specversion, datacontenttype, topic,
// pubsubname, time, the trace context, and the payload as JSON, text or base64 by its
// content type. A body that already is a CloudEvent (application/cloudevents+json) keeps
// its fields, with topic and pubsubname overwritten and what is missing filled in.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "dapr/status.h"

namespace dapr::blocks::pubsub {

// What the sidecar knows about one publish, besides the body.
struct PublishContext {
  std::string app_id;
  std::string pubsub_name;
  std::string topic;
  std::string content_type;  // the request's; empty: text/plain
  std::string traceparent;   // the publish's W3C trace context, if any
  std::string tracestate;
  // The request's metadata: cloudevent.id, cloudevent.source, cloudevent.type,
  // cloudevent.traceparent, cloudevent.tracestate, cloudevent.traceid override the
  // envelope's fields (keys compared without regard to case); ttlInSeconds sets expiration.
  std::map<std::string, std::string> metadata;
  std::chrono::system_clock::time_point now = std::chrono::system_clock::now();
  std::string id;  // the event id when no override names one; empty: a new UUIDv4
  // The broker expires messages itself (the MESSAGE_TTL feature): no expiration field.
  bool broker_has_ttl = false;
};

// The envelope, serialized as JSON. InvalidArgument for a body declared
// application/cloudevents+json that is not a JSON object, or a ttlInSeconds that is not a
// non-negative whole number.
Result<std::string> BuildCloudEvent(std::string_view body, const PublishContext& context);

// Whether a content type is JSON (application/json, +json suffixes, with parameters).
bool IsJsonContentType(std::string_view content_type);

// A random RFC 4122 version 4 UUID, lower-case hex with dashes.
std::string NewUuid();

}  // namespace dapr::blocks::pubsub
