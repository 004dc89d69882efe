// The contract every name resolution component implements (nameresolution.sqlite, ...):
// a sidecar announces where it can be reached, and finds the address of another app's sidecar.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dapr/component_metadata.h"
#include "dapr/status.h"

namespace dapr::nameresolution {

// Which app to find. An empty namespace means the caller's own namespace.
struct ResolveRequest {
  std::string app_id;
  std::string app_namespace;
};

// What a sidecar announces about itself, as Dapr's runtime hands it to its resolver
// (nameresolution.Instance). Other sidecars reach it on host:dapr_internal_grpc_port.
struct Registration {
  std::string app_id;
  std::string app_namespace;
  std::string host = "127.0.0.1";
  uint16_t dapr_internal_grpc_port = 0;
  uint16_t dapr_http_port = 0;
  uint16_t app_port = 0;  // 0 when the sidecar runs without an app
  int64_t pid = 0;
};

// Errors a resolver returns, by code:
//   kNotFound         no live sidecar is registered for the app id (the message names it)
//   kInvalidArgument  bad metadata or registration at Init
//   kUnavailable      the registry could not be reached, or the resolver is closed
class Resolver {
 public:
  virtual ~Resolver() = default;

  // Reads the metadata, announces self and keeps the announcement alive until Close().
  // Called once, before any Resolve.
  virtual Status Init(const ComponentMetadata& metadata, const Registration& self) = 0;

  // The "host:port" of the internal gRPC endpoint of one live sidecar of the app. When
  // several instances are registered, successive calls spread over them.
  virtual Result<std::string> Resolve(const ResolveRequest& request) = 0;

  // Every live instance's "host:port", for a caller that keeps them for a moment and spreads
  // calls over them itself. kUnimplemented (the default): ask Resolve for each call.
  virtual Result<std::vector<std::string>> ResolveAll(const ResolveRequest&) {
    return Status(StatusCode::kUnimplemented, "ResolveAll");
  }

  // Withdraws self, so no other sidecar sends it more calls, and stops background work.
  // Idempotent; also done by the destructor.
  virtual void Close() {}
};

}  // namespace dapr::nameresolution
