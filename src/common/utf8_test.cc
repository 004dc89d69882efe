// IsValidUtf8 against the RFC 3629 rules, on the ASCII fast path and off it.
#include "common/utf8.h"

#include <gtest/gtest.h>

#include <string>

namespace dapr {
namespace {

TEST(Utf8, AcceptsAsciiAndWellFormedSequences) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain ascii text, longer than eight bytes"));
  EXPECT_TRUE(IsValidUtf8("h\xc3\xa9"));                  // é
  EXPECT_TRUE(IsValidUtf8("\xe2\x82\xac"));               // €
  EXPECT_TRUE(IsValidUtf8("\xf0\x9f\x98\x80"));           // U+1F600
  EXPECT_TRUE(IsValidUtf8("\xf4\x8f\xbf\xbf"));           // U+10FFFF
  EXPECT_TRUE(IsValidUtf8(std::string(7, 'a') + "\xc3\xa9" + std::string(9, 'b')));
}

TEST(Utf8, RejectsMalformedSequences) {
  EXPECT_FALSE(IsValidUtf8("\xff"));
  EXPECT_FALSE(IsValidUtf8("\x80"));                      // lone continuation byte
  EXPECT_FALSE(IsValidUtf8("\xc3"));                      // truncated
  EXPECT_FALSE(IsValidUtf8("\xc0\xaf"));                  // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xe0\x80\xaf"));              // overlong, 3 bytes
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));              // surrogate U+D800
  EXPECT_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));          // above U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xe2\x82"));                  // truncated 3-byte
  EXPECT_FALSE(IsValidUtf8(std::string(16, 'a') + "\xfe")); // after the fast path
}

}  // namespace
}  // namespace dapr
