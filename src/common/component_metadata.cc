#include "dapr/component_metadata.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>

#include "dapr/registry.h"

namespace dapr {

std::string ToLower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool CaseInsensitiveLess::operator()(std::string_view a, std::string_view b) const {
  return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(),
                                      [](unsigned char x, unsigned char y) {
                                        return std::tolower(x) < std::tolower(y);
                                      });
}

std::optional<bool> ParseBool(std::string_view text) {
  std::string v = ToLower(text);
  if (v == "true" || v == "1" || v == "yes" || v == "on" || v == "y") return true;
  if (v == "false" || v == "0" || v == "no" || v == "off" || v == "n" || v.empty()) return false;
  return std::nullopt;
}

Result<std::chrono::milliseconds> ParseGoDuration(std::string_view text) {
  auto bad = [&] { return InvalidArgument("invalid duration \"" + std::string(text) + "\""); };
  if (text.empty()) return bad();
  double number = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (ec == std::errc() && end == text.data() + text.size()) {
    return std::chrono::milliseconds(static_cast<long long>(std::llround(number * 1000)));
  }
  double total_ms = 0;
  size_t i = 0;
  while (i < text.size()) {
    const char* start = text.data() + i;
    auto [num_end, num_ec] = std::from_chars(start, text.data() + text.size(), number);
    if (num_ec != std::errc()) return bad();
    i = static_cast<size_t>(num_end - text.data());
    size_t unit_start = i;
    while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i]))) ++i;
    std::string_view unit = text.substr(unit_start, i - unit_start);
    double scale = 0;
    if (unit == "h") scale = 3600e3;
    else if (unit == "m") scale = 60e3;
    else if (unit == "s") scale = 1e3;
    else if (unit == "ms") scale = 1;
    else if (unit == "us" || unit == "µs") scale = 1e-3;
    else if (unit == "ns") scale = 1e-6;
    else return bad();
    total_ms += number * scale;
  }
  return std::chrono::milliseconds(static_cast<long long>(std::llround(total_ms)));
}

std::optional<std::string> ComponentMetadata::Get(std::string_view key) const {
  auto it = properties_.find(key);
  if (it == properties_.end()) return std::nullopt;
  return it->second;
}

std::string ComponentMetadata::GetOr(std::string_view key, std::string_view fallback) const {
  auto value = Get(key);
  return value && !value->empty() ? *value : std::string(fallback);
}

Result<bool> ComponentMetadata::GetBool(std::string_view key, bool fallback) const {
  auto value = Get(key);
  if (!value || value->empty()) return fallback;
  auto parsed = ParseBool(*value);
  if (!parsed) return InvalidArgument("metadata " + std::string(key) + ": not a boolean: " + *value);
  return *parsed;
}

Result<long long> ComponentMetadata::GetInt(std::string_view key, long long fallback) const {
  auto value = Get(key);
  if (!value || value->empty()) return fallback;
  long long out = 0;
  auto [end, ec] = std::from_chars(value->data(), value->data() + value->size(), out);
  if (ec != std::errc() || end != value->data() + value->size()) {
    return InvalidArgument("metadata " + std::string(key) + ": not an integer: " + *value);
  }
  return out;
}

Result<std::chrono::milliseconds> ComponentMetadata::GetDuration(
    std::string_view key, std::chrono::milliseconds fallback) const {
  auto value = Get(key);
  if (!value || value->empty()) return fallback;
  auto parsed = ParseGoDuration(*value);
  if (!parsed.ok()) return InvalidArgument("metadata " + std::string(key) + ": " + parsed.error().message());
  return parsed.value();
}

}  // namespace dapr
