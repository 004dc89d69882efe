// Tests for the DNS wire format: round trips, name compression, the encoder's limits, and
// hostile packets (truncations, pointer loops, bad lengths, random bytes and mutations),
// none of which may crash, hang or read out of bounds.
#include "components/nameresolution/mdns/dns_message.h"

#include <gtest/gtest.h>

#include <random>

namespace dapr::nameresolution::mdns {
namespace {

using Bytes = std::vector<uint8_t>;

// A readable form of a message, so two messages compare field by field.
std::string Describe(const Message& m) {
  std::string out = "id=" + std::to_string(m.id) + " flags=" + std::to_string(m.flags) + "\n";
  for (const Question& q : m.questions) {
    out += "Q " + ToDotted(q.name) + " " + std::to_string(q.type) +
           (q.unicast_response ? " QU" : "") + "\n";
  }
  for (const auto* section : {&m.answers, &m.authorities, &m.additionals}) {
    out += "--\n";
    for (const Record& r : *section) {
      out += ToDotted(r.name) + " t" + std::to_string(r.type) + (r.cache_flush ? " flush" : "") +
             " ttl" + std::to_string(r.ttl) + " a" + std::to_string(r.ipv4) +
             " ptr=" + ToDotted(r.ptr) + " srv=" + std::to_string(r.srv.priority) + "/" +
             std::to_string(r.srv.weight) + "/" + std::to_string(r.srv.port) + "/" +
             ToDotted(r.srv.target) + " raw" + std::to_string(r.raw.size());
      for (const std::string& t : r.txt) out += " txt[" + t + "]";
      out += "\n";
    }
  }
  return out;
}

Record MakeRecord(const std::string& name, uint16_t type, uint32_t ttl) {
  Record r;
  r.name = NameFromDotted(name);
  r.type = type;
  r.ttl = ttl;
  return r;
}

// One message with every record type the resolver uses, and one it does not interpret.
Message Sample() {
  Message m;
  m.id = 0x1234;
  m.flags = kFlagResponse | kFlagAuthoritative;
  m.questions.push_back({NameFromDotted("cart.local"), kTypePtr, true});
  Record ptr = MakeRecord("cart.local", kTypePtr, 120);
  ptr.ptr = {"host:42", "cart", "local"};
  Record srv = MakeRecord("", kTypeSrv, 120);
  srv.name = ptr.ptr;
  srv.cache_flush = true;
  srv.srv = {1, 2, 50002, NameFromDotted("host-42.local")};
  Record txt = MakeRecord("", kTypeTxt, 4500);
  txt.name = ptr.ptr;
  txt.txt = {"cart", "", "k=v"};
  Record a = MakeRecord("host-42.local", kTypeA, 120);
  a.cache_flush = true;
  a.ipv4 = 0x0a000102;
  Record aaaa = MakeRecord("host-42.local", kTypeAaaa, 120);
  aaaa.raw = Bytes(16, 0xfe);
  m.answers = {ptr};
  m.authorities = {aaaa};
  m.additionals = {srv, txt, a};
  return m;
}

Bytes EncodeOrDie(const Message& m) {
  auto bytes = Encode(m);
  EXPECT_TRUE(bytes.ok()) << bytes.error().message();
  return bytes.ok() ? bytes.value() : Bytes{};
}

// A header with the given counts, then the body bytes.
Bytes Packet(uint16_t questions, uint16_t answers, const Bytes& body) {
  Bytes p = {0, 0, 0x84, 0, 0, static_cast<uint8_t>(questions), 0, static_cast<uint8_t>(answers),
             0, 0, 0,    0};
  p.reserve(p.size() + body.size());  // also spares GCC 12 a false -Warray-bounds
  p.insert(p.end(), body.begin(), body.end());
  return p;
}

std::string DecodeError(const Bytes& packet) {
  auto message = Decode(packet);
  return message.ok() ? "decoded" : message.error().message();
}

TEST(DnsMessageTest, RoundTripKeepsEveryField) {
  Message sample = Sample();
  auto decoded = Decode(EncodeOrDie(sample));
  ASSERT_TRUE(decoded.ok()) << decoded.error().message();
  EXPECT_EQ(Describe(*decoded), Describe(sample));
  EXPECT_TRUE(decoded->IsResponse());
}

TEST(DnsMessageTest, NamesAreCompressedAcrossRecordsIgnoringCase) {
  Message m;
  m.answers = {MakeRecord("a.cart.local", kTypeA, 1), MakeRecord("b.CART.local", kTypeA, 1),
               MakeRecord("a.cart.local", kTypeA, 1)};
  Bytes bytes = EncodeOrDie(m);
  // 12 header; 14 name + 14 fixed; "b" + pointer = 4 + 14; a full pointer = 2 + 14.
  EXPECT_EQ(bytes.size(), 12u + 28u + 18u + 16u);
  EXPECT_EQ(bytes[12 + 28 + 2], 0xc0);  // b's suffix points back at offset 14 ("cart.local")
  EXPECT_EQ(bytes[12 + 28 + 3], 14);
  auto decoded = Decode(bytes);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(ToDotted(decoded->answers[1].name), "b.cart.local");  // spelled as first written
  EXPECT_EQ(ToDotted(decoded->answers[2].name), "a.cart.local");
}

TEST(DnsMessageTest, DecodesAHandWrittenPacketWithPointers) {
  // Question "cart.local" PTR; answer: pointer to it, PTR to "x" + pointer to it.
  Bytes body = {4,    'c', 'a', 'r', 't',  5, 'l', 'o', 'c', 'a', 'l', 0, 0, 12,  0,    1,
                0xc0, 12,  0,   12,  0x80, 1, 0,   0,   0,   60,  0,   4, 1, 'x', 0xc0, 12};
  auto m = Decode(Packet(1, 1, body));
  ASSERT_TRUE(m.ok()) << m.error().message();
  EXPECT_EQ(ToDotted(m->questions[0].name), "cart.local");
  ASSERT_EQ(m->answers.size(), 1u);
  EXPECT_EQ(ToDotted(m->answers[0].name), "cart.local");
  EXPECT_TRUE(m->answers[0].cache_flush);
  EXPECT_EQ(m->answers[0].ttl, 60u);
  EXPECT_EQ(ToDotted(m->answers[0].ptr), "x.cart.local");
}

TEST(DnsMessageTest, EmptyTxtIsWrittenAsOneEmptyString) {
  Message m;
  m.answers = {MakeRecord("t.local", kTypeTxt, 1)};
  Bytes bytes = EncodeOrDie(m);
  EXPECT_EQ(bytes.back(), 0);
  EXPECT_EQ(bytes[bytes.size() - 2], 1);  // rdlength 1
  auto decoded = Decode(bytes);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->answers[0].txt, std::vector<std::string>{""});
}

TEST(DnsMessageTest, LabelsMayHoldDots) {
  Message m;
  Record r = MakeRecord("", kTypePtr, 1);
  r.name = {"my.host:7", "cart", "local"};
  r.ptr = r.name;
  m.answers = {r};
  auto decoded = Decode(EncodeOrDie(m));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->answers[0].name, r.name);
  EXPECT_TRUE(SameName(decoded->answers[0].ptr, {"MY.HOST:7", "Cart", "LOCAL"}));
  EXPECT_FALSE(SameName(decoded->answers[0].ptr, NameFromDotted("my.host:7.cart.local")));
}

