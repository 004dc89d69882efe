#include "api/grpc/wire.h"

#include <openssl/evp.h>

#include <cstring>

#include "common/hex.h"

namespace dapr::grpcapi {

Result<UnaryMessage, GrpcStatus> ParseUnaryBody(std::string_view body) {
  if (body.size() < kFrameHeaderBytes) {
    return GrpcStatus{StatusCode::kInternal, "expected one request message, got none", {}};
  }
  uint32_t length = FramedLength(body);
  if (body.size() - kFrameHeaderBytes != length) {
    return GrpcStatus{StatusCode::kInternal,
                      "expected one request message of " + std::to_string(length) +
                          " bytes, got " + std::to_string(body.size() - kFrameHeaderBytes),
                      {}};
  }
  uint8_t flag = static_cast<uint8_t>(body[0]);
  if (flag > 1) return GrpcStatus{StatusCode::kInternal, "invalid message frame flag", {}};
  return UnaryMessage{flag == 1, body.substr(kFrameHeaderBytes)};
}

Result<std::optional<std::string>, GrpcStatus> MessageReader::Next() {
  std::string_view rest = std::string_view(buffer_).substr(at_);
  if (rest.size() < kFrameHeaderBytes) return std::optional<std::string>();
  uint8_t flag = static_cast<uint8_t>(rest[0]);
  if (flag != 0) {
    return GrpcStatus{flag == 1 ? StatusCode::kUnimplemented : StatusCode::kInternal,
                      flag == 1 ? "message compression is not supported" : "invalid message frame flag", {}};
  }
  uint32_t length = FramedLength(rest);
  if (length > max_) {
    return GrpcStatus{StatusCode::kResourceExhausted,
                      "grpc: received message larger than max (" + std::to_string(length) + " vs. " +
                          std::to_string(max_) + ")", {}};
  }
  if (rest.size() - kFrameHeaderBytes < length) return std::optional<std::string>();
  std::optional<std::string> message(std::in_place, rest.substr(kFrameHeaderBytes, length));
  at_ += kFrameHeaderBytes + length;
  if (at_ == buffer_.size()) {
    buffer_.clear();
    at_ = 0;
  }
  return message;
}

uint32_t FramedLength(std::string_view header) {
  auto byte = [&](size_t i) { return static_cast<uint32_t>(static_cast<uint8_t>(header[i])); };
  return byte(1) << 24 | byte(2) << 16 | byte(3) << 8 | byte(4);
}

void WriteFrameHeader(char* out, uint32_t length) {
  out[0] = '\0';
  out[1] = static_cast<char>(length >> 24);
  out[2] = static_cast<char>(length >> 16);
  out[3] = static_cast<char>(length >> 8);
  out[4] = static_cast<char>(length);
}

std::string FrameMessage(std::string_view message) {
  std::string framed(kFrameHeaderBytes + message.size(), '\0');
  WriteFrameHeader(framed.data(), static_cast<uint32_t>(message.size()));
  std::memcpy(framed.data() + kFrameHeaderBytes, message.data(), message.size());
  return framed;
}

std::optional<std::chrono::nanoseconds> ParseTimeout(std::string_view text) {
  if (text.size() < 2 || text.size() > 9) return std::nullopt;
  int64_t value = 0;
  for (char c : text.substr(0, text.size() - 1)) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  int64_t unit_ns = 0;
  switch (text.back()) {
    case 'H': unit_ns = 3'600'000'000'000; break;
    case 'M': unit_ns = 60'000'000'000; break;
    case 'S': unit_ns = 1'000'000'000; break;
    case 'm': unit_ns = 1'000'000; break;
    case 'u': unit_ns = 1'000; break;
    case 'n': unit_ns = 1; break;
    default: return std::nullopt;
  }
  // 8 digits of hours do not fit in 64-bit nanoseconds: such a deadline means "never".
  if (value > std::chrono::nanoseconds::max().count() / unit_ns) return std::chrono::nanoseconds::max();
  return std::chrono::nanoseconds(value * unit_ns);
}

std::string PercentEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    if (c >= 0x20 && c <= 0x7e && c != '%') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    }
  }
  return out;
}

std::string PercentDecode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    int hi = -1, lo = -1;
    if (text[i] == '%' && i + 2 < text.size()) {
      hi = HexDigitValue(text[i + 1]);
      lo = HexDigitValue(text[i + 2]);
    }
    if (hi >= 0 && lo >= 0) {
      out.push_back(static_cast<char>(hi << 4 | lo));
      i += 2;
    } else {
      out.push_back(text[i]);  // not an escape: kept as it is, as gRPC's decoders do
    }
  }
  return out;
}

std::string Base64Encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()),
                          static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  while (!out.empty() && out.back() == '=') out.pop_back();
  return out;
}

std::optional<std::string> Base64Decode(std::string_view text) {
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  if (text.size() % 4 == 1 || text.find('=') != std::string_view::npos) return std::nullopt;
  std::string padded(text);
  while (padded.size() % 4 != 0) padded.push_back('=');
  std::string out(padded.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(padded.data()),
                          static_cast<int>(padded.size()));
  if (n < 0) return std::nullopt;
  // EVP_DecodeBlock counts the padding as zero bytes: drop them.
  size_t pad = padded.size() - text.size();
  out.resize(static_cast<size_t>(n) - pad);
  return out;
}

}  // namespace dapr::grpcapi
