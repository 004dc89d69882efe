#include "common/time_format.h"

#include <gtest/gtest.h>

#include <ctime>

namespace dapr {
namespace {

using namespace std::chrono;

system_clock::time_point At(int y, unsigned mo, unsigned d, int h, int mi, int s) {
  return sys_days(year_month_day{year{y}, month{mo}, day{d}}) + hours(h) + minutes(mi) + seconds(s);
}

TEST(TimeFormat, FormatRfc3339IsUtcWholeSeconds) {
  EXPECT_EQ(FormatRfc3339(At(2026, 11, 25, 17, 0, 0) + milliseconds(999)), "2026-11-25T17:00:00Z");
}

// The C library's gmtime_r + strftime as the reference, over instants a day and a prime
// number of seconds apart (leap days, year ends, before 1970), each formatted twice so that
// the per-thread cache of the last second is both filled and hit.
TEST(TimeFormat, FormatRfc3339AgreesWithStrftime) {
  for (auto instant = At(1899, 12, 31, 23, 59, 59); instant < At(2101, 1, 1, 0, 0, 0);
       instant += hours(24 * 37) + seconds(7919)) {
    std::time_t seconds_since_epoch = system_clock::to_time_t(instant);
    std::tm utc{};
    gmtime_r(&seconds_since_epoch, &utc);
    char expected[32];
    std::strftime(expected, sizeof expected, "%Y-%m-%dT%H:%M:%SZ", &utc);
    ASSERT_EQ(FormatRfc3339(instant), expected);
    ASSERT_EQ(FormatRfc3339(instant + milliseconds(500)), expected);
  }
}

TEST(TimeFormat, ParseRfc3339ReadsWhatFormatWrites) {
  const auto instant = At(2026, 2, 28, 23, 59, 7);
  EXPECT_EQ(ParseRfc3339(FormatRfc3339(instant)), instant);
}

TEST(TimeFormat, ParseRfc3339HonoursFractionsAndOffsets) {
  const auto utc = At(2026, 11, 25, 17, 0, 0);
  EXPECT_EQ(ParseRfc3339("2026-11-25T18:00:00+01:00"), utc);
  EXPECT_EQ(ParseRfc3339("2026-11-25T11:30:00-05:30"), utc);
  EXPECT_EQ(ParseRfc3339("2026-11-25t17:00:00z"), utc);
  EXPECT_EQ(ParseRfc3339("2026-11-25T17:00:00.5Z"), utc + milliseconds(500));
  EXPECT_EQ(ParseRfc3339("2026-11-25T17:00:00.123456789Z"), utc + nanoseconds(123456789));
  // Across a day and a year boundary.
  EXPECT_EQ(ParseRfc3339("2027-01-01T00:30:00+01:00"), At(2026, 12, 31, 23, 30, 0));
}

TEST(TimeFormat, ParseRfc3339RefusesWhatIsNotRfc3339) {
  for (const char* bad : {"", "tomorrow", "2026-11-25", "2026-11-25T17:00:00", "2026-11-25 17:00:00Z",
                          "2026-13-01T00:00:00Z", "2026-02-30T00:00:00Z", "2026-11-25T24:00:00Z",
                          "2026-11-25T17:00:00.Z", "2026-11-25T17:00:00+0100", "2026-11-25T17:00:00Zjunk",
                          "2026-11-25T17:0a:00Z", "1764090000"}) {
    EXPECT_FALSE(ParseRfc3339(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace dapr
