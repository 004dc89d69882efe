// Tests for the gRPC wire conventions in wire.h: the message frame, grpc-timeout,
// percent-encoded grpc-message and base64 for "-bin" metadata.
#include "api/grpc/wire.h"

#include <gtest/gtest.h>

#include <vector>

#include <chrono>
#include <string>
#include <string_view>

namespace dapr::grpcapi {
namespace {

using std::chrono::nanoseconds;

// A frame header followed by `payload`, with the flag and announced length given
// separately so that malformed frames can be built.
std::string Frame(uint8_t flag, uint32_t announced_length, std::string_view payload) {
  std::string frame;
  frame.push_back(static_cast<char>(flag));
  frame.push_back(static_cast<char>(announced_length >> 24));
  frame.push_back(static_cast<char>(announced_length >> 16));
  frame.push_back(static_cast<char>(announced_length >> 8));
  frame.push_back(static_cast<char>(announced_length));
  frame.append(payload);
  return frame;
}

// Every byte value, so that binary round trips cover all of them.
std::string AllBytes() {
  std::string bytes;
  for (int b = 0; b < 256; ++b) bytes.push_back(static_cast<char>(b));
  return bytes;
}

// --- ParseUnaryBody ------------------------------------------------------------------------

TEST(GrpcWireParseUnaryBody, EmptyBodyIsInternal) {
  auto parsed = ParseUnaryBody("");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.error().code, StatusCode::kInternal);
  EXPECT_EQ(parsed.error().message, "expected one request message, got none");
}

TEST(GrpcWireParseUnaryBody, ShortHeaderIsInternal) {
  auto parsed = ParseUnaryBody(std::string("\0\0\0\0", 4));
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.error().code, StatusCode::kInternal);
  EXPECT_EQ(parsed.error().message, "expected one request message, got none");
}

TEST(GrpcWireParseUnaryBody, FewerBytesThanAnnouncedIsInternal) {
  auto parsed = ParseUnaryBody(Frame(0, 4, "abc"));
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.error().code, StatusCode::kInternal);
  EXPECT_EQ(parsed.error().message, "expected one request message of 4 bytes, got 3");
}

TEST(GrpcWireParseUnaryBody, MoreBytesThanAnnouncedIsInternal) {
  // Also what a second message after the first looks like.
  auto parsed = ParseUnaryBody(Frame(0, 2, "abc"));
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.error().code, StatusCode::kInternal);
  EXPECT_EQ(parsed.error().message, "expected one request message of 2 bytes, got 3");
}

TEST(GrpcWireParseUnaryBody, CompressedFlagIsReported) {
  auto parsed = ParseUnaryBody(Frame(1, 3, "xyz"));
  ASSERT_TRUE(parsed.ok());
  EXPECT_TRUE(parsed->compressed);
  EXPECT_EQ(parsed->bytes, "xyz");
}

TEST(GrpcWireParseUnaryBody, FlagAboveOneIsInternal) {
  for (uint8_t flag : {2, 0x80, 0xff}) {
    auto parsed = ParseUnaryBody(Frame(flag, 3, "xyz"));
    ASSERT_FALSE(parsed.ok()) << "flag " << int{flag};
    EXPECT_EQ(parsed.error().code, StatusCode::kInternal);
    EXPECT_EQ(parsed.error().message, "invalid message frame flag");
  }
}

TEST(GrpcWireParseUnaryBody, ExactMessageIsReturned) {
  const std::string body = Frame(0, 5, std::string("he\0lo", 5));
  auto parsed = ParseUnaryBody(body);
  ASSERT_TRUE(parsed.ok());
  EXPECT_FALSE(parsed->compressed);
  EXPECT_EQ(parsed->bytes, std::string_view("he\0lo", 5));
  // A view into the body, not a copy: the caller keeps the body alive.
  EXPECT_EQ(parsed->bytes.data(), body.data() + kFrameHeaderBytes);
}

