#include "common/json_scan.h"

// RapidJSON's SSE2 string scanning (every x86-64 CPU has SSE2).
#if defined(__SSE2__) && !defined(RAPIDJSON_SSE2)
#define RAPIDJSON_SSE2
#endif
#include <rapidjson/reader.h>
#include <rapidjson/stream.h>

#include <algorithm>

#include "common/utf8.h"

namespace dapr::json_scan {
namespace {

namespace rj = rapidjson;
// UTF-8 is checked apart, over the whole text, 8 ASCII bytes at a time: RapidJSON's own check
// goes one character at a time and was the largest part of a scan. Outside strings JSON is
// ASCII, so the two checks accept the same texts.
constexpr unsigned kFlags = rj::kParseIterativeFlag;

// Parses all of text with handler, in place in a copy of it: RapidJSON then points the
// handler at the strings where they lie (unescaped in place) instead of copying every one
// character by character, and scans them 16 bytes at a time. The copy is one memcpy into a
// buffer the thread keeps. A NUL byte reads as the end of the input to RapidJSON, so the
// whole text must have been consumed.
template <class Handler>
bool Parse(std::string_view text, Handler& handler) {
  if (!IsValidUtf8(text)) return false;
  constexpr size_t kKeptBuffer = 64 * 1024;  // a larger one is given back after use
  thread_local std::string buffer;
  buffer.assign(text);
  rj::InsituStringStream stream(buffer.data());
  rj::Reader reader;
  const bool parsed = !reader.Parse<kFlags | rj::kParseInsituFlag>(stream, handler).IsError() &&
                      stream.Tell() == text.size();
  if (buffer.capacity() > kKeptBuffer) std::string().swap(buffer);
  return parsed;
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
