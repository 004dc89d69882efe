// The gRPC-over-HTTP/2 conventions our server speaks, kept apart from the socket code so
// they can be tested alone: the 5-byte message frame, the grpc-timeout header, the
// percent-encoded grpc-message trailer and base64 for "-bin" metadata. (Written by hand:
// they are a few lines each, and the only library that has them is gRPC's own core.)
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "dapr/status.h"

namespace dapr::grpcapi {

// What a call ends with: the grpc-status code, grpc-message, and grpc-status-details-bin
// (a serialized google.rpc.Status, empty for none).
struct GrpcStatus {
  StatusCode code = StatusCode::kOk;
  std::string message;
  std::string details;

  bool ok() const { return code == StatusCode::kOk; }
  static GrpcStatus Ok() { return {}; }
};

constexpr size_t kFrameHeaderBytes = 5;

// The one message of a unary request body: [compressed flag][4-byte big-endian length][bytes].
struct UnaryMessage {
  bool compressed = false;
  std::string_view bytes;
};
// Fails (INTERNAL, as gRPC does) unless the body holds exactly one whole message.
Result<UnaryMessage, GrpcStatus> ParseUnaryBody(std::string_view body);

// Cuts a stream of bytes (a streaming call's body, arriving in pieces split anywhere) into
// its messages.
class MessageReader {
 public:
  explicit MessageReader(size_t max_message_bytes) : max_(max_message_bytes) {}
  void Append(std::string_view bytes) { buffer_.append(bytes); }
  // The next whole message, nullopt until one is in; an error for a compressed or oversized
  // message (the stream is then unusable).
  Result<std::optional<std::string>, GrpcStatus> Next();
  // Bytes of a message begun but not finished.
  bool Partial() const { return buffer_.size() > at_; }

 private:
  size_t max_;
  std::string buffer_;
  size_t at_ = 0;
};

// Prepends the frame header to a message (uncompressed).
std::string FrameMessage(std::string_view message);
// Writes the 5-byte header of an uncompressed message of `length` bytes.
void WriteFrameHeader(char* out, uint32_t length);
// The length a frame header announces, once 5 bytes are there.
uint32_t FramedLength(std::string_view header);

// "100m" -> 100 ms; units H M S m u n; up to 8 digits. nullopt when malformed.
std::optional<std::chrono::nanoseconds> ParseTimeout(std::string_view text);

// grpc-message is percent-encoded: bytes outside 0x20..0x7e, and '%', become %XX.
std::string PercentEncode(std::string_view text);
std::string PercentDecode(std::string_view text);

// Base64 for binary metadata: unpadded when sending, padded or not when receiving.
std::string Base64Encode(std::string_view bytes);
std::optional<std::string> Base64Decode(std::string_view text);

}  // namespace dapr::grpcapi
