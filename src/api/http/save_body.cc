#include "api/http/save_body.h"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <optional>

#include "common/utf8.h"

namespace dapr::http {
namespace {

namespace rj = rapidjson;
using blocks::ApiError;
using blocks::StateItem;
using Writer = rj::Writer<rj::StringBuffer>;

ApiError Malformed(std::string message) { return blocks::errors::MalformedRequest(std::move(message)); }

std::string_view Text(const rj::Value& value) {
  return std::string_view(value.GetString(), value.GetStringLength());
}

// Writes a value compactly, object members in key order.
void WriteSorted(const rj::Value& value, Writer& writer) {
  if (value.IsObject()) {
    std::vector<const rj::Value::Member*> members;
    members.reserve(value.MemberCount());
    for (const auto& member : value.GetObject()) members.push_back(&member);
    std::stable_sort(members.begin(), members.end(), [](const auto* a, const auto* b) {
      return Text(a->name) < Text(b->name);
    });
    writer.StartObject();
    for (const auto* member : members) {
      writer.Key(member->name.GetString(), member->name.GetStringLength());
      WriteSorted(member->value, writer);
    }
    writer.EndObject();
  } else if (value.IsArray()) {
    writer.StartArray();
    for (const auto& element : value.GetArray()) WriteSorted(element, writer);
    writer.EndArray();
  } else {
    value.Accept(writer);
  }
}

std::string Compact(const rj::Value& value) {
  rj::StringBuffer buffer;
  Writer writer(buffer);
  WriteSorted(value, writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

// A string as itself; anything else as its JSON text (Dapr's metadata is string to string).
std::string AsText(const rj::Value& value) {
  return value.IsString() ? std::string(Text(value)) : Compact(value);
}

const rj::Value* Member(const rj::Value& object, const char* name) {
  auto it = object.FindMember(name);
  return it == object.MemberEnd() ? nullptr : &it->value;
}

std::optional<std::string_view> OptionText(const rj::Value& options, const char* name) {
  const rj::Value* value = Member(options, name);
  if (!value || value->IsNull()) return std::string_view();
  if (!value->IsString()) return std::nullopt;
  return Text(*value);
}

blocks::ApiResult<state::Options> ParseOptions(const rj::Value* value) {
  state::Options options;
  if (!value || value->IsNull()) return options;
  if (!value->IsObject()) return Malformed("options must be an object");
  auto concurrency = OptionText(*value, "concurrency");
  if (!concurrency || (!concurrency->empty() && *concurrency != "first-write" &&
                       *concurrency != "last-write")) {
    return Malformed("invalid concurrency option");
  }
  auto consistency = OptionText(*value, "consistency");
  if (!consistency || (!consistency->empty() && *consistency != "eventual" &&
                       *consistency != "strong")) {
    return Malformed("invalid consistency option");
  }
  if (*concurrency == "first-write") options.concurrency = state::Concurrency::kFirstWrite;
  if (*concurrency == "last-write") options.concurrency = state::Concurrency::kLastWrite;
  if (*consistency == "eventual") options.consistency = state::Consistency::kEventual;
  if (*consistency == "strong") options.consistency = state::Consistency::kStrong;
  return options;
}

blocks::ApiResult<StateItem> ParseItem(const rj::Value& object, const state::Metadata& query_metadata) {
  if (!object.IsObject()) return Malformed("state item must be an object");
  const rj::Value* key = Member(object, "key");
  if (!key || !key->IsString()) return Malformed("\"key\" is a required field");
  StateItem item;
  item.key = Text(*key);
  const rj::Value* value = Member(object, "value");
  item.value = value ? Compact(*value) : "null";
  if (const rj::Value* etag = Member(object, "etag"); etag && !etag->IsNull()) {
    item.etag = AsText(*etag);
  }
  if (const rj::Value* metadata = Member(object, "metadata"); metadata && !metadata->IsNull()) {
    if (!metadata->IsObject()) return Malformed("metadata must be an object");
    for (const auto& entry : metadata->GetObject()) {
      item.metadata[std::string(Text(entry.name))] = AsText(entry.value);
    }
  }
  for (const auto& [k, v] : query_metadata) item.metadata[k] = v;
  auto options = ParseOptions(Member(object, "options"));
  if (!options.ok()) return options.take_error();
  item.options = *options;
  return item;
}

}  // namespace

blocks::ApiResult<std::vector<StateItem>> ParseSaveBody(std::string_view body,
                                                        const state::Metadata& query_metadata) {
  // Encoding checked apart: RapidJSON's own check goes one character at a time.
  rj::Document document;
  document.Parse<rj::kParseFullPrecisionFlag>(body.data(), body.size());
  if (document.HasParseError() || !IsValidUtf8(body)) {
    return Malformed("failed deserializing HTTP body: invalid JSON");
  }
  if (!document.IsArray()) {
    return Malformed("failed deserializing HTTP body: expected an array of state items");
  }
  std::vector<StateItem> items;
  items.reserve(document.Size());
  for (const auto& object : document.GetArray()) {
    auto item = ParseItem(object, query_metadata);
    if (!item.ok()) return item.take_error();
    items.push_back(std::move(item).value());
  }
  return items;
}

}  // namespace dapr::http
