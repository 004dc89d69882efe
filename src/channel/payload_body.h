// Bodies in CallLocalStream's payload frames (dapr.proto.internals.v1), both ways: a body
// cut into frames as its pieces come, and a BodyReader over frames as they arrive. The
// calling sidecar sends a request body and reads an answer this way; the called one the
// reverse.
#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "common/body_reader.h"

namespace dapr::channel {

// One payload frame, framed for gRPC (frame header, then the message). The request and the
// response stream messages both carry their payload as field 2, so the bytes are the same.
std::string FramedPayload(std::string data, uint64_t seq);

// A body arriving as payload frames. The stream pushes each payload with the wire bytes it
// took; those are given back to the sender's window (`consumed`) once the piece is handed
// on, so the sender runs at most a window ahead of the reader. The stream keeps only a
// weak reference: a reader dropped before the end runs `give_up`.
class PayloadBody final : public BodyReader {
 public:
  struct Hooks {
    std::function<void(size_t wire_bytes)> consumed;
    std::function<void()> give_up;
  };
  // length: the body's size as the sender announced it (content-length), if it did; a body
  // that turns out longer or shorter breaks off with an error instead of ending.
  explicit PayloadBody(Hooks hooks, std::optional<uint64_t> length = std::nullopt)
      : hooks_(std::move(hooks)), length_(length) {}
  ~PayloadBody() override;

  // From the stream, in order; nothing after Finish.
  void Push(std::string bytes, size_t wire_bytes);
  // The end of the body: OK, or why it broke off.
  void Finish(Status status);

  std::optional<uint64_t> Length() const override { return length_; }
  void Read(std::function<void(Status, BodyPiece)> got) override;

 private:
  struct Piece {
    std::string bytes;
    size_t wire_bytes;
  };
  // Hands the next piece to a waiting reader, if both are there; called unlocked.
  void Deliver();

  Hooks hooks_;
  const std::optional<uint64_t> length_;
  uint64_t pushed_ = 0;  // body bytes so far, to hold them to length_
  std::mutex mutex_;
  std::deque<Piece> pieces_;
  std::optional<Status> end_;
  bool ended_delivered_ = false;
  std::function<void(Status, BodyPiece)> waiting_;
};

// Sends a body as payload frames, one piece at a time: `write` queues a frame and runs
// `sent` once it was taken for sending, and only then is the next piece read. `done` runs
// once: OK after the last piece, or the body's error. If `sent` never runs (the call
// ended), the pump stops there and lets the body go.
using PayloadWriter = std::function<void(std::string frame, std::function<void()> sent)>;
void SendPayloads(std::shared_ptr<BodyReader> body, PayloadWriter write,
                  std::function<void(Status)> done);

}  // namespace dapr::channel
