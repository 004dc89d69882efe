#include "common/json_scan.h"

#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

#include <algorithm>

namespace dapr::json_scan {
namespace {

namespace rj = rapidjson;
constexpr unsigned kFlags = rj::kParseIterativeFlag | rj::kParseValidateEncodingFlag;

// Parses all of text with handler. A NUL byte reads as the end of the input to RapidJSON,
// so the whole text must have been consumed.
template <class Handler>
bool Parse(std::string_view text, Handler& handler) {
  rj::MemoryStream stream(text.data(), text.size());
  rj::Reader reader;
  if (reader.Parse<kFlags>(stream, handler).IsError()) return false;
  return stream.Tell() == text.size();
}

struct Accept : rj::BaseReaderHandler<rj::UTF8<>, Accept> {};

// Records the wanted top-level string members; depth counts open objects and arrays.
struct TopLevel : rj::BaseReaderHandler<rj::UTF8<>, TopLevel> {
  explicit TopLevel(const std::vector<std::string_view>& w) : wanted(w) {}

  bool StartObject() {
    if (depth == 0) root_is_object = true;
    ++depth;
    key_wanted = false;
    return true;
  }
  bool EndObject(rj::SizeType) { return --depth, key_wanted = false, true; }
  bool StartArray() { return ++depth, key_wanted = false, true; }
  bool EndArray(rj::SizeType) { return --depth, key_wanted = false, true; }
  bool Key(const char* text, rj::SizeType length, bool) {
    if (depth == 1) {
      key.assign(text, length);
      key_wanted = std::find(wanted.begin(), wanted.end(), std::string_view(key)) != wanted.end();
    }
    return true;
  }
  bool String(const char* text, rj::SizeType length, bool) {
    if (depth == 1 && key_wanted) fields.emplace_back(std::move(key), std::string(text, length));
    key_wanted = false;
    return true;
  }
  // Any other value (number, bool, null) ends a wanted member without recording it.
  bool Default() { return key_wanted = false, true; }

  const std::vector<std::string_view>& wanted;
  int depth = 0;
  bool root_is_object = false;
  bool key_wanted = false;
  std::string key;
  Fields fields;
};

}  // namespace

bool IsJson(std::string_view text) {
  Accept handler;
  return Parse(text, handler);
}

std::optional<Fields> TopLevelStrings(std::string_view text, const std::vector<std::string_view>& wanted) {
  TopLevel handler(wanted);
  if (!Parse(text, handler) || !handler.root_is_object) return std::nullopt;
  return std::move(handler.fields);
}

}  // namespace dapr::json_scan
