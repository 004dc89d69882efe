// A message body that arrives in pieces, for bodies too large to hold whole (service
// invocation relays them from one connection to the next as they come).
//
// The reader pulls: it asks for the next piece only once it has passed the previous one
// on, so a slow receiver slows the sender down through TCP's own flow control, and each
// hop holds at most one piece. Whoever drops the last reference before the end gives the
// body up: its source closes its connection rather than read the rest.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "dapr/status.h"

namespace dapr {

struct BodyPiece {
  std::string bytes;  // may be empty when `last`
  bool last = false;
};

class BodyReader {
 public:
  virtual ~BodyReader() = default;
  // The whole body's size when the sender announced it (Content-Length).
  virtual std::optional<uint64_t> Length() const = 0;
  // The next piece; one Read at a time, and none after the last piece or an error. `got`
  // runs once, on the event loop. A non-OK status means the body broke off.
  virtual void Read(std::function<void(Status, BodyPiece)> got) = 0;
};

// Reads a body to its end into one string (for a hop that cannot stream: a unary gRPC
// message). The sender's own limit applies; this adds none.
void GatherBody(std::shared_ptr<BodyReader> reader, std::function<void(Status, std::string)> done);

// One piece as it goes on an HTTP/1.1 connection: as it is, or in chunked framing
// (size_line, the bytes, then after, which ends the body when the piece is the last).
struct WirePiece {
  std::string size_line;
  std::string bytes;
  std::string_view after;
};
WirePiece ToWire(BodyPiece piece, bool chunked);

// A reader over bytes already in memory, handed out in one piece.
std::shared_ptr<BodyReader> BodyFromString(std::string bytes);

}  // namespace dapr
