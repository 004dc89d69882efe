#include "common/base64.h"

#include <gtest/gtest.h>

namespace dapr {
namespace {

TEST(Base64, RoundTripsEveryPaddingLength) {
  for (std::string bytes : {std::string(""), std::string("a"), std::string("ab"), std::string("abc"),
                            std::string("\0\xff\x10", 3)}) {
    auto decoded = Base64Decode(Base64Encode(bytes));
    ASSERT_TRUE(decoded.has_value()) << bytes;
    EXPECT_EQ(*decoded, bytes);
  }
  EXPECT_EQ(Base64Encode("hello"), "aGVsbG8=");
}

TEST(Base64, RefusesWhatIsNotStandardBase64) {
  EXPECT_FALSE(Base64Decode("abc").has_value());       // not a multiple of 4
  EXPECT_FALSE(Base64Decode("ab-_").has_value());      // URL alphabet
  EXPECT_FALSE(Base64Decode("aGVs bG8=").has_value()); // whitespace
}

}  // namespace
}  // namespace dapr
