#include "common/json_scan.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace dapr::json_scan {
namespace {

TEST(JsonScan, IsJsonAgreesWithNlohmann) {
  const std::vector<std::string> cases = {
      "{}", "[]", "7", "-1.5e3", "\"text\"", "true", "null", " \n {\"a\": [1, {\"b\": null}]} \t",
      "", " ", "{", "{\"a\":}", "[1,]", "{\"a\":1,}", "01", "nan", "{} {}", "{}x", "'a'",
      "\"\xff\"",                 // not UTF-8
      std::string("\"a\0b\"", 5), // a raw NUL in a string
      "\"\\u00e9\\n\"", "\"caf\xc3\xa9\"",
      "\"\xc0\xaf\"", "\"\xed\xa0\x80\"", "\"\xf4\x90\x80\x80\"",  // overlong, surrogate, past U+10FFFF
      "{\"key\": \"a long ascii run before the bad byte \xfe\"}", "\"\\ud800\"", "\"\xf0\x9f\x98\x80\""};
  for (const auto& text : cases) {
    EXPECT_EQ(IsJson(text), nlohmann::json::accept(text.begin(), text.end())) << "[" << text << "]";
  }
  // Stricter than nlohmann, which stops reading at a NUL byte: bytes after the value refuse it.
  EXPECT_FALSE(IsJson(std::string("{}\0", 3)));
  EXPECT_FALSE(IsJson(std::string("{}\0garbage", 10)));
}

TEST(JsonScan, DeepNestingDoesNotOverflowTheStack) {
  std::string deep(1'000'000, '[');
  EXPECT_FALSE(IsJson(deep));
  deep += std::string(1'000'000, ']');
  EXPECT_TRUE(IsJson(deep));
}

TEST(JsonScan, TopLevelStringsReadsOnlyTheWantedTopLevelMembers) {
  const std::string event =
      R"({"data":{"expiration":"nested, not this","traceparent":"nor this"},"expiration":"2026-01-01T00:00:00Z",)"
      R"("id":"1","traceparent":"00-abc","tracestate":7,"list":[{"traceparent":"no"}]})";
  auto fields = TopLevelStrings(event, {"expiration", "traceparent", "tracestate"});
  ASSERT_TRUE(fields.has_value());
  EXPECT_EQ(*fields, (Fields{{"expiration", "2026-01-01T00:00:00Z"}, {"traceparent", "00-abc"}}));
}

TEST(JsonScan, TopLevelStringsWantsOneObject) {
  EXPECT_FALSE(TopLevelStrings("[1]", {"a"}).has_value());
  EXPECT_FALSE(TopLevelStrings("\"a\"", {"a"}).has_value());
  EXPECT_FALSE(TopLevelStrings("{\"a\":\"b\"", {"a"}).has_value());
  EXPECT_FALSE(TopLevelStrings("{\"a\":\"b\"} {}", {"a"}).has_value());
  auto empty = TopLevelStrings("{}", {"a"});
  ASSERT_TRUE(empty.has_value());
  EXPECT_TRUE(empty->empty());
}

}  // namespace
}  // namespace dapr::json_scan