TEST(DnsMessageTest, EncoderRefusesWhatDnsCannotCarry) {
  auto refused = [](Message m) { return !Encode(m).ok(); };
  Message long_label;
  long_label.questions.push_back({{std::string(64, 'a'), "local"}, kTypePtr, false});
  EXPECT_TRUE(refused(long_label));
  Message empty_label;
  empty_label.questions.push_back({{"a", "", "local"}, kTypePtr, false});
  EXPECT_TRUE(refused(empty_label));
  Message long_name;
  long_name.questions.push_back({Name(5, std::string(63, 'a')), kTypePtr, false});
  EXPECT_TRUE(refused(long_name));
  Message long_txt;
  long_txt.answers = {MakeRecord("t.local", kTypeTxt, 1)};
  long_txt.answers[0].txt = {std::string(256, 't')};
  EXPECT_TRUE(refused(long_txt));
  Message just_fits;  // 3 * (1 + 63) + (1 + 61) + 1 root byte = 255
  just_fits.questions.push_back(
      {{std::string(63, 'a'), std::string(63, 'b'), std::string(63, 'c'), std::string(61, 'd')},
       kTypePtr,
       false});
  EXPECT_FALSE(refused(just_fits));
}

TEST(DnsMessageTest, EveryTruncationIsRefused) {
  Bytes full = EncodeOrDie(Sample());
  for (size_t size = 0; size < full.size(); ++size) {
    Bytes cut(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(size));
    EXPECT_FALSE(Decode(cut).ok()) << "accepted the first " << size << " of " << full.size();
  }
}

