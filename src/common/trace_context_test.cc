// traceparent: valid values parsed, invalid ones refused, traces continued with new span ids.
#include "common/trace_context.h"

#include <gtest/gtest.h>

#include <set>

namespace dapr::trace {
namespace {

constexpr std::string_view kValid = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

TEST(TraceContext, ParsesAndPrintsAValidValue) {
  auto parsed = ParseTraceParent(kValid);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->trace_id[0], 0x4b);
  EXPECT_EQ(parsed->parent_id[7], 0xb7);
  EXPECT_EQ(parsed->flags, 1);
  EXPECT_EQ(parsed->ToString(), kValid);
}

TEST(TraceContext, RefusesInvalidValues) {
  const char* invalid[] = {
      "",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",          // no flags
      "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",       // upper case
      "00-00000000000000000000000000000000-00f067aa0ba902b7-01",       // zero trace id
      "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",       // zero parent id
      "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",       // version ff
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra", // extra in version 00
      "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",       // separator
      "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",       // not hex
  };
  for (const char* text : invalid) EXPECT_FALSE(ParseTraceParent(text)) << text;
}

TEST(TraceContext, ReadsAHigherVersionByItsFirstFields) {
  auto parsed = ParseTraceParent("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-ever");
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->flags, 1);
}

TEST(TraceContext, ContinuesTheCallersTraceWithANewSpan) {
  std::string next = ContinueTrace(kValid);
  ASSERT_TRUE(ParseTraceParent(next)) << next;
  EXPECT_EQ(next.substr(0, 36), kValid.substr(0, 36));  // version and trace id
  EXPECT_NE(next.substr(36, 16), kValid.substr(36, 16));
  EXPECT_EQ(next.substr(52), "-01");
}

TEST(TraceContext, StartsANewUnsampledTraceWithoutAValidParent) {
  std::set<std::string> traces;
  for (auto incoming : {std::optional<std::string_view>{}, std::optional<std::string_view>{"junk"}}) {
    std::string next = ContinueTrace(incoming);
    ASSERT_TRUE(ParseTraceParent(next)) << next;
    EXPECT_EQ(next.substr(52), "-00");
    traces.insert(next.substr(3, 32));
  }
  EXPECT_EQ(traces.size(), 2u);  // a new trace id each time
}

}  // namespace
}  // namespace dapr::trace
