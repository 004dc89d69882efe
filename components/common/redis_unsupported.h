// Features of Dapr's Redis components that this build's hiredis (0.14: no TLS, no cluster,
// no Sentinel) lacks, shared by state.redis and pubsub.redis: refused loudly at init rather
// than connecting in a way the user did not ask for.
#pragma once

#include <string>
#include <string_view>

#include "dapr/component_metadata.h"
#include "dapr/registry.h"  // ToLower
#include "dapr/status.h"

namespace dapr::components {

// component_type names the component in the message, e.g. "state.redis".
inline Status RejectUnsupportedRedis(const ComponentMetadata& metadata, std::string_view component_type) {
  auto tls = metadata.GetBool("enableTLS", false);
  if (!tls.ok()) return tls.error();
  if (tls.value()) {
    return Unimplemented("metadata enableTLS: TLS is not supported by this build of " + std::string(component_type));
  }
  std::string type = ToLower(metadata.GetOr("redisType", "node"));
  if (type != "node") {
    return Unimplemented("metadata redisType: only \"node\" is supported, not \"" + type + "\"");
  }
  auto failover = metadata.GetBool("failover", false);
  if (!failover.ok()) return failover.error();
  if (failover.value()) {
    return Unimplemented("metadata failover: Redis Sentinel is not supported by this build");
  }
  return Status::Ok();
}

}  // namespace dapr::components
