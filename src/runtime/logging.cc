#include "runtime/logging.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

namespace dapr::runtime {
namespace {

// %* in the pattern: the message as a JSON string (quotes included), so any text is safe.
class JsonMessageFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    std::string text(msg.payload.data(), msg.payload.size());
    std::string quoted = nlohmann::json(text).dump(-1, ' ', false,
                                                   nlohmann::json::error_handler_t::replace);
    dest.append(quoted.data(), quoted.data() + quoted.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JsonMessageFlag>();
  }
};

}  // namespace

Status SetupLogging(const std::string& level, bool as_json, const std::string& app_id) {
  auto parsed = spdlog::level::from_str(level == "fatal" ? "critical" : level);
  if (parsed == spdlog::level::off && level != "off") {
    return InvalidArgument("invalid --log-level " + level + " (debug, info, warn, error, fatal)");
  }
  auto logger = std::make_shared<spdlog::logger>("daprd", std::make_shared<spdlog::sinks::stdout_sink_mt>());
  spdlog::set_default_logger(logger);
  spdlog::set_level(parsed);
  spdlog::flush_on(spdlog::level::trace);
  if (as_json) {
    std::string app = nlohmann::json(app_id).dump();
    auto formatter = std::make_unique<spdlog::pattern_formatter>();
    formatter->add_flag<JsonMessageFlag>('*').set_pattern(
        R"({"time":"%Y-%m-%dT%H:%M:%S.%f%z","level":"%l","msg":%*,"scope":"dapr.runtime","type":"log","app_id":)" +
        app + R"(,"instance":"daprd","ver":")" + DAPR_RUNTIME_VERSION + "\"}");
    spdlog::set_formatter(std::move(formatter));
  } else {
    spdlog::set_pattern("time=\"%Y-%m-%dT%H:%M:%S.%f%z\" level=%l msg=\"%v\" app_id=" + app_id +
                        " scope=dapr.runtime");
  }
  return Status::Ok();
}

}  // namespace dapr::runtime
