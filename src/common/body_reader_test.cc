#include "common/body_reader.h"

#include <gtest/gtest.h>

#include <deque>
#include <memory>
#include <string>

namespace dapr {
namespace {

// Hands out the pieces it was given, then the end; or fails after them when told to.
class PiecesBody final : public BodyReader {
 public:
  PiecesBody(std::deque<std::string> pieces, bool fail_at_end)
      : pieces_(std::move(pieces)), fail_at_end_(fail_at_end) {}
  std::optional<uint64_t> Length() const override { return std::nullopt; }
  void Read(std::function<void(Status, BodyPiece)> got) override {
    ++reads;
    if (pieces_.empty()) {
      if (fail_at_end_) return got(Status(StatusCode::kAborted, "broke off"), {});
      return got(Status::Ok(), BodyPiece{{}, true});
    }
    std::string piece = std::move(pieces_.front());
    pieces_.pop_front();
    got(Status::Ok(), BodyPiece{std::move(piece), false});
  }
  int reads = 0;

 private:
  std::deque<std::string> pieces_;
  bool fail_at_end_;
};

TEST(GatherBodyTest, JoinsEveryPieceUpToTheEnd) {
  auto body = std::make_shared<PiecesBody>(std::deque<std::string>{"ab", "", "cde"}, false);
  std::string gathered;
  bool done = false;
  GatherBody(body, [&](Status status, std::string bytes) {
    EXPECT_TRUE(status.ok());
    gathered = std::move(bytes);
    done = true;
  });
  EXPECT_TRUE(done);
  EXPECT_EQ(gathered, "abcde");
  EXPECT_EQ(body->reads, 4);
}

TEST(GatherBodyTest, ABodyThatBreaksOffIsAnError) {
  auto body = std::make_shared<PiecesBody>(std::deque<std::string>{"ab"}, true);
  Status seen;
  GatherBody(body, [&](Status status, std::string bytes) {
    seen = status;
    EXPECT_TRUE(bytes.empty());
  });
  EXPECT_EQ(seen.code(), StatusCode::kAborted);
}

TEST(BodyFromStringTest, OnePieceWithItsLength) {
  auto body = BodyFromString("hello");
  EXPECT_EQ(body->Length(), 5u);
  body->Read([](Status status, BodyPiece piece) {
    EXPECT_TRUE(status.ok());
    EXPECT_EQ(piece.bytes, "hello");
    EXPECT_TRUE(piece.last);
  });
}

TEST(ToWireTest, WithALengthThePieceGoesAsItIs) {
  auto wire = ToWire(BodyPiece{"abc", true}, false);
  EXPECT_EQ(wire.size_line, "");
  EXPECT_EQ(wire.bytes, "abc");
  EXPECT_EQ(wire.after, "");
}

TEST(ToWireTest, ChunkedSizeInHexAndTheLastChunk) {
  auto middle = ToWire(BodyPiece{std::string(0x1a2b, 'x'), false}, true);
  EXPECT_EQ(middle.size_line, "1a2b\r\n");
  EXPECT_EQ(middle.after, "\r\n");
  auto last = ToWire(BodyPiece{"abc", true}, true);
  EXPECT_EQ(last.size_line, "3\r\n");
  EXPECT_EQ(last.after, "\r\n0\r\n\r\n");
  // An empty piece must not become a zero-size chunk (which would end the body early).
  auto empty = ToWire(BodyPiece{"", false}, true);
  EXPECT_EQ(empty.size_line + std::string(empty.after), "");
  auto end = ToWire(BodyPiece{"", true}, true);
  EXPECT_EQ(end.size_line, "");
  EXPECT_EQ(end.after, "0\r\n\r\n");
}

}  // namespace
}  // namespace dapr
