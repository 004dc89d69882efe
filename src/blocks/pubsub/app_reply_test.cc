// How a subscribed app's answers are read: success, retry, drop; and bulk statuses.
#include "blocks/pubsub/app_reply.h"

#include <gtest/gtest.h>

namespace dapr::blocks::pubsub {
namespace {

TEST(AppReply, A2xxWithoutAStatusIsASuccess) {
  EXPECT_EQ(OutcomeOfHttpReply(200, ""), Outcome::kSuccess);
  EXPECT_EQ(OutcomeOfHttpReply(204, ""), Outcome::kSuccess);
  EXPECT_EQ(OutcomeOfHttpReply(200, "ok, thanks"), Outcome::kSuccess);  // not JSON
  EXPECT_EQ(OutcomeOfHttpReply(200, R"({"other":1})"), Outcome::kSuccess);
  EXPECT_EQ(OutcomeOfHttpReply(200, R"({"status":""})"), Outcome::kSuccess);
  EXPECT_EQ(OutcomeOfHttpReply(200, "[1,2]"), Outcome::kSuccess);
}

TEST(AppReply, TheStatusFieldDecidesIgnoringCase) {
  EXPECT_EQ(OutcomeOfHttpReply(200, R"({"status":"SUCCESS"})"), Outcome::kSuccess);
  EXPECT_EQ(OutcomeOfHttpReply(200, R"({"status":"retry"})"), Outcome::kRetry);
  EXPECT_EQ(OutcomeOfHttpReply(200, R"({"status":"DROP"})"), Outcome::kDrop);
  EXPECT_EQ(OutcomeOfHttpReply(200, R"({"status":"maybe"})"), Outcome::kRetry);
  EXPECT_EQ(OutcomeOfHttpReply(200, R"({"status":42})"), Outcome::kRetry);
}

TEST(AppReply, NotFoundDropsAndOtherErrorsRetry) {
  EXPECT_EQ(OutcomeOfHttpReply(404, R"({"status":"RETRY"})"), Outcome::kDrop);
  EXPECT_EQ(OutcomeOfHttpReply(500, ""), Outcome::kRetry);
  EXPECT_EQ(OutcomeOfHttpReply(400, R"({"status":"SUCCESS"})"), Outcome::kRetry);
  EXPECT_EQ(OutcomeOfHttpReply(302, ""), Outcome::kRetry);
}

TEST(AppReply, BulkStatusesPerEntryAndUnmentionedEntriesRetry) {
  auto outcomes = OutcomesOfBulkReply(
      200, R"({"statuses":[{"entryId":"a","status":"SUCCESS"},{"entryId":"b","status":"DROP"},
                          {"entryId":"zz","status":"SUCCESS"},{"entryId":"c"}]})",
      {"a", "b", "c", "d"});
  EXPECT_EQ(outcomes.size(), 4u);  // "zz" was not sent: ignored
  EXPECT_EQ(outcomes["a"], Outcome::kSuccess);
  EXPECT_EQ(outcomes["b"], Outcome::kDrop);
  EXPECT_EQ(outcomes["c"], Outcome::kRetry);  // no status
  EXPECT_EQ(outcomes["d"], Outcome::kRetry);  // not mentioned
}

TEST(AppReply, BulkWholeReplyStatuses) {
  for (auto [status, expected] : {std::pair{404, Outcome::kDrop}, std::pair{503, Outcome::kRetry}}) {
    auto outcomes = OutcomesOfBulkReply(status, R"({"statuses":[{"entryId":"a","status":"SUCCESS"}]})", {"a", "b"});
    EXPECT_EQ(outcomes["a"], expected);
    EXPECT_EQ(outcomes["b"], expected);
  }
  auto garbled = OutcomesOfBulkReply(200, "not json", {"a"});
  EXPECT_EQ(garbled["a"], Outcome::kRetry);
}

}  // namespace
}  // namespace dapr::blocks::pubsub
