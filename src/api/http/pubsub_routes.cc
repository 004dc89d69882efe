// HTTP adapters for the pub/sub block: publish and bulk publish.
#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

#include "api/http/error_response.h"
#include "api/http/routes.h"
#include "blocks/pubsub/cloud_event.h"
#include "blocks/pubsub/pubsub_block.h"
#include "common/base64.h"
#include "common/trace_context.h"

namespace dapr::http {
namespace {

using Json = nlohmann::json;

std::string Dump(const Json& value) { return value.dump(-1, ' ', false, Json::error_handler_t::replace); }

std::string HeaderOr(const HttpRequest& request, std::string_view name) {
  auto value = request.Header(name);
  return value ? std::string(*value) : std::string();
}

void Publish(const blocks::PubSubBlock& block, std::shared_ptr<HttpRequest> request, Responder respond) {
  blocks::PublishItem item;
  item.pubsub_name = request->params.at("pubsubname");
  item.topic = request->params.count("topic") ? request->params.at("topic") : "";
  item.content_type = HeaderOr(*request, "content-type");
  item.metadata = request->MetadataParams();
  item.traceparent = trace::ContinueTrace(request->Header("traceparent"));
  item.tracestate = HeaderOr(*request, "tracestate");
  item.data = std::move(request->body);
  block.Publish(std::move(item), [respond = std::move(respond)](blocks::ApiResult<blocks::Done> result) {
    respond(result.ok() ? NoContent() : ErrorResponse(result.error()));
  });
}

// An entry's event as bytes, by its content type: JSON as its text, binary from base64,
// text as the string.
blocks::ApiResult<std::string> EntryBytes(const Json& event, const std::string& content_type,
                                          const std::string& pubsub, const std::string& topic) {
  if (blocks::pubsub::IsJsonContentType(content_type)) return Dump(event);
  if (content_type.rfind("application/octet-stream", 0) == 0) {
    auto bytes = event.is_string() ? Base64Decode(event.get_ref<const std::string&>()) : std::nullopt;
    if (!bytes) return blocks::errors::PubSubMarshalEvents(pubsub, topic, "an application/octet-stream event must be a base64 string");
    return std::move(*bytes);
  }
  if (event.is_string()) return event.get<std::string>();
  return blocks::errors::PubSubMarshalEvents(pubsub, topic, "an event of type " + content_type + " must be a string");
}

// A field of an entry. Dapr reads the body with Go's encoding/json, which matches names
// without regard to case: the JS SDK sends "entryID".
const Json* Field(const Json& object, std::string_view name) {
  for (auto it = object.begin(); it != object.end(); ++it) {
    const std::string& key = it.key();
    if (key.size() == name.size() &&
        std::equal(key.begin(), key.end(), name.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
        })) {
      return &it.value();
    }
  }
  return nullptr;
}

std::string TextField(const Json& object, std::string_view name) {
  const Json* value = Field(object, name);
  return value && value->is_string() ? value->get<std::string>() : std::string();
}

blocks::ApiResult<blocks::BulkPublishItem> ParseBulkBody(HttpRequest& request) {
  blocks::BulkPublishItem item;
  item.pubsub_name = request.params.at("pubsubname");
  item.topic = request.params.count("topic") ? request.params.at("topic") : "";
  item.metadata = request.MetadataParams();
  item.traceparent = trace::ContinueTrace(request.Header("traceparent"));
  item.tracestate = HeaderOr(request, "tracestate");
  Json body = Json::parse(request.body, nullptr, false);
  if (body.is_discarded() || !body.is_array()) {
    return blocks::errors::PubSubUnmarshalEvents(item.pubsub_name, item.topic, "the body must be a JSON array of entries");
  }
  for (const auto& entry : body) {
    if (!entry.is_object()) {
      return blocks::errors::PubSubUnmarshalEvents(item.pubsub_name, item.topic, "an entry is not an object");
    }
    blocks::BulkPublishEntryItem out;
    out.entry_id = TextField(entry, "entryId");
    out.content_type = TextField(entry, "contentType");
    if (out.content_type.empty()) {
      return blocks::errors::PubSubMarshalEvents(item.pubsub_name, item.topic, "contentType is required for entry " + out.entry_id);
    }
    const Json* event = Field(entry, "event");
    auto bytes = EntryBytes(event ? *event : Json(), out.content_type, item.pubsub_name, item.topic);
    if (!bytes.ok()) return bytes.take_error();
    out.event = std::move(bytes).value();
    if (const Json* metadata = Field(entry, "metadata"); metadata && metadata->is_object()) {
      for (const auto& [k, v] : metadata->items()) out.metadata[k] = v.is_string() ? v.get<std::string>() : Dump(v);
    }
    item.entries.push_back(std::move(out));
  }
  return item;
}

HttpResponse BulkAnswer(const blocks::ApiResult<blocks::BulkPublishFailures>& result) {
  if (!result.ok()) return ErrorResponse(result.error());
  if (result->empty()) return NoContent();
  Json failed = Json::array();
  for (const auto& f : result.value()) failed.push_back({{"entryId", f.entry_id}, {"error", f.error}});
  Json body = {{"failedEntries", std::move(failed)}, {"errorCode", "ERR_PUBSUB_PUBLISH_MESSAGE"}};
  return JsonResponse(500, Dump(body));
}

}  // namespace

void AddPubSubRoutes(Router& router, const blocks::PubSubBlock& block) {
  auto publish = [&block](std::shared_ptr<HttpRequest> request, Responder respond) {
    Publish(block, std::move(request), std::move(respond));
  };
  router.Add({"POST", "PUT"}, "/v1.0/publish/{pubsubname}/{topic*}", publish);
  router.Add({"POST", "PUT"}, "/v1.0/publish/{pubsubname}", publish);  // no topic: Dapr's error
  auto bulk = [&block](std::shared_ptr<HttpRequest> request, Responder respond) {
    auto item = ParseBulkBody(*request);
    if (!item.ok()) return respond(ErrorResponse(item.error()));
    block.BulkPublish(std::move(item).value(), [respond = std::move(respond)](
                                                   const blocks::ApiResult<blocks::BulkPublishFailures>& result) {
      respond(BulkAnswer(result));
    });
  };
  router.Add({"POST", "PUT"}, "/v1.0-alpha1/publish/bulk/{pubsubname}/{topic*}", bulk);
  router.Add({"POST", "PUT"}, "/v1.0-alpha1/publish/bulk/{pubsubname}", bulk);
}

}  // namespace dapr::http
