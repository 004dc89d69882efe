#include "security/api_token.h"

#include <gtest/gtest.h>

#include <string>

namespace dapr::security {
namespace {

TEST(ApiTokenTest, MatchesTheSameToken) {
  ApiToken token("s3cr3t-token");
  EXPECT_TRUE(token.enabled());
  EXPECT_TRUE(token.Matches("s3cr3t-token"));
}

TEST(ApiTokenTest, RejectsADifferentTokenOfTheSameLength) {
  ApiToken token("s3cr3t-token");
  EXPECT_FALSE(token.Matches("s3cr3t-tokeN"));
  EXPECT_FALSE(token.Matches("S3cr3t-token"));
  EXPECT_FALSE(token.Matches("xxxxxxxxxxxx"));
}

TEST(ApiTokenTest, RejectsTokensOfOtherLengths) {
  ApiToken token("s3cr3t-token");
  EXPECT_FALSE(token.Matches(""));
  EXPECT_FALSE(token.Matches("s3cr3t"));
  EXPECT_FALSE(token.Matches("s3cr3t-token "));
  EXPECT_FALSE(token.Matches("s3cr3t-token-and-more"));
}

TEST(ApiTokenTest, EmbeddedNulIsPartOfTheToken) {
  ApiToken token("abc");
  EXPECT_FALSE(token.Matches(std::string_view("abc\0", 4)));
  ApiToken with_nul(std::string("ab\0c", 4));
  EXPECT_TRUE(with_nul.Matches(std::string_view("ab\0c", 4)));
  EXPECT_FALSE(with_nul.Matches("ab"));
}

TEST(ApiTokenTest, EmptyTokenMeansDisabled) {
  ApiToken none;
  EXPECT_FALSE(none.enabled());
  EXPECT_TRUE(none.Matches(""));
  EXPECT_TRUE(none.Matches("anything"));
  ApiToken empty("");
  EXPECT_FALSE(empty.enabled());
  EXPECT_TRUE(empty.Matches("anything"));
}

}  // namespace
}  // namespace dapr::security
