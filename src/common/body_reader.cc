#include "common/body_reader.h"

#include <algorithm>
#include <cstdio>
#include <utility>

namespace dapr {
namespace {

struct Gathering : std::enable_shared_from_this<Gathering> {
  Gathering(std::shared_ptr<BodyReader> reader, std::function<void(Status, std::string)> done)
      : reader(std::move(reader)), done(std::move(done)) {}

  void Next() {
    reader->Read([self = shared_from_this()](Status status, BodyPiece piece) {
      if (!status.ok()) return self->done(std::move(status), {});
      if (self->body.capacity() == 0) {
        self->body = std::move(piece.bytes);
      } else {
        self->body.append(piece.bytes);
      }
      if (piece.last) return self->done(Status::Ok(), std::move(self->body));
      self->Next();
    });
  }

  std::shared_ptr<BodyReader> reader;
  std::function<void(Status, std::string)> done;
  std::string body;
};

class StringBody final : public BodyReader {
 public:
  explicit StringBody(std::string bytes) : bytes_(std::move(bytes)), length_(bytes_.size()) {}
  std::optional<uint64_t> Length() const override { return length_; }
  void Read(std::function<void(Status, BodyPiece)> got) override {
    got(Status::Ok(), BodyPiece{std::move(bytes_), true});
  }

 private:
  std::string bytes_;
  uint64_t length_;
};

}  // namespace

void GatherBody(std::shared_ptr<BodyReader> reader, std::function<void(Status, std::string)> done) {
  auto gathering = std::make_shared<Gathering>(std::move(reader), std::move(done));
  // The announced length, as far as it is believable: a sender may announce more than it sends.
  constexpr uint64_t kMostReserved = 16u << 20;
  if (auto length = gathering->reader->Length()) {
    gathering->body.reserve(static_cast<size_t>(std::min(*length, kMostReserved)));
  }
  gathering->Next();
}

WirePiece ToWire(BodyPiece piece, bool chunked) {
  WirePiece wire;
  wire.bytes = std::move(piece.bytes);
  if (!chunked) return wire;
  if (wire.bytes.empty()) {  // a chunk of size 0 would end the body
    wire.after = piece.last ? "0\r\n\r\n" : "";
    return wire;
  }
  char line[24];
  int n = std::snprintf(line, sizeof line, "%zx\r\n", wire.bytes.size());
  wire.size_line.assign(line, static_cast<size_t>(n));
  wire.after = piece.last ? "\r\n0\r\n\r\n" : "\r\n";
  return wire;
}

std::shared_ptr<BodyReader> BodyFromString(std::string bytes) {
  return std::make_shared<StringBody>(std::move(bytes));
}

}  // namespace dapr
