#include "common/trace_context.h"

#include <algorithm>
#include <random>

namespace dapr::trace {
namespace {

constexpr char kHex[] = "0123456789abcdef";

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;  // upper case is invalid in traceparent
}

template <size_t N>
bool ReadHex(std::string_view text, std::array<uint8_t, N>& out) {
  if (text.size() != 2 * N) return false;
  for (size_t i = 0; i < N; ++i) {
    int high = HexValue(text[2 * i]), low = HexValue(text[2 * i + 1]);
    if (high < 0 || low < 0) return false;
    out[i] = static_cast<uint8_t>(high << 4 | low);
  }
  return true;
}

template <size_t N>
void WriteHex(const std::array<uint8_t, N>& bytes, std::string& out) {
  for (uint8_t b : bytes) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0xf]);
  }
}

template <size_t N>
bool AllZero(const std::array<uint8_t, N>& bytes) {
  return std::all_of(bytes.begin(), bytes.end(), [](uint8_t b) { return b == 0; });
}

// Ids need to be unique, not secret: a per-thread generator seeded once from the OS.
template <size_t N>
void FillRandom(std::array<uint8_t, N>& bytes) {
  thread_local std::mt19937_64 generator{std::random_device{}()};
  do {
    for (size_t i = 0; i < N; i += 8) {
      uint64_t word = generator();
      for (size_t j = 0; j < 8 && i + j < N; ++j) bytes[i + j] = static_cast<uint8_t>(word >> (8 * j));
    }
  } while (AllZero(bytes));
}

}  // namespace

std::string TraceParent::ToString() const {
  std::string out = "00-";
  out.reserve(55);
  WriteHex(trace_id, out);
  out.push_back('-');
  WriteHex(parent_id, out);
  out.push_back('-');
  out.push_back(kHex[flags >> 4]);
  out.push_back(kHex[flags & 0xf]);
  return out;
}

std::optional<TraceParent> ParseTraceParent(std::string_view text) {
  // version(2) - trace id(32) - parent id(16) - flags(2): 55 characters; a later version
  // may append "-..." fields.
  if (text.size() < 55 || text[2] != '-' || text[35] != '-' || text[52] != '-') return std::nullopt;
  std::array<uint8_t, 1> version{}, flags{};
  if (!ReadHex(text.substr(0, 2), version) || version[0] == 0xff) return std::nullopt;
  if (version[0] == 0 && text.size() != 55) return std::nullopt;
  if (text.size() > 55 && text[55] != '-') return std::nullopt;
  TraceParent parsed;
  if (!ReadHex(text.substr(3, 32), parsed.trace_id) || AllZero(parsed.trace_id)) return std::nullopt;
  if (!ReadHex(text.substr(36, 16), parsed.parent_id) || AllZero(parsed.parent_id)) return std::nullopt;
  if (!ReadHex(text.substr(53, 2), flags)) return std::nullopt;
  parsed.flags = flags[0];
  return parsed;
}

std::string ContinueTrace(std::optional<std::string_view> incoming) {
  std::optional<TraceParent> parent;
  if (incoming) parent = ParseTraceParent(*incoming);
  TraceParent next;
  if (parent) {
    next.trace_id = parent->trace_id;
    next.flags = parent->flags & 0x01;  // only the sampled bit is defined in version 00
  } else {
    FillRandom(next.trace_id);
  }
  FillRandom(next.parent_id);
  return next.ToString();
}

}  // namespace dapr::trace
