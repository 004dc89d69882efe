#include "blocks/pubsub/cloud_event.h"

#include <openssl/rand.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <nlohmann/json.hpp>
#include <random>

#include "common/base64.h"
#include "common/json_scan.h"
#include "common/time_format.h"
#include "common/utf8.h"

namespace dapr::blocks::pubsub {
namespace {

using Json = nlohmann::json;

constexpr std::string_view kDefaultType = "com.dapr.event.sent";
constexpr std::string_view kSpecVersion = "1.0";
constexpr std::string_view kCloudEventsJson = "application/cloudevents+json";

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// "Application/JSON; charset=utf-8" -> "application/json".
std::string MediaType(std::string_view content_type) {
  std::string type = Lower(content_type.substr(0, content_type.find(';')));
  auto blank = [](unsigned char c) { return std::isspace(c) != 0; };
  type.erase(type.begin(), std::find_if_not(type.begin(), type.end(), blank));
  type.erase(std::find_if_not(type.rbegin(), type.rend(), blank).base(), type.end());
  return type;
}

bool IsBinary(const std::string& media_type) {
  return media_type == "application/octet-stream" || media_type == "application/cloudevents+protobuf" ||
         media_type == "application/protobuf" || media_type == "application/x-protobuf";
}

// A metadata value by key, case-insensitively (Dapr takes cloudevent.* in any case).
std::optional<std::string> Find(const std::map<std::string, std::string>& metadata, std::string_view key) {
  for (const auto& [name, value] : metadata) {
    if (name.size() == key.size() && Lower(name) == key) return value;
  }
  return std::nullopt;
}

Result<std::optional<std::string>> Expiration(const PublishContext& context) {
  auto ttl = Find(context.metadata, "ttlinseconds");
  if (!ttl || context.broker_has_ttl) return std::optional<std::string>();
  int64_t seconds = -1;
  auto [end, error] = std::from_chars(ttl->data(), ttl->data() + ttl->size(), seconds);
  if (error != std::errc() || end != ttl->data() + ttl->size() || seconds < 0) {
    return InvalidArgument("ttlInSeconds must be a non-negative whole number of seconds, not \"" + *ttl + "\"");
  }
  return std::optional<std::string>(FormatRfc3339(context.now + std::chrono::seconds(seconds)));
}

// The payload under data (JSON or text) or data_base64 (bytes), by its content type.
void PutData(Json& event, std::string_view body, const std::string& media_type) {
  if (IsBinary(media_type)) {
    event["data_base64"] = Base64Encode(body);
    return;
  }
  if (IsJsonContentType(media_type)) {
    Json parsed = Json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
    if (!parsed.is_discarded()) {
      event["data"] = std::move(parsed);
      return;
    }
  }
  event["data"] = std::string(body);  // text, and JSON that does not parse
}

// The trace fields: an override in the metadata wins, else the publish's own context.
void PutTrace(Json& event, const PublishContext& context, bool keep_existing) {
  auto traceparent = Find(context.metadata, "cloudevent.traceparent");
  if (!traceparent) traceparent = Find(context.metadata, "cloudevent.traceid");
  std::string trace = traceparent.value_or(context.traceparent);
  // An existing envelope keeps its own trace unless the metadata overrides it.
  if (!keep_existing || !event.contains("traceid") || traceparent) {
    event["traceid"] = trace;
    event["traceparent"] = trace;
  }
  auto tracestate = Find(context.metadata, "cloudevent.tracestate");
  if (tracestate) {
    event["tracestate"] = *tracestate;
  } else if (!keep_existing || !event.contains("tracestate")) {
    event["tracestate"] = context.tracestate;
  }
}

void PutOverrides(Json& event, const PublishContext& context) {
  if (auto id = Find(context.metadata, "cloudevent.id")) event["id"] = *id;
  if (auto source = Find(context.metadata, "cloudevent.source")) event["source"] = *source;
  if (auto type = Find(context.metadata, "cloudevent.type")) event["type"] = *type;
}

void PutIfMissing(Json& event, const char* field, std::string_view value) {
  if (!event.contains(field)) event[field] = std::string(value);
}

// A JSON string: the bytes as they are when nothing in them needs escaping (the usual
// id, topic, time or trace header), else nlohmann's escaping, invalid UTF-8 replaced.
void AppendJsonString(std::string& out, std::string_view value) {
  bool plain = std::none_of(value.begin(), value.end(), [](char c) {
    auto byte = static_cast<unsigned char>(c);
    return byte < 0x20 || c == '"' || c == '\\';
  });
  if (plain && IsValidUtf8(value)) {
    out.push_back('"');
    out.append(value);
    out.push_back('"');
    return;
  }
  out.append(Json(std::string(value)).dump(-1, ' ', false, Json::error_handler_t::replace));
}

void AppendField(std::string& out, std::string_view key, std::string_view value) {
  if (out.size() > 1) out.push_back(',');  // out holds at least the opening brace
  out.push_back('"');
  out.append(key);
  out.append("\":");
  AppendJsonString(out, value);
}

// A new envelope written field by field, without a tree: the publish hot path. The fields
// come in the order nlohmann's sorted object printed them, so the text is the same as the
// tree's; JSON data (splice_json) goes in last, as it came; text as a string, binary as base64.
std::string WriteNewEnvelope(std::string_view body, const PublishContext& context, bool splice_json,
                             const std::optional<std::string>& expiration) {
  const std::string media_type = MediaType(context.content_type);
  const bool binary = IsBinary(media_type);
  std::string out;
  out.reserve(400 + context.topic.size() + context.traceparent.size() + context.tracestate.size() +
              (binary ? body.size() * 4 / 3 + 4 : body.size() + body.size() / 8));
  out.push_back('{');
  if (!splice_json) {
    if (binary) {
      AppendField(out, "data_base64", Base64Encode(body));
    } else {
      AppendField(out, "data", body);
    }
  }
  AppendField(out, "datacontenttype", context.content_type.empty() ? std::string_view("text/plain") : context.content_type);
  if (expiration) AppendField(out, "expiration", *expiration);
  auto id = Find(context.metadata, "cloudevent.id");
  AppendField(out, "id", id ? *id : context.id.empty() ? NewUuid() : context.id);
  AppendField(out, "pubsubname", context.pubsub_name);
  auto source = Find(context.metadata, "cloudevent.source");
  AppendField(out, "source", source ? *source : context.app_id.empty() ? std::string("Dapr") : context.app_id);
  AppendField(out, "specversion", kSpecVersion);
  AppendField(out, "time", FormatRfc3339(context.now));
  AppendField(out, "topic", context.topic);
  auto traceparent = Find(context.metadata, "cloudevent.traceparent");
  if (!traceparent) traceparent = Find(context.metadata, "cloudevent.traceid");
  const std::string& trace = traceparent ? *traceparent : context.traceparent;
  AppendField(out, "traceid", trace);
  AppendField(out, "traceparent", trace);
  auto tracestate = Find(context.metadata, "cloudevent.tracestate");
  AppendField(out, "tracestate", tracestate ? *tracestate : context.tracestate);
  auto type = Find(context.metadata, "cloudevent.type");
  AppendField(out, "type", type ? std::string_view(*type) : kDefaultType);
  if (splice_json) out.append(",\"data\":").append(body);
  out.push_back('}');
  return out;
}

}  // namespace

bool IsJsonContentType(std::string_view content_type) {
  std::string type = MediaType(content_type);
  return type == "application/json" || type == "text/json" ||
         (type.size() > 5 && type.ends_with("+json"));
}

// Event ids must be unique, not secret: a per-thread generator seeded once from OpenSSL
// (256 bits), instead of a locked call into OpenSSL's DRBG for every publish.
std::string NewUuid() {
  thread_local std::mt19937_64 generator = [] {
    uint32_t seed[8];
    if (RAND_bytes(reinterpret_cast<unsigned char*>(seed), sizeof seed) != 1) {
      std::random_device device;  // never expected; still unique per thread and process
      for (auto& word : seed) word = device();
    }
    std::seed_seq sequence(std::begin(seed), std::end(seed));
    return std::mt19937_64(sequence);
  }();
  unsigned char bytes[16];
  for (int half = 0; half < 2; ++half) {
    uint64_t word = generator();
    for (int i = 0; i < 8; ++i) bytes[half * 8 + i] = static_cast<unsigned char>(word >> (8 * i));
  }
  bytes[6] = static_cast<unsigned char>((bytes[6] & 0x0f) | 0x40);  // version 4
  bytes[8] = static_cast<unsigned char>((bytes[8] & 0x3f) | 0x80);  // RFC 4122 variant
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += kHex[bytes[i] >> 4];
    out += kHex[bytes[i] & 0x0f];
  }
  return out;
}

