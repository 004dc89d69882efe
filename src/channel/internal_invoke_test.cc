// Tests for the sidecar-to-sidecar conversions: a streamed body's announced size in the
// metadata (PutContentLength / TakeContentLength).
#include "channel/internal_invoke.h"

#include <gtest/gtest.h>

namespace dapr::channel {
namespace {

TEST(ContentLengthMetadata, RoundTripsAndIsTakenOut) {
  internals::InternalInvokeRequest request;
  (*request.mutable_metadata())["x-kept"].add_values("yes");
  PutContentLength(12345, *request.mutable_metadata());
  EXPECT_EQ(request.metadata().at("content-length").values(0), "12345");
  EXPECT_EQ(TakeContentLength(*request.mutable_metadata()), std::optional<uint64_t>(12345));
  EXPECT_EQ(request.metadata().count("content-length"), 0u);
  EXPECT_EQ(request.metadata().count("x-kept"), 1u);
}

TEST(ContentLengthMetadata, AnyCaseIsTakenOutButOnlyOneValidValueCounts) {
  internals::InternalInvokeRequest request;
  auto& metadata = *request.mutable_metadata();
  metadata["Content-Length"].add_values("10");
  metadata["Content-Length"].add_values("20");  // two values: no size, but gone all the same
  EXPECT_EQ(TakeContentLength(metadata), std::nullopt);
  EXPECT_TRUE(metadata.empty());
  for (const char* bad : {"", "-1", "12a", "0x10", "99999999999999999999"}) {
    metadata["content-length"].add_values(bad);
    EXPECT_EQ(TakeContentLength(metadata), std::nullopt) << bad;
    EXPECT_TRUE(metadata.empty());
  }
}

TEST(ContentLengthMetadata, NoEntryNoSize) {
  internals::InternalInvokeResponse response;
  EXPECT_EQ(TakeContentLength(*response.mutable_headers()), std::nullopt);
}

}  // namespace
}  // namespace dapr::channel