TEST(GrpcWireParseUnaryBody, EmptyMessageIsValid) {
  auto parsed = ParseUnaryBody(Frame(0, 0, ""));
  ASSERT_TRUE(parsed.ok());
  EXPECT_FALSE(parsed->compressed);
  EXPECT_TRUE(parsed->bytes.empty());
}

// --- FrameMessage / FramedLength -----------------------------------------------------------

void ExpectFrameRoundTrip(size_t size) {
  std::string message(size, '\0');
  for (size_t i = 0; i < size; ++i) message[i] = static_cast<char>(i * 31 + 7);
  std::string framed = FrameMessage(message);
  ASSERT_EQ(framed.size(), kFrameHeaderBytes + size);
  EXPECT_EQ(framed[0], '\0') << "FrameMessage never compresses";
  EXPECT_EQ(FramedLength(framed), size);
  auto parsed = ParseUnaryBody(framed);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_FALSE(parsed->compressed);
  EXPECT_EQ(parsed->bytes, message);
}

TEST(GrpcWireFrame, RoundTripsEmptyMessage) { ExpectFrameRoundTrip(0); }
TEST(GrpcWireFrame, RoundTripsOneByte) { ExpectFrameRoundTrip(1); }
// Larger than 16 bits, so all four length bytes matter.
TEST(GrpcWireFrame, RoundTripsSeventyThousandBytes) { ExpectFrameRoundTrip(70000); }

TEST(GrpcWireFrame, HeaderIsBigEndian) {
  std::string framed = FrameMessage(std::string(70000, 'a'));  // 70000 = 0x00011170
  EXPECT_EQ(framed.substr(0, kFrameHeaderBytes), std::string("\x00\x00\x01\x11\x70", 5));
  EXPECT_EQ(FramedLength(std::string("\x00\xff\xfe\xfd\xfc", 5)), 0xfffefdfcu);
}

TEST(GrpcWireFrame, WriteFrameHeaderMatchesFrameMessage) {
  char header[kFrameHeaderBytes];
  WriteFrameHeader(header, 70000);
  EXPECT_EQ(std::string_view(header, kFrameHeaderBytes),
            FrameMessage(std::string(70000, 'a')).substr(0, kFrameHeaderBytes));
  EXPECT_EQ(FramedLength(std::string_view(header, kFrameHeaderBytes)), 70000u);
}

// --- ParseTimeout --------------------------------------------------------------------------

TEST(GrpcWireParseTimeout, EveryUnit) {
  using namespace std::chrono;
  EXPECT_EQ(ParseTimeout("2H"), nanoseconds(hours(2)));
  EXPECT_EQ(ParseTimeout("3M"), nanoseconds(minutes(3)));
  EXPECT_EQ(ParseTimeout("4S"), nanoseconds(seconds(4)));
  EXPECT_EQ(ParseTimeout("100m"), nanoseconds(milliseconds(100)));
  EXPECT_EQ(ParseTimeout("250u"), nanoseconds(microseconds(250)));
  EXPECT_EQ(ParseTimeout("7n"), nanoseconds(7));
  EXPECT_EQ(ParseTimeout("0m"), nanoseconds(0));
}

TEST(GrpcWireParseTimeout, EightDigitsIsTheMaximum) {
  EXPECT_EQ(ParseTimeout("99999999n"), nanoseconds(99999999));
  EXPECT_EQ(ParseTimeout("00000001S"), nanoseconds(std::chrono::seconds(1)));
  EXPECT_EQ(ParseTimeout("12345678m"), nanoseconds(std::chrono::milliseconds(12345678)));
}

TEST(GrpcWireParseTimeout, NineDigitsAreRejected) {
  EXPECT_EQ(ParseTimeout("100000000n"), std::nullopt);
  EXPECT_EQ(ParseTimeout("000000001S"), std::nullopt);
}