TEST(DnsMessageTest, PointerLoopsAreRefused) {
  // A name that points at itself, one that points forward, two that point at each other.
  EXPECT_NE(DecodeError(Packet(1, 0, {0xc0, 12, 0, 12, 0, 1})), "decoded");
  EXPECT_NE(DecodeError(Packet(1, 0, {0xc0, 14, 1, 'a', 0, 0, 12, 0, 1})), "decoded");
  EXPECT_NE(DecodeError(Packet(1, 0, {1, 'a', 0xc0, 16, 1, 'b', 0xc0, 12, 0, 12, 0, 1})),
            "decoded");
  // A pointer into its own labels: "a" then a pointer back to "a"'s own start.
  EXPECT_NE(DecodeError(Packet(1, 0, {1, 'a', 0xc0, 12, 0, 12, 0, 1})), "decoded");
}

TEST(DnsMessageTest, AChainOfBackwardPointersIsFollowed) {
  // "a", then "b" -> "a", then "c" -> "b": the last question is c.b.a.
  Bytes body = {1,  'a', 0, 0, 12,  0,    1,  1, 'b', 0xc0, 12, 0,
                12, 0,   1, 1, 'c', 0xc0, 19, 0, 12,  0,    1};
  auto m = Decode(Packet(3, 0, body));
  ASSERT_TRUE(m.ok()) << m.error().message();
  EXPECT_EQ(ToDotted(m->questions[2].name), "c.b.a");
}

TEST(DnsMessageTest, NamesLongerThan255BytesThroughPointersAreRefused) {
  // Question i is a 63-byte label followed by a pointer to question i-1: the fourth spells
  // 4 * 64 + 1 = 257 bytes.
  Bytes body;
  std::vector<size_t> starts;
  for (int i = 0; i < 4; ++i) {
    starts.push_back(12 + body.size());
    body.push_back(63);
    body.insert(body.end(), 63, static_cast<uint8_t>('a' + i));
    if (i == 0) {
      body.push_back(0);
    } else {
      body.push_back(static_cast<uint8_t>(0xc0 | (starts[i - 1] >> 8)));
      body.push_back(static_cast<uint8_t>(starts[i - 1]));
    }
    body.insert(body.end(), {0, 12, 0, 1});
  }
  EXPECT_TRUE(Decode(Packet(3, 0, body)).ok());  // the third is 193 bytes: fine
  EXPECT_NE(DecodeError(Packet(4, 0, body)), "decoded");
}

TEST(DnsMessageTest, ObsoleteLabelTypesAreRefused) {
  EXPECT_NE(DecodeError(Packet(1, 0, {0x41, 'a', 0, 0, 12, 0, 1})), "decoded");
  EXPECT_NE(DecodeError(Packet(1, 0, {0x81, 'a', 0, 0, 12, 0, 1})), "decoded");
}

