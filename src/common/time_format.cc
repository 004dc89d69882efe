#include "common/time_format.h"

#include <cctype>
#include <ctime>

namespace dapr {

std::string FormatRfc3339(std::chrono::system_clock::time_point instant) {
  std::time_t seconds = std::chrono::system_clock::to_time_t(instant);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return buffer;
}

namespace {

// The digits of text[at, at + count) as a number, or -1 when one is not a digit.
int Digits(std::string_view text, size_t at, size_t count) {
  if (at + count > text.size()) return -1;
  int value = 0;
  for (size_t i = at; i < at + count; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(text[i]))) return -1;
    value = value * 10 + (text[i] - '0');
  }
  return value;
}

}  // namespace

std::optional<std::chrono::system_clock::time_point> ParseRfc3339(std::string_view text) {
  using namespace std::chrono;
  // YYYY-MM-DDTHH:MM:SS: 19 characters with fixed separators.
  if (text.size() < 20 || text[4] != '-' || text[7] != '-' || (text[10] != 'T' && text[10] != 't') ||
      text[13] != ':' || text[16] != ':') {
    return std::nullopt;
  }
  const int y = Digits(text, 0, 4), mo = Digits(text, 5, 2), d = Digits(text, 8, 2);
  const int h = Digits(text, 11, 2), mi = Digits(text, 14, 2), s = Digits(text, 17, 2);
  if (y < 0 || mo < 0 || d < 0 || h < 0 || mi < 0 || s < 0 || h > 23 || mi > 59 || s > 60) return std::nullopt;
  const year_month_day date{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
  if (!date.ok()) return std::nullopt;
  size_t at = 19;
  nanoseconds fraction{0};
  if (text[at] == '.') {
    size_t digits = 0;
    long long scale = 100'000'000;
    for (++at; at < text.size() && std::isdigit(static_cast<unsigned char>(text[at])); ++at, ++digits) {
      fraction += nanoseconds((text[at] - '0') * scale);
      scale /= 10;
    }
    if (digits == 0) return std::nullopt;
  }
  minutes offset{0};
  if (at < text.size() && (text[at] == 'Z' || text[at] == 'z')) {
    ++at;
  } else if (at < text.size() && (text[at] == '+' || text[at] == '-')) {
    const int oh = Digits(text, at + 1, 2), om = Digits(text, at + 4, 2);
    if (oh < 0 || om < 0 || at + 3 >= text.size() || text[at + 3] != ':' || oh > 23 || om > 59) return std::nullopt;
    offset = minutes((oh * 60 + om) * (text[at] == '-' ? -1 : 1));
    at += 6;
  } else {
    return std::nullopt;
  }
  if (at != text.size()) return std::nullopt;
  const auto local = sys_days(date) + hours(h) + minutes(mi) + seconds(s);
  return time_point_cast<system_clock::duration>(local - offset + fraction);
}

}  // namespace dapr