// The spec allows 8 digits of any unit; 99999999 hours is more than int64 nanoseconds
// hold, so the parser must saturate (or clamp) rather than wrap to a short or negative
// deadline, which would fail the call at once.
TEST(GrpcWireParseTimeout, LargestHoursDoNotOverflow) {
  auto timeout = ParseTimeout("99999999H");
  ASSERT_TRUE(timeout.has_value());
  EXPECT_GE(*timeout, nanoseconds(std::chrono::hours(2'000'000)))
      << "got " << timeout->count() << " ns";
}

TEST(GrpcWireParseTimeout, MissingUnitIsRejected) {
  EXPECT_EQ(ParseTimeout("100"), std::nullopt);
  EXPECT_EQ(ParseTimeout("5"), std::nullopt);
}

TEST(GrpcWireParseTimeout, UnknownUnitIsRejected) {
  EXPECT_EQ(ParseTimeout("100s"), std::nullopt);
  EXPECT_EQ(ParseTimeout("100h"), std::nullopt);
  EXPECT_EQ(ParseTimeout("100x"), std::nullopt);
}

TEST(GrpcWireParseTimeout, NonDigitIsRejected) {
  EXPECT_EQ(ParseTimeout("1a0m"), std::nullopt);
  EXPECT_EQ(ParseTimeout("-5m"), std::nullopt);
  EXPECT_EQ(ParseTimeout(" 5m"), std::nullopt);
  EXPECT_EQ(ParseTimeout("+5m"), std::nullopt);
}

TEST(GrpcWireParseTimeout, EmptyOrUnitOnlyIsRejected) {
  EXPECT_EQ(ParseTimeout(""), std::nullopt);
  EXPECT_EQ(ParseTimeout("m"), std::nullopt);
}

// --- PercentEncode / PercentDecode ---------------------------------------------------------

TEST(GrpcWirePercent, PrintableAsciiIsUntouched) {
  std::string printable;
  for (char c = 0x20; c <= 0x7e; ++c) {
    if (c != '%') printable.push_back(c);
  }
  EXPECT_EQ(PercentEncode(printable), printable);
  EXPECT_EQ(PercentDecode(printable), printable);
}

TEST(GrpcWirePercent, PercentSignIsEncoded) {
  EXPECT_EQ(PercentEncode("100%"), "100%25");
  EXPECT_EQ(PercentDecode("100%25"), "100%");
}

TEST(GrpcWirePercent, Utf8BytesAreEncoded) {
  EXPECT_EQ(PercentEncode("caf\xc3\xa9"), "caf%C3%A9");
  EXPECT_EQ(PercentEncode("\xe2\x82\xac"), "%E2%82%AC");  // euro sign
}

TEST(GrpcWirePercent, ControlBytesAreEncoded) {
  EXPECT_EQ(PercentEncode("a\nb"), "a%0Ab");
  EXPECT_EQ(PercentEncode(std::string("\0\x7f", 2)), "%00%7F");
}

TEST(GrpcWirePercent, DecodeAcceptsBothHexCases) {
  EXPECT_EQ(PercentDecode("%c3%A9"), "\xc3\xa9");
}

TEST(GrpcWirePercent, RoundTripsEveryByte) {
  const std::string bytes = AllBytes() + "%%41 end";
  EXPECT_EQ(PercentDecode(PercentEncode(bytes)), bytes);
}

TEST(GrpcWirePercent, MalformedEscapesAreKept) {
  EXPECT_EQ(PercentDecode("%zz"), "%zz");
  EXPECT_EQ(PercentDecode("a%4"), "a%4");
  EXPECT_EQ(PercentDecode("%"), "%");
  EXPECT_EQ(PercentDecode("%4g%41"), "%4gA");
  EXPECT_EQ(PercentDecode("x%41"), "xA");  // an escape at the very end still decodes
}

// --- Base64Encode / Base64Decode -----------------------------------------------------------

TEST(GrpcWireBase64, EncodeIsUnpadded) {
  EXPECT_EQ(Base64Encode(""), "");
  EXPECT_EQ(Base64Encode("f"), "Zg");
  EXPECT_EQ(Base64Encode("fo"), "Zm8");
  EXPECT_EQ(Base64Encode("foo"), "Zm9v");
  EXPECT_EQ(Base64Encode("foob"), "Zm9vYg");
  EXPECT_EQ(Base64Encode("fooba"), "Zm9vYmE");
}

