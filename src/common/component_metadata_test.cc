#include "dapr/component_metadata.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace dapr {
namespace {

using std::chrono::milliseconds;

// The parsed duration in milliseconds; fails the test when the text does not parse.
long long DurationMs(const std::string& text) {
  auto parsed = ParseGoDuration(text);
  EXPECT_TRUE(parsed.ok()) << text << " -> " << (parsed.ok() ? "" : parsed.error().message());
  return parsed.ok() ? parsed.value().count() : -1;
}

ComponentMetadata Sample() {
  return ComponentMetadata("statestore", "state.redis",
                           {{"redisHost", "localhost:6379"},
                            {"Timeout", "1m30s"},
                            {"maxRetries", "7"},
                            {"enableTLS", "TRUE"},
                            {"emptyValue", ""},
                            {"badInt", "12x"},
                            {"badBool", "maybe"},
                            {"badDuration", "5 parsecs"}});
}

TEST(ParseGoDurationTest, CompoundGoDuration) {
  EXPECT_EQ(DurationMs("1h2m3.5s"), 3'723'500);
  EXPECT_EQ(DurationMs("1m30s"), 90'000);
  EXPECT_EQ(DurationMs("1.5h"), 5'400'000);
}

TEST(ParseGoDurationTest, EachUnit) {
  EXPECT_EQ(DurationMs("2h"), 7'200'000);
  EXPECT_EQ(DurationMs("3m"), 180'000);
  EXPECT_EQ(DurationMs("5s"), 5'000);
  EXPECT_EQ(DurationMs("300ms"), 300);
  EXPECT_EQ(DurationMs("2000us"), 2);
  EXPECT_EQ(DurationMs("3000000ns"), 3);
}

TEST(ParseGoDurationTest, SubMillisecondRemaindersRound) {
  EXPECT_EQ(DurationMs("1500us"), 2);
  EXPECT_EQ(DurationMs("1400us"), 1);
  EXPECT_EQ(DurationMs("1s499us"), 1'000);
}

TEST(ParseGoDurationTest, BareNumberIsSeconds) {
  EXPECT_EQ(DurationMs("10"), 10'000);
  EXPECT_EQ(DurationMs("1.5"), 1'500);
  EXPECT_EQ(DurationMs("0"), 0);
}

TEST(ParseGoDurationTest, LeadingDotFraction) {
  // Go accepts ".5s".
  EXPECT_EQ(DurationMs(".5s"), 500);
}

TEST(ParseGoDurationTest, MicroSignUnit) {
  // Go's time.ParseDuration accepts "µs" (U+00B5) for microseconds; the code has a branch for it.
  EXPECT_EQ(DurationMs("2000\u00B5s"), 2);
}

TEST(ParseGoDurationTest, RejectsBadInput) {
  for (const char* text : {"", "abc", "5x", "1h2", "s", "ms", "5 s", "1h 2m", "-", "5sec", "h1"}) {
    auto parsed = ParseGoDuration(text);
    ASSERT_FALSE(parsed.ok()) << "\"" << text << "\" parsed as " << parsed.value().count() << "ms";
    EXPECT_EQ(parsed.error().code(), StatusCode::kInvalidArgument) << text;
    EXPECT_EQ(parsed.error().message(), "invalid duration \"" + std::string(text) + "\"");
  }
}

TEST(ParseGoDurationTest, RejectsInfinityAndNan) {
  // std::from_chars reads "inf" and "nan"; Go rejects them, and llround of either is undefined.
  for (const char* text : {"inf", "nan", "infs", "nanms", "infinity"}) {
    auto parsed = ParseGoDuration(text);
    EXPECT_FALSE(parsed.ok()) << "\"" << text << "\" parsed as " << parsed.value().count() << "ms";
  }
}

TEST(ParseGoDurationTest, RejectsOverflow) {
  // Go: time: invalid duration (overflow). Beyond ~292 years a count of nanoseconds overflows;
  // here the milliseconds would not fit a long long and llround's result is unspecified.
  for (const char* text : {"9999999999999999h", "1e300s", "1e30"}) {
    auto parsed = ParseGoDuration(text);
    EXPECT_FALSE(parsed.ok()) << "\"" << text << "\" parsed as " << parsed.value().count() << "ms";
  }
}

TEST(ParseBoolTest, TrueValuesAnyCase) {
  for (const char* text : {"true", "TRUE", "True", "1", "yes", "YES", "on", "On", "y", "Y"}) {
    EXPECT_EQ(ParseBool(text), std::optional<bool>(true)) << text;
  }
}

TEST(ParseBoolTest, FalseValuesAnyCase) {
  for (const char* text : {"false", "FALSE", "0", "no", "NO", "off", "Off", "n", ""}) {
    EXPECT_EQ(ParseBool(text), std::optional<bool>(false)) << text;
  }
}

TEST(ParseBoolTest, OtherTextIsNotABoolean) {
  for (const char* text : {"maybe", "2", "truee", "yess", "-1", "nope"}) {
    EXPECT_EQ(ParseBool(text), std::nullopt) << text;
  }
}

TEST(ParseBoolTest, AcceptsEveryDaprTruthyValue) {
  // dapr/kit utils.IsTruthy: "y", "yes", "true", "t", "on", "1", case-insensitive.
  EXPECT_EQ(ParseBool("t"), std::optional<bool>(true));
  EXPECT_EQ(ParseBool("T"), std::optional<bool>(true));
}

TEST(ParseBoolTest, TrimsSurroundingWhitespaceAsDapr) {
  // dapr/kit utils.IsTruthy trims spaces before comparing.
  EXPECT_EQ(ParseBool(" true "), std::optional<bool>(true));
}

TEST(ComponentMetadataTest, NameTypeAndProperties) {
  auto md = Sample();
  EXPECT_EQ(md.name(), "statestore");
  EXPECT_EQ(md.type(), "state.redis");
  EXPECT_EQ(md.properties().size(), 8u);
}

TEST(ComponentMetadataTest, KeysAreCaseInsensitive) {
  auto md = Sample();
  EXPECT_EQ(md.Get("redisHost"), std::optional<std::string>("localhost:6379"));
  EXPECT_EQ(md.Get("REDISHOST"), std::optional<std::string>("localhost:6379"));
  EXPECT_EQ(md.Get("redishost"), std::optional<std::string>("localhost:6379"));
  EXPECT_EQ(md.GetOr("TIMEOUT", "x"), "1m30s");
}

TEST(ComponentMetadataTest, KeysDifferingOnlyInCaseAreOneProperty) {
  ComponentMetadata::Properties props;
  props["keyPrefix"] = "name";
  props["KEYPREFIX"] = "none";
  ASSERT_EQ(props.size(), 1u);
  EXPECT_EQ(props.begin()->first, "keyPrefix");
  EXPECT_EQ(props.begin()->second, "none");
}

TEST(ComponentMetadataTest, GetMissingAndEmpty) {
  auto md = Sample();
  EXPECT_EQ(md.Get("nothere"), std::nullopt);
  EXPECT_EQ(md.Get("emptyValue"), std::optional<std::string>(""));
}

TEST(ComponentMetadataTest, GetOrFallsBackOnMissingOrEmpty) {
  auto md = Sample();
  EXPECT_EQ(md.GetOr("nothere", "fallback"), "fallback");
  EXPECT_EQ(md.GetOr("emptyValue", "fallback"), "fallback");
  EXPECT_EQ(md.GetOr("redisHost", "fallback"), "localhost:6379");
}

TEST(ComponentMetadataTest, GetBool) {
  auto md = Sample();
  auto tls = md.GetBool("enabletls", false);
  ASSERT_TRUE(tls.ok());
  EXPECT_TRUE(tls.value());
  auto missing = md.GetBool("nothere", true);
  ASSERT_TRUE(missing.ok());
  EXPECT_TRUE(missing.value());
  auto empty = md.GetBool("emptyValue", true);
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty.value());
}

TEST(ComponentMetadataTest, GetBoolBadValueNamesTheField) {
  auto bad = Sample().GetBool("badBool", false);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.error().message(), "metadata badBool: not a boolean: maybe");
}

TEST(ComponentMetadataTest, GetInt) {
  auto md = Sample();
  auto retries = md.GetInt("MAXRETRIES", 3);
  ASSERT_TRUE(retries.ok());
  EXPECT_EQ(retries.value(), 7);
  auto missing = md.GetInt("nothere", 3);
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(missing.value(), 3);
  auto empty = md.GetInt("emptyValue", -4);
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty.value(), -4);
}

TEST(ComponentMetadataTest, GetIntInRangeRefusesWhatIsOutsideNamingTheRange) {
  auto md = Sample();
  EXPECT_EQ(md.GetIntInRange("maxRetries", 3, 0, 7).value(), 7);
  EXPECT_EQ(md.GetIntInRange("nothere", 3, 0, 7).value(), 3);
  auto high = md.GetIntInRange("maxRetries", 3, 0, 6);
  ASSERT_FALSE(high.ok());
  EXPECT_EQ(high.error().message(), "metadata maxRetries: must be between 0 and 6");
  EXPECT_EQ(md.GetIntInRange("badInt", 3, 0, 100).error().message(), "metadata badInt: not an integer: 12x");
  long long value = 5;  // the fallback, kept when the key is absent
  EXPECT_TRUE(md.ReadIntInRange("nothere", 0, 7, value).ok());
  EXPECT_EQ(value, 5);
  EXPECT_TRUE(md.ReadIntInRange("maxRetries", 0, 7, value).ok());
  EXPECT_EQ(value, 7);
  EXPECT_FALSE(md.ReadIntInRange("maxRetries", 0, 6, value).ok());
  EXPECT_EQ(value, 7) << "a refused value leaves it as it was";
}

TEST(ComponentMetadataTest, GetIntBadValueNamesTheField) {
  auto bad = Sample().GetInt("badInt", 0);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.error().message(), "metadata badInt: not an integer: 12x");
}

TEST(ComponentMetadataTest, GetDuration) {
  auto md = Sample();
  auto timeout = md.GetDuration("timeout", milliseconds(1));
  ASSERT_TRUE(timeout.ok());
  EXPECT_EQ(timeout.value(), milliseconds(90'000));
  auto missing = md.GetDuration("nothere", milliseconds(250));
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(missing.value(), milliseconds(250));
  auto empty = md.GetDuration("emptyValue", milliseconds(42));
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty.value(), milliseconds(42));
}

TEST(ComponentMetadataTest, GetDurationBadValueNamesTheField) {
  auto bad = Sample().GetDuration("badDuration", milliseconds(0));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.error().message(), "metadata badDuration: invalid duration \"5 parsecs\"");
}

TEST(ComponentMetadataTest, CaseInsensitiveLessOrdersIgnoringCase) {
  CaseInsensitiveLess less;
  EXPECT_FALSE(less("ABC", "abc"));
  EXPECT_FALSE(less("abc", "ABC"));
  EXPECT_TRUE(less("abc", "ABD"));
  EXPECT_TRUE(less("AB", "abc"));
  EXPECT_FALSE(less("b", "A"));
}

}  // namespace
}  // namespace dapr
