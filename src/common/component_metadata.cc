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
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  std::string v = ToLower(text);
  if (v == "true" || v == "t" || v == "1" || v == "yes" || v == "y" || v == "on") return true;
  if (v == "false" || v == "f" || v == "0" || v == "no" || v == "n" || v == "off" || v.empty()) {
    return false;
  }
  return std::nullopt;
}

namespace {

// A non-negative decimal number without exponent, inf or nan, as Go durations allow.
std::optional<double> ParseDecimal(std::string_view text, size_t& pos) {
  size_t start = pos;
  bool digits = false;
  while (pos < text.size() && (std::isdigit(static_cast<unsigned char>(text[pos])) || text[pos] == '.')) {
    digits = digits || text[pos] != '.';
    ++pos;
  }
  if (!digits) return std::nullopt;
  double value = 0;
  auto [end, ec] = std::from_chars(text.data() + start, text.data() + pos, value);
  if (ec != std::errc() || end != text.data() + pos) return std::nullopt;
  return value;
}

std::optional<double> UnitScaleMs(std::string_view unit) {
  if (unit == "h") return 3600e3;
  if (unit == "m") return 60e3;
  if (unit == "s") return 1e3;
  if (unit == "ms") return 1;
  if (unit == "us" || unit == "\u00b5s" || unit == "\u03bcs") return 1e-3;
  if (unit == "ns") return 1e-6;
  return std::nullopt;
}

}  // namespace

Result<std::chrono::milliseconds> ParseGoDuration(std::string_view text) {
  auto bad = [&] { return InvalidArgument("invalid duration \"" + std::string(text) + "\""); };
  // Longer than this overflows Go's int64 nanoseconds, so Go rejects it too.
  constexpr double kMaxMs = 9.2e15;
  size_t pos = 0;
  bool negative = !text.empty() && text[0] == '-';
  if (negative || (!text.empty() && text[0] == '+')) ++pos;
  if (pos >= text.size()) return bad();
  double total_ms = 0;
  bool bare = true;
  while (pos < text.size()) {
    auto number = ParseDecimal(text, pos);
    if (!number) return bad();
    size_t unit_start = pos;
    while (pos < text.size() && !std::isdigit(static_cast<unsigned char>(text[pos])) && text[pos] != '.') ++pos;
    std::string_view unit = text.substr(unit_start, pos - unit_start);
    if (unit.empty()) {
      // A bare number (Dapr accepts seconds) must be the whole text.
      if (!bare || pos != text.size()) return bad();
      total_ms = *number * 1e3;
      break;
    }
    bare = false;
    auto scale = UnitScaleMs(unit);
    if (!scale) return bad();
    total_ms += *number * *scale;
  }
  if (!(total_ms <= kMaxMs)) return bad();
  auto ms = static_cast<long long>(std::llround(total_ms));
  return std::chrono::milliseconds(negative ? -ms : ms);
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

Result<long long> ComponentMetadata::GetIntInRange(std::string_view key, long long fallback, long long low,
                                                   long long high) const {
  auto value = GetInt(key, fallback);
  if (!value.ok()) return value;
  if (value.value() < low || value.value() > high) {
    return InvalidArgument("metadata " + std::string(key) + ": must be between " + std::to_string(low) + " and " +
                           std::to_string(high));
  }
  return value;
}

Status ComponentMetadata::ReadIntInRange(std::string_view key, long long low, long long high,
                                         long long& value) const {
  auto read = GetIntInRange(key, value, low, high);
  if (!read.ok()) return read.error();
  value = read.value();
  return Status::Ok();
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
