// gRPC proxying, Dapr's service invocation for gRPC apps: a call to a method the sidecar does
// not serve itself, carrying metadata `dapr-app-id`, is forwarded as it is to that app:
// straight to the own app, or through the target's sidecar, whose internal port hands it to
// its app. Calls of every shape (unary, client, server and bidirectional streaming) are
// relayed as bytes both ways from their headers on, never parsed or held whole: request
// and response messages, headers, status and trailers come through unchanged, and a
// cancel on either side ends the other.
#pragma once

#include <memory>
#include <string>

#include "api/grpc/server.h"
#include "security/api_token.h"

namespace dapr::channel {
class SidecarInvoker;
}  // namespace dapr::channel

namespace dapr::grpcapi {

class GrpcChannel;

struct ProxyTargets {
  std::string app_id;
  std::string app_namespace;
  std::shared_ptr<GrpcChannel> app;             // the own app when it speaks gRPC; else null
  std::string app_api_token;                    // APP_API_TOKEN, sent to the app
  channel::SidecarInvoker* sidecars = nullptr;  // other apps; null without name resolution
};

// The API port: every unknown method with dapr-app-id goes to that app (API token checked).
void ProxyUnknownMethods(GrpcServer& api_server, ProxyTargets targets, const security::ApiToken& token);

// The internal port: a call another sidecar forwarded for this sidecar's app goes to it.
void ProxyToOwnApp(GrpcServer& internal_server, ProxyTargets targets);

}  // namespace dapr::grpcapi
