#include "blocks/lifecycle/lifecycle_block.h"

namespace dapr::blocks {

ApiResult<Done> LifecycleBlock::Healthz(const std::string& appid) const {
  if (!appid.empty() && appid != app_id_) return errors::HealthAppIdMismatch();
  if (!ready_.load()) return errors::NotReady("dapr is not ready: [runtime]");
  return Done{};
}

ApiResult<Done> LifecycleBlock::OutboundHealthz() const {
  if (!outbound_ready_.load()) return errors::OutboundNotReady();
  return Done{};
}

void LifecycleBlock::RequestShutdown() {
  if (on_shutdown_) on_shutdown_();
}

}  // namespace dapr::blocks
