// Sets up daprd's logs: level, and plain text or Dapr's JSON lines (--log-as-json).
#pragma once

#include <string>

#include "dapr/status.h"

namespace dapr::runtime {

Status SetupLogging(const std::string& level, bool as_json, const std::string& app_id);

}  // namespace dapr::runtime
