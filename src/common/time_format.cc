#include "common/time_format.h"

#include <ctime>

namespace dapr {

std::string FormatRfc3339(std::chrono::system_clock::time_point instant) {
  std::time_t seconds = std::chrono::system_clock::to_time_t(instant);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return buffer;
}

}  // namespace dapr
