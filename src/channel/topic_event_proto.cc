// The app callback protos of pub/sub deliveries, from the block's events (topic_event_proto.h).
#include "channel/topic_event_proto.h"

#include <google/protobuf/util/json_util.h>

#include <algorithm>

#include "common/base64.h"

namespace dapr::channel {
namespace {

namespace ps = blocks::pubsub;
namespace rt = ::dapr::proto::runtime::v1;
using Json = nlohmann::json;

std::string Text(const Json& event, const char* field) {
  auto it = event.find(field);
  return it != event.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// The CloudEvent's payload as bytes: JSON data as its text, a string as itself,
// data_base64 decoded.
std::string DataBytes(const Json& event) {
  if (auto b64 = event.find("data_base64"); b64 != event.end() && b64->is_string()) {
    return Base64Decode(b64->get_ref<const std::string&>()).value_or(std::string());
  }
  auto data = event.find("data");
  if (data == event.end() || data->is_null()) return {};
  if (data->is_string()) return data->get<std::string>();
  return data->dump(-1, ' ', false, Json::error_handler_t::replace);
}

// The CloudEvent's fields that are not its own proto fields: its extensions.
void SetExtensions(const Json& ce, google::protobuf::Struct* extensions_out) {
  static const char* kCoreFields[] = {"id", "source", "type", "specversion", "datacontenttype",
                                      "data", "data_base64", "topic", "pubsubname"};
  Json extensions = Json::object();
  for (const auto& [key, value] : ce.items()) {
    if (std::find(std::begin(kCoreFields), std::end(kCoreFields), key) == std::end(kCoreFields)) {
      extensions[key] = value;
    }
  }
  if (extensions.empty()) return;
  auto status = google::protobuf::util::JsonStringToMessage(
      extensions.dump(-1, ' ', false, Json::error_handler_t::replace), extensions_out);
  if (!status.ok()) extensions_out->Clear();
}

}  // namespace

rt::TopicEventRequest ToProto(const ps::TopicEvent& e) {
  rt::TopicEventRequest request;
  const Json& ce = e.cloud_event;
  request.set_id(Text(ce, "id"));
  request.set_source(Text(ce, "source"));
  request.set_type(Text(ce, "type"));
  request.set_spec_version(Text(ce, "specversion"));
  request.set_data_content_type(Text(ce, "datacontenttype"));
  request.set_data(DataBytes(ce));
  request.set_topic(e.topic);
  request.set_pubsub_name(e.pubsub_name);
  request.set_path(e.path);
  SetExtensions(ce, request.mutable_extensions());
  return request;
}

// A raw entry goes as its bytes; any other as the CloudEvent's fields.
rt::TopicEventBulkRequest ToProto(ps::BulkTopicEvent& e) {
  rt::TopicEventBulkRequest request;
  request.set_id(e.id);
  request.set_topic(e.topic);
  request.set_pubsub_name(e.pubsub_name);
  request.set_type("com.dapr.event.sent.bulk");
  request.set_path(e.path);
  for (auto& [k, v] : e.metadata) (*request.mutable_metadata())[k] = v;
  for (auto& entry : e.entries) {
    auto* out = request.add_entries();
    out->set_entry_id(entry.entry_id);
    for (auto& [k, v] : entry.metadata) (*out->mutable_metadata())[k] = v;
    if (entry.is_raw) {
      out->set_bytes(std::move(entry.raw));
      out->set_content_type("application/octet-stream");
      continue;
    }
    out->set_content_type("application/cloudevents+json");
    const Json& ce = entry.cloud_event;
    auto* event = out->mutable_cloud_event();
    event->set_id(Text(ce, "id"));
    event->set_source(Text(ce, "source"));
    event->set_type(Text(ce, "type"));
    event->set_spec_version(Text(ce, "specversion"));
    event->set_data_content_type(Text(ce, "datacontenttype"));
    event->set_data(DataBytes(ce));
    SetExtensions(ce, event->mutable_extensions());
  }
  return request;
}

ps::Outcome OutcomeOf(rt::TopicEventResponse::TopicEventResponseStatus status) {
  switch (status) {
    case rt::TopicEventResponse::SUCCESS: return ps::Outcome::kSuccess;
    case rt::TopicEventResponse::DROP: return ps::Outcome::kDrop;
    default: return ps::Outcome::kRetry;
  }
}

}  // namespace dapr::channel
