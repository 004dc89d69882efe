#include "blocks/pubsub/app_reply.h"

#include <cctype>
#include <nlohmann/json.hpp>

namespace dapr::blocks::pubsub {
namespace {

using Json = nlohmann::json;

bool Is2xx(int status) { return status >= 200 && status < 300; }

Json ParseOrDiscard(std::string_view body) {
  return Json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
}

}  // namespace

Outcome OutcomeOfStatus(std::string_view status) {
  // Dapr compares the names without regard to case.
  std::string upper(status);
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (upper.empty() || upper == "SUCCESS") return Outcome::kSuccess;
  if (upper == "DROP") return Outcome::kDrop;
  return Outcome::kRetry;  // RETRY, and anything the app may mean as an error
}

Outcome OutcomeOfHttpReply(int http_status, std::string_view body) {
  if (http_status == 404) return Outcome::kDrop;
  if (!Is2xx(http_status)) return Outcome::kRetry;
  Json reply = ParseOrDiscard(body);
  if (reply.is_discarded() || !reply.is_object()) return Outcome::kSuccess;
  auto status = reply.find("status");
  if (status == reply.end() || status->is_null()) return Outcome::kSuccess;
  if (!status->is_string()) return Outcome::kRetry;
  return OutcomeOfStatus(status->get<std::string>());
}

std::map<std::string, Outcome> OutcomesOfBulkReply(int http_status, std::string_view body,
                                                   const std::vector<std::string>& entry_ids) {
  std::map<std::string, Outcome> outcomes;
  Outcome all = http_status == 404 ? Outcome::kDrop : Outcome::kRetry;
  for (const std::string& id : entry_ids) outcomes[id] = all;
  if (!Is2xx(http_status)) return outcomes;
  Json reply = ParseOrDiscard(body);
  if (reply.is_discarded() || !reply.is_object() || !reply.contains("statuses") ||
      !reply["statuses"].is_array()) {
    return outcomes;
  }
  for (const Json& entry : reply["statuses"]) {
    if (!entry.is_object() || !entry.contains("entryId") || !entry["entryId"].is_string()) continue;
    auto known = outcomes.find(entry["entryId"].get<std::string>());
    if (known == outcomes.end()) continue;  // not an entry of this delivery
    std::string status = entry.contains("status") && entry["status"].is_string() ? entry["status"].get<std::string>() : "RETRY";
    known->second = OutcomeOfStatus(status);
  }
  return outcomes;
}

}  // namespace dapr::blocks::pubsub