Result<std::string> BuildCloudEvent(std::string_view body, const PublishContext& context) {
  auto expiration = Expiration(context);
  if (!expiration.ok()) return expiration.error();
  std::string media_type = MediaType(context.content_type);
  bool existing = media_type == kCloudEventsJson;
  if (!existing) {
    // JSON that does not pass the check goes through the tree below, which may still take it.
    const bool json = IsJsonContentType(media_type);
    const bool splice_json = json && json_scan::IsJson(body);
    if (splice_json || !json) return WriteNewEnvelope(body, context, splice_json, *expiration);
  }
  Json event;
  // JSON data is checked (no tree built) and written into the envelope's text as it came,
  // not parsed and printed again: that was a tenth of a publish's CPU. The same meaning as
  // Dapr's (which re-encodes it), only its blanks may differ.
  bool splice_data = false;
  if (existing) {
    event = Json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
    if (event.is_discarded() || !event.is_object()) {
      return InvalidArgument("the body is declared application/cloudevents+json but is not a JSON object");
    }
    PutIfMissing(event, "id", context.id.empty() ? NewUuid() : context.id);
    PutIfMissing(event, "source", "Dapr");
    PutIfMissing(event, "type", kDefaultType);
    PutIfMissing(event, "specversion", kSpecVersion);
    PutIfMissing(event, "time", FormatRfc3339(context.now));
  } else {
    event["id"] = context.id.empty() ? NewUuid() : context.id;
    event["source"] = context.app_id.empty() ? std::string("Dapr") : context.app_id;
    event["type"] = std::string(kDefaultType);
    event["specversion"] = std::string(kSpecVersion);
    event["datacontenttype"] = context.content_type.empty() ? std::string("text/plain") : context.content_type;
    event["time"] = FormatRfc3339(context.now);
    splice_data = IsJsonContentType(media_type) && json_scan::IsJson(body);
    if (!splice_data) PutData(event, body, media_type.empty() ? std::string("text/plain") : media_type);
  }
  PutOverrides(event, context);
  PutTrace(event, context, existing);
  event["topic"] = context.topic;
  event["pubsubname"] = context.pubsub_name;
  if (*expiration) event["expiration"] = **expiration;
  // Bytes that are not UTF-8 in a text body are replaced rather than refused.
  std::string text = event.dump(-1, ' ', false, Json::error_handler_t::replace);
  if (splice_data) {
    text.pop_back();  // the closing brace; the envelope always has fields before data
    text.reserve(text.size() + body.size() + 10);
    text.append(",\"data\":").append(body).push_back('}');
  }
  return text;
}

}  // namespace dapr::blocks::pubsub