TEST(DnsMessageTest, RecordDataMustFitItsLength) {
  Bytes name = {1, 'x', 0};
  auto record = [&](uint16_t type, uint16_t length, Bytes data) {
    Bytes body = name;
    body.insert(body.end(), {0, static_cast<uint8_t>(type), 0, 1, 0, 0, 0, 9,
                             static_cast<uint8_t>(length >> 8), static_cast<uint8_t>(length)});
    body.insert(body.end(), data.begin(), data.end());
    return DecodeError(Packet(0, 1, body));
  };
  EXPECT_EQ(record(kTypeA, 4, {10, 0, 0, 1}), "decoded");
  EXPECT_NE(record(kTypeA, 5, {10, 0, 0, 1, 9}), "decoded");  // A is exactly 4 bytes
  EXPECT_NE(record(kTypeA, 3, {10, 0, 0}), "decoded");
  EXPECT_NE(record(kTypeA, 200, {10, 0, 0, 1}), "decoded");   // longer than the packet
  EXPECT_NE(record(kTypePtr, 2, {1, 'y', 0}), "decoded");     // name runs past the data
  EXPECT_NE(record(kTypePtr, 4, {1, 'y', 0, 7}), "decoded");  // data longer than the name
  EXPECT_EQ(record(kTypePtr, 3, {1, 'y', 0}), "decoded");
  EXPECT_NE(record(kTypeSrv, 5, {0, 0, 0, 0, 0}), "decoded");  // no room for the target
  EXPECT_NE(record(kTypeTxt, 3, {5, 'a', 'b'}), "decoded");    // string runs past the data
  EXPECT_EQ(record(kTypeTxt, 3, {2, 'a', 'b'}), "decoded");
  EXPECT_EQ(record(99, 2, {7, 7}), "decoded");  // unknown type: kept raw
}

TEST(DnsMessageTest, CountsLargerThanThePacketAreRefusedQuickly) {
  Bytes header = {0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  EXPECT_NE(DecodeError(header), "decoded");
  Bytes one_question = header;
  one_question.insert(one_question.end(), {0, 0, 1, 0, 1});
  EXPECT_NE(DecodeError(one_question), "decoded");
}

// Whatever decodes must encode again and decode to the same thing; nothing may crash.
void ExpectStableIfDecoded(const Bytes& packet) {
  auto decoded = Decode(packet);
  if (!decoded.ok()) return;
  auto again = Encode(*decoded);
  ASSERT_TRUE(again.ok()) << again.error().message();
  auto twice = Decode(*again);
  ASSERT_TRUE(twice.ok()) << twice.error().message();
  EXPECT_EQ(Describe(*twice), Describe(*decoded));
}

TEST(DnsMessageTest, RandomBytesNeverCrash) {
  std::mt19937 random(20240601);
  int decoded = 0;
  for (int i = 0; i < 20000; ++i) {
    Bytes packet(random() % 96);
    for (uint8_t& b : packet) b = static_cast<uint8_t>(random());
    // Small counts, so that some packets get past the header.
    if (packet.size() >= 12) {
      for (int c = 4; c < 12; c += 2) packet[c] = 0, packet[c + 1] &= 3;
    }
    decoded += Decode(packet).ok();
    ExpectStableIfDecoded(packet);
  }
  EXPECT_GT(decoded, 0);  // the generator does reach the body parser
}

TEST(DnsMessageTest, MutatedPacketsNeverCrash) {
  std::mt19937 random(7);
  const Bytes valid = EncodeOrDie(Sample());
  int decoded = 0;
  for (int i = 0; i < 20000; ++i) {
    Bytes packet = valid;
    for (int flips = 1 + random() % 4; flips > 0; --flips) {
      size_t at = random() % packet.size();
      switch (random() % 3) {
        case 0:
          packet[at] ^= static_cast<uint8_t>(1u << (random() % 8));
          break;
        case 1:
          packet[at] = static_cast<uint8_t>(random());
          break;
        default:
          packet[at] = 0xc0;  // a stray pointer marker
      }
    }
    decoded += Decode(packet).ok();
    ExpectStableIfDecoded(packet);
  }
  EXPECT_GT(decoded, 0);
}

}  // namespace
}  // namespace dapr::nameresolution::mdns
