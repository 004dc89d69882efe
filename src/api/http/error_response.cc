#include "api/http/error_response.h"

#include <nlohmann/json.hpp>

namespace dapr::http {

namespace {

constexpr const char* kTypePrefix = "type.googleapis.com/google.rpc.";

nlohmann::json Details(const blocks::ApiError& error) {
  nlohmann::json details = nlohmann::json::array();
  if (!error.reason.empty()) {
    nlohmann::json metadata = error.reason_metadata.empty() ? nlohmann::json(nullptr)
                                                            : nlohmann::json(error.reason_metadata);
    details.push_back({{"@type", std::string(kTypePrefix) + "ErrorInfo"},
                       {"reason", error.reason},
                       {"domain", "dapr.io"},
                       {"metadata", metadata}});
  }
  for (const auto& resource : error.resources) {
    details.push_back({{"@type", std::string(kTypePrefix) + "ResourceInfo"},
                       {"resource_type", resource.resource_type},
                       {"resource_name", resource.resource_name},
                       {"owner", ""},
                       {"description", ""}});
  }
  if (!error.field_violations.empty()) {
    nlohmann::json violations = nlohmann::json::array();
    for (const auto& v : error.field_violations) {
      violations.push_back({{"field", v.field}, {"description", v.description}});
    }
    details.push_back({{"@type", std::string(kTypePrefix) + "BadRequest"},
                       {"field_violations", violations}});
  }
  return details;
}

}  // namespace

HttpResponse ErrorResponse(const blocks::ApiError& error) {
  nlohmann::json body = {{"errorCode", error.error_code}, {"message", error.message}};
  auto details = Details(error);
  if (!details.empty()) body["details"] = std::move(details);
  return JsonResponse(error.http_status,
                      body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

}  // namespace dapr::http
