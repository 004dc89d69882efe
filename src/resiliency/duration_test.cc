// Tests for Go-style duration parsing.
#include "resiliency/duration.h"

#include <gtest/gtest.h>

namespace dapr::resiliency {
namespace {

using namespace std::chrono_literals;

std::chrono::nanoseconds Parsed(std::string_view text) {
  auto parsed = ParseDuration(text);
  EXPECT_TRUE(parsed.ok()) << text << ": " << (parsed.ok() ? "" : parsed.error().message());
  return parsed.ok() ? *parsed : std::chrono::nanoseconds(-1);
}

TEST(DurationTest, ReadsSingleUnits) {
  EXPECT_EQ(Parsed("5s"), 5s);
  EXPECT_EQ(Parsed("100ms"), 100ms);
  EXPECT_EQ(Parsed("1h"), 1h);
  EXPECT_EQ(Parsed("2m"), 2min);
  EXPECT_EQ(Parsed("250us"), 250us);
  EXPECT_EQ(Parsed("250\xC2\xB5s"), 250us);  // micro sign
  EXPECT_EQ(Parsed("250\xCE\xBCs"), 250us);  // Greek mu
  EXPECT_EQ(Parsed("7ns"), 7ns);
}

TEST(DurationTest, ReadsCompoundsFractionsAndSigns) {
  EXPECT_EQ(Parsed("1m30s"), 90s);
  EXPECT_EQ(Parsed("1h30m"), 90min);
  EXPECT_EQ(Parsed("1.5s"), 1500ms);
  EXPECT_EQ(Parsed(".5s"), 500ms);
  EXPECT_EQ(Parsed("-2s"), -2s);
  EXPECT_EQ(Parsed("+2s"), 2s);
}

TEST(DurationTest, ZeroNeedsNoUnit) {
  EXPECT_EQ(Parsed("0"), 0s);
  EXPECT_EQ(Parsed("0s"), 0s);
}

TEST(DurationTest, RefusesGarbage) {
  for (std::string_view bad :
       {"", "5", "s", "5x", "5 s", "abc", "1.s.", "-", "1m30", "9999999999999999999h"}) {
    EXPECT_FALSE(ParseDuration(bad).ok()) << bad;
  }
}

TEST(DurationTest, ErrorQuotesTheText) {
  auto parsed = ParseDuration("5parsecs");
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.error().message().find("\"5parsecs\""), std::string::npos);
}

}  // namespace
}  // namespace dapr::resiliency
