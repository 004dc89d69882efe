// PayloadBody hands pieces on in order, gives their wire bytes back only when a piece is
// handed on, ends with the stream's status, and gives up when dropped early; SendPayloads
// reads the next piece only once the last frame was taken; FramedPayload is the same bytes
// for the request and the response stream messages.
#include "channel/payload_body.h"

#include <gtest/gtest.h>

#include <vector>

#include "api/grpc/wire.h"
#include "channel/internal_invoke.h"

namespace dapr::channel {
namespace {

struct Got {
  Status status = Status::Ok();
  BodyPiece piece;
  bool called = false;
};

std::function<void(Status, BodyPiece)> Into(Got& got) {
  return [&got](Status status, BodyPiece piece) {
    got = {std::move(status), std::move(piece), true};
  };
}

TEST(PayloadBodyTest, HandsPiecesOnInOrderAndGivesTheWindowBackAsEachGoes) {
  std::vector<size_t> consumed;
  auto body = std::make_shared<PayloadBody>(PayloadBody::Hooks{[&](size_t n) { consumed.push_back(n); }, {}});
  body->Push("ab", 10);
  body->Push("cd", 12);
  EXPECT_TRUE(consumed.empty());  // nothing handed on yet
  Got first;
  body->Read(Into(first));
  ASSERT_TRUE(first.called);
  EXPECT_EQ(first.piece.bytes, "ab");
  EXPECT_FALSE(first.piece.last);
  EXPECT_EQ(consumed, std::vector<size_t>{10});
  Got second;
  body->Read(Into(second));
  EXPECT_EQ(second.piece.bytes, "cd");
  Got waiting;
  body->Read(Into(waiting));
  EXPECT_FALSE(waiting.called);  // no piece, no end yet
  body->Finish(Status::Ok());
  ASSERT_TRUE(waiting.called);
  EXPECT_TRUE(waiting.status.ok());
  EXPECT_TRUE(waiting.piece.last);
  EXPECT_EQ(consumed, (std::vector<size_t>{10, 12}));
}

TEST(PayloadBodyTest, TheLastPieceSaysSoWhenTheEndIsKnown) {
  auto body = std::make_shared<PayloadBody>(PayloadBody::Hooks{});
  body->Push("xyz", 3);
  body->Finish(Status::Ok());
  Got got;
  body->Read(Into(got));
  EXPECT_EQ(got.piece.bytes, "xyz");
  EXPECT_TRUE(got.piece.last);
}

TEST(PayloadBodyTest, ABrokenStreamBreaksTheBodyOff) {
  auto body = std::make_shared<PayloadBody>(PayloadBody::Hooks{});
  body->Push("never read", 10);
  body->Finish(Status(StatusCode::kCancelled, "gone"));
  Got got;
  body->Read(Into(got));
  EXPECT_EQ(got.status.code(), StatusCode::kCancelled);
}

TEST(PayloadBodyTest, AnAnnouncedLengthIsKeptAndAMatchingBodyEnds) {
  auto body = std::make_shared<PayloadBody>(PayloadBody::Hooks{}, 5);
  EXPECT_EQ(body->Length(), std::optional<uint64_t>(5));
  body->Push("abc", 3);
  body->Push("de", 2);
  body->Finish(Status::Ok());
  Got first, second;
  body->Read(Into(first));
  body->Read(Into(second));
  EXPECT_EQ(first.piece.bytes + second.piece.bytes, "abcde");
  EXPECT_TRUE(second.status.ok());
  EXPECT_TRUE(second.piece.last);
}

TEST(PayloadBodyTest, ABodyShorterThanItsLengthBreaksOffInsteadOfEnding) {
  auto body = std::make_shared<PayloadBody>(PayloadBody::Hooks{}, 10);
  body->Push("abc", 3);
  body->Finish(Status::Ok());
  Got first;
  body->Read(Into(first));
  EXPECT_EQ(first.status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(first.status.message().find("content-length"), std::string::npos);
}

TEST(PayloadBodyTest, ABodyLongerThanItsLengthBreaksOffAndItsExcessIsNotHandedOn) {
  auto body = std::make_shared<PayloadBody>(PayloadBody::Hooks{}, 4);
  body->Push("abc", 3);
  Got first;
  body->Read(Into(first));
  EXPECT_EQ(first.piece.bytes, "abc");
  body->Push("defg", 4);  // 7 > 4
  Got second;
  body->Read(Into(second));
  EXPECT_EQ(second.status.code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(second.piece.bytes.empty());
}

TEST(PayloadBodyTest, DroppedBeforeItsEndItGivesUpAndNotAfter) {
  int gave_up = 0;
  {
    auto body = std::make_shared<PayloadBody>(PayloadBody::Hooks{{}, [&] { ++gave_up; }});
    body->Push("a", 1);
  }
  EXPECT_EQ(gave_up, 1);
  {
    auto body = std::make_shared<PayloadBody>(PayloadBody::Hooks{{}, [&] { ++gave_up; }});
    body->Finish(Status::Ok());
    Got got;
    body->Read(Into(got));
  }
  EXPECT_EQ(gave_up, 1);
}

// A reader over pieces given one per Read, so the test sees when the pump asks.
class CountingReader final : public BodyReader {
 public:
  explicit CountingReader(std::vector<std::string> pieces) : pieces_(std::move(pieces)) {}
  std::optional<uint64_t> Length() const override { return std::nullopt; }
  void Read(std::function<void(Status, BodyPiece)> got) override {
    ++reads;
    std::string bytes = pieces_[at_];
    ++at_;
    got(Status::Ok(), BodyPiece{std::move(bytes), at_ == pieces_.size()});
  }
  int reads = 0;

 private:
  std::vector<std::string> pieces_;
  size_t at_ = 0;
};

TEST(SendPayloadsTest, ReadsTheNextPieceOnlyOnceTheLastFrameWasTaken) {
  auto reader = std::make_shared<CountingReader>(std::vector<std::string>{"one", "two", "three"});
  std::vector<std::string> frames;
  std::function<void()> pending;
  std::optional<Status> done;
  SendPayloads(
      reader, [&](std::string frame, std::function<void()> sent) {
        frames.push_back(std::move(frame));
        pending = std::move(sent);
      },
      [&](Status status) { done = status; });
  EXPECT_EQ(reader->reads, 1);
  ASSERT_EQ(frames.size(), 1u);
  std::exchange(pending, nullptr)();
  EXPECT_EQ(reader->reads, 2);
  std::exchange(pending, nullptr)();
  EXPECT_EQ(reader->reads, 3);
  ASSERT_TRUE(done.has_value());
  EXPECT_TRUE(done->ok());
  ASSERT_EQ(frames.size(), 3u);
  for (size_t i = 0; i < frames.size(); ++i) {
    internals::InternalInvokeResponseStream frame;
    auto message = grpcapi::ParseUnaryBody(frames[i]);
    ASSERT_TRUE(message.ok());
    ASSERT_TRUE(frame.ParseFromArray(message->bytes.data(), static_cast<int>(message->bytes.size())));
    EXPECT_EQ(frame.payload().seq(), i);
  }
}

TEST(FramedPayloadTest, IsTheSameBytesAsTheResponseStreamsPayloadFrame) {
  internals::InternalInvokeResponseStream response;
  response.mutable_payload()->set_data("hello");
  response.mutable_payload()->set_seq(7);
  EXPECT_EQ(FramedPayload("hello", 7), grpcapi::FrameMessage(response.SerializeAsString()));
}

}  // namespace
}  // namespace dapr::channel
