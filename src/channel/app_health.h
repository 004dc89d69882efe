// App health checks (--enable-app-health-check): the sidecar probes its app every interval
// and counts it unhealthy after `threshold` failed probes in a row (healthy again after one
// good probe). While it is unhealthy, calls to it fail at once. Probes run on the event loop
// and cost nothing between them.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>

#include "channel/app_channel.h"

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace dapr::channel {

struct AppHealthOptions {
  std::string path = "/healthz";  // HTTP apps; gRPC apps answer AppCallbackHealthCheck
  std::chrono::milliseconds interval{5000};
  std::chrono::milliseconds timeout{500};
  int threshold = 3;
};

class AppHealth {
 public:
  AppHealth(boost::asio::io_context& loop, AppChannel& channel, AppHealthOptions options);
  ~AppHealth();

  void Start();  // the first probe goes at once
  void Stop();
  // Healthy until `threshold` probes in a row fail; an app is assumed up until then.
  bool Healthy() const;

  class Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace dapr::channel
