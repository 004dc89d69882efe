// What a subscribed app's answer to one delivered event means, as Dapr reads it: ack it,
// have it delivered again, or drop it (to the dead-letter topic when there is one). And
// the per-entry statuses of a bulk delivery.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace dapr::blocks::pubsub {

enum class Outcome {
  kSuccess,  // acked
  kRetry,    // delivered again (resiliency retries, then the broker's redelivery)
  kDrop,     // acked without success: dead-lettered when the subscription has a topic for it
};

// An HTTP app's answer: a 2xx with no body, a body that is not JSON, or {"status":"SUCCESS"}
// (or an empty or missing status) is a success; {"status":"RETRY"} or any other status
// string retries; {"status":"DROP"} drops; 404 drops (the route is gone: retrying cannot
// help); any other HTTP status retries.
Outcome OutcomeOfHttpReply(int http_status, std::string_view body);

// A status string of a bulk reply entry or a gRPC TopicEventResponse, by name.
Outcome OutcomeOfStatus(std::string_view status);

// A bulk delivery's answer, for the entries sent: {"statuses":[{"entryId","status"}]}.
// Entries the app does not mention are retried; a 404 drops them all, any other non-2xx
// (or a body that is not that shape) retries them all.
std::map<std::string, Outcome> OutcomesOfBulkReply(int http_status, std::string_view body,
                                                   const std::vector<std::string>& entry_ids);

}  // namespace dapr::blocks::pubsub
