#include "common/time_format.h"

#include <cctype>
#include <cstring>

namespace dapr {

// Written by hand, and the last second kept per thread: every CloudEvent carries the time,
// and gmtime_r + strftime (time zone lock, locale) cost more than the rest of its header.
std::string FormatRfc3339(std::chrono::system_clock::time_point instant) {
  using namespace std::chrono;
  const auto second = floor<seconds>(instant);
  thread_local sys_seconds cached_second{seconds::min()};
  thread_local char cached[21];
  if (second != cached_second) {
    const auto day = floor<days>(second);
    const year_month_day date{day};
    const hh_mm_ss clock{second - day};
    auto put = [](char* at, long long value, int width) {
      for (int i = width - 1; i >= 0; --i, value /= 10) at[i] = static_cast<char>('0' + value % 10);
    };
    // system_clock's nanoseconds span the years 1678 to 2262: always four digits.
    const int year_value = static_cast<int>(date.year());
    std::memcpy(cached, "0000-00-00T00:00:00Z", 21);
    put(cached, year_value, 4);
    put(cached + 5, static_cast<unsigned>(date.month()), 2);
    put(cached + 8, static_cast<unsigned>(date.day()), 2);
    put(cached + 11, clock.hours().count(), 2);
    put(cached + 14, clock.minutes().count(), 2);
    put(cached + 17, clock.seconds().count(), 2);
    cached_second = second;
  }
  return std::string(cached, 20);
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
