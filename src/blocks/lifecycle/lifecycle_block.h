// Health and shutdown: whether the sidecar is ready (GET /v1.0/healthz) and a way for the
// app to ask it to stop (POST /v1.0/shutdown, gRPC Shutdown).
#pragma once

#include <atomic>
#include <functional>
#include <string>

#include "blocks/errors.h"

namespace dapr::blocks {

class LifecycleBlock {
 public:
  explicit LifecycleBlock(std::string app_id) : app_id_(std::move(app_id)) {}

  void SetShutdownHandler(std::function<void()> handler) { on_shutdown_ = std::move(handler); }
  void MarkOutboundReady() { outbound_ready_.store(true); }
  void MarkReady() { ready_.store(true); }

  // appid, when given, must be this sidecar's id (name resolvers check it).
  ApiResult<Done> Healthz(const std::string& appid) const;
  ApiResult<Done> OutboundHealthz() const;
  void RequestShutdown();

 private:
  std::string app_id_;
  std::atomic<bool> ready_{false};
  std::atomic<bool> outbound_ready_{false};
  std::function<void()> on_shutdown_;
};

}  // namespace dapr::blocks