TEST(GrpcWireBase64, DecodesPaddedAndUnpadded) {
  EXPECT_EQ(Base64Decode("Zg=="), "f");
  EXPECT_EQ(Base64Decode("Zg"), "f");
  EXPECT_EQ(Base64Decode("Zm8="), "fo");
  EXPECT_EQ(Base64Decode("Zm8"), "fo");
  EXPECT_EQ(Base64Decode("Zm9vYmE="), "fooba");
  EXPECT_EQ(Base64Decode("Zm9vYmE"), "fooba");
}

TEST(GrpcWireBase64, EmptyDecodesToEmpty) {
  auto decoded = Base64Decode("");
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(*decoded, "");
}

TEST(GrpcWireBase64, InvalidCharactersAreRejected) {
  EXPECT_EQ(Base64Decode("Zm9v!mE"), std::nullopt);
  EXPECT_EQ(Base64Decode("Zm 9"), std::nullopt);
  EXPECT_EQ(Base64Decode("Zm9\n"), std::nullopt);
  EXPECT_EQ(Base64Decode("Zm9v-_"), std::nullopt);  // base64url is not what gRPC sends
  EXPECT_EQ(Base64Decode("@@@@"), std::nullopt);
  EXPECT_EQ(Base64Decode("Zm9vY"), std::nullopt);  // 4n+1 characters cannot be base64
}

// '=' only ever ends base64 text; inside it is as invalid as any other stray character.
TEST(GrpcWireBase64, PaddingInsideTextIsRejected) {
  EXPECT_EQ(Base64Decode("Zm=v"), std::nullopt);
  EXPECT_EQ(Base64Decode("=Zm9"), std::nullopt);
}

TEST(GrpcWireBase64, RoundTripsLengthsZeroToFive) {
  const std::string source = "\x01\xfe\x7f\x80\x00\xff";
  for (size_t length = 0; length <= 5; ++length) {
    std::string bytes(source.data(), length);
    std::string encoded = Base64Encode(bytes);
    EXPECT_EQ(encoded.size(), (length * 4 + 2) / 3) << "length " << length;
    EXPECT_EQ(Base64Decode(encoded), bytes) << "length " << length;
  }
}

TEST(GrpcWireBase64, RoundTripsEveryByte) {
  const std::string bytes = AllBytes();
  EXPECT_EQ(Base64Decode(Base64Encode(bytes)), bytes);
}

}  // namespace
TEST(MessageReader, CutsMessagesSplitAnywhere) {
  std::string bytes = FrameMessage("first") + FrameMessage("") + FrameMessage("third one");
  MessageReader reader(100);
  std::vector<std::string> messages;
  for (char c : bytes) {  // one byte at a time
    reader.Append(std::string_view(&c, 1));
    for (auto next = reader.Next(); next.ok() && *next; next = reader.Next()) messages.push_back(**next);
  }
  EXPECT_EQ(messages, (std::vector<std::string>{"first", "", "third one"}));
  EXPECT_FALSE(reader.Partial());
  reader.Append(FrameMessage("half").substr(0, 6));
  auto none = reader.Next();
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(*none);
  EXPECT_TRUE(reader.Partial());
}

TEST(MessageReader, RefusesCompressedAndOversizedMessages) {
  MessageReader compressed(100);
  std::string frame = FrameMessage("x");
  frame[0] = 1;
  compressed.Append(frame);
  ASSERT_FALSE(compressed.Next().ok());
  EXPECT_EQ(compressed.Next().error().code, StatusCode::kUnimplemented);
  MessageReader small(4);
  small.Append(FrameMessage("too long").substr(0, 5));  // the header alone is enough to tell
  ASSERT_FALSE(small.Next().ok());
  EXPECT_EQ(small.Next().error().code, StatusCode::kResourceExhausted);
}

}  // namespace dapr::grpcapi
