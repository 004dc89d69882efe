// Go's time.ParseDuration, rewritten over int64 nanoseconds with overflow checks.
#include "resiliency/duration.h"

#include <cstdint>
#include <limits>
#include <string>

namespace dapr::resiliency {
namespace {

struct Unit {
  std::string_view suffix;
  int64_t nanos;
};

// Longest suffixes first, so "ms" is not read as "m" followed by garbage.
constexpr Unit kUnits[] = {
    {"ns", 1},
    {"us", 1'000},
    {"\xC2\xB5s", 1'000},  // µs (micro sign)
    {"\xCE\xBCs", 1'000},  // μs (Greek mu)
    {"ms", 1'000'000},
    {"s", 1'000'000'000},
    {"m", 60'000'000'000},
    {"h", 3'600'000'000'000},
};

Status Invalid(std::string_view text, std::string_view why) {
  return InvalidArgument("invalid duration \"" + std::string(text) + "\": " + std::string(why));
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Reads digits at `pos` into `value` (saturating flag on overflow); returns how many were read.
size_t ReadDigits(std::string_view s, size_t& pos, uint64_t& value, bool& overflow) {
  size_t start = pos;
  for (; pos < s.size() && IsDigit(s[pos]); ++pos) {
    if (value > (std::numeric_limits<uint64_t>::max() - 9) / 10) overflow = true;
    if (!overflow) value = value * 10 + static_cast<uint64_t>(s[pos] - '0');
  }
  return pos - start;
}

const Unit* ReadUnit(std::string_view s, size_t& pos) {
  for (const Unit& unit : kUnits) {
    if (s.substr(pos).starts_with(unit.suffix)) {
      pos += unit.suffix.size();
      return &unit;
    }
  }
  return nullptr;
}

}  // namespace

Result<std::chrono::nanoseconds> ParseDuration(std::string_view text) {
  std::string_view s = text;
  bool negative = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return std::chrono::nanoseconds(0);
  if (s.empty()) return Invalid(text, "empty");

  constexpr uint64_t kMax = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  uint64_t total = 0;
  size_t pos = 0;
  while (pos < s.size()) {
    uint64_t whole = 0, fraction = 0;
    bool overflow = false, fraction_overflow = false;
    size_t whole_digits = ReadDigits(s, pos, whole, overflow);
    size_t fraction_digits = 0;
    double fraction_scale = 1;
    if (pos < s.size() && s[pos] == '.') {
      ++pos;
      size_t before = pos;
      fraction_digits = ReadDigits(s, pos, fraction, fraction_overflow);
      for (size_t i = before; i < pos; ++i) fraction_scale *= 10;
    }
    if (whole_digits == 0 && fraction_digits == 0) return Invalid(text, "expected a number");
    const Unit* unit = ReadUnit(s, pos);
    if (!unit) return Invalid(text, "missing or unknown unit (ns, us, ms, s, m, h)");
    const uint64_t nanos = static_cast<uint64_t>(unit->nanos);
    if (overflow || whole > kMax / nanos) return Invalid(text, "out of range");
    uint64_t part = whole * nanos;
    if (fraction_digits > 0 && !fraction_overflow) {
      part += static_cast<uint64_t>(static_cast<double>(fraction) *
                                    (static_cast<double>(nanos) / fraction_scale));
    }
    if (part > kMax - total) return Invalid(text, "out of range");
    total += part;
  }
  const auto signed_total = static_cast<int64_t>(total);
  return std::chrono::nanoseconds(negative ? -signed_total : signed_total);
}

}  // namespace dapr::resiliency
