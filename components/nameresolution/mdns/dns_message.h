// DNS messages as multicast DNS uses them (RFC 1035 wire format, RFC 6762 class bits):
// encoding with name compression, and a decoder for packets from the network that checks
// every length and offset, follows compression pointers only backwards (so it cannot loop)
// and fails cleanly on anything malformed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "dapr/status.h"

namespace dapr::nameresolution::mdns {

// A domain name as its labels, without the empty root label: {"cart", "local"}. Labels are
// kept apart because a label may itself contain a dot (an instance named after a host).
using Name = std::vector<std::string>;

Name NameFromDotted(std::string_view dotted);  // "cart.local" or "cart.local."
std::string ToDotted(const Name& name);        // "cart.local"
// DNS compares names ignoring ASCII case (RFC 4343).
bool SameName(const Name& a, const Name& b);

enum RecordType : uint16_t {
  kTypeA = 1,
  kTypePtr = 12,
  kTypeTxt = 16,
  kTypeAaaa = 28,
  kTypeSrv = 33,
  kTypeAny = 255,
};
constexpr uint16_t kClassIn = 1;
constexpr uint16_t kFlagResponse = 0x8000;       // QR
constexpr uint16_t kFlagAuthoritative = 0x0400;  // AA: mDNS responses always set it
constexpr uint16_t kOpcodeMask = 0x7800;
constexpr uint16_t kRcodeMask = 0x000f;

struct Question {
  Name name;
  uint16_t type = kTypeAny;
  bool unicast_response = false;  // the QU bit: the top bit of the class
};

struct Srv {
  uint16_t priority = 0;
  uint16_t weight = 0;
  uint16_t port = 0;
  Name target;
};

// One resource record. Only the field for its type is meaningful; a type we do not
// interpret keeps its data bytes in `raw`.
struct Record {
  Name name;
  uint16_t type = kTypeA;
  bool cache_flush = false;  // the top bit of the class on unique records (RFC 6762 §10.2)
  uint32_t ttl = 0;
  uint32_t ipv4 = 0;             // kTypeA, host byte order
  Name ptr;                      // kTypePtr
  Srv srv;                       // kTypeSrv
  std::vector<std::string> txt;  // kTypeTxt
  std::vector<uint8_t> raw;      // any other type
};

struct Message {
  uint16_t id = 0;
  uint16_t flags = 0;
  std::vector<Question> questions;
  std::vector<Record> answers;
  std::vector<Record> authorities;
  std::vector<Record> additionals;

  bool IsResponse() const { return (flags & kFlagResponse) != 0; }
};

// Fails (kInvalidArgument) on what cannot be encoded: a label over 63 bytes, a name over
// 255, a TXT string over 255, a record of a type we cannot write.
Result<std::vector<uint8_t>> Encode(const Message& message);

// Fails (kInvalidArgument) on any malformed packet; never reads outside `packet`.
Result<Message> Decode(std::span<const uint8_t> packet);

}  // namespace dapr::nameresolution::mdns
