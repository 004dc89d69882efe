#include "api/grpc/proxy.h"

#include "api/grpc/client.h"
#include "api/grpc/unary.h"
#include "blocks/invocation/invocation_block.h"
#include "channel/sidecar_invoker.h"
#include "common/trace_context.h"

namespace dapr::grpcapi {
namespace {

// What the next hop must not see from this one: the caller's token for this sidecar, and
// what the channel sets itself.
bool IsHopMetadata(std::string_view name) {
  return name == "dapr-api-token" || name == "user-agent" || name == "grpc-accept-encoding" ||
         name == "grpc-encoding" || name == "host";
}

// The call's metadata for the next hop. From the API port, this sidecar names itself the
// caller; a call another sidecar forwarded keeps the ids that sidecar set.
GrpcCallOptions ForwardedOptions(const ServerCall& call, const ProxyTargets& targets,
                                 std::optional<std::string_view> callee) {
  GrpcCallOptions options;
  options.max_response_bytes = targets.max_message_bytes;
  if (auto timeout = call.Timeout()) {
    options.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(*timeout);
    if (options.timeout.count() == 0) options.timeout = std::chrono::milliseconds(1);
  }
  bool traced = false;
  for (auto& [name, value] : call.AllMetadata()) {
    bool caller_ids = name == "dapr-caller-app-id" || name == "dapr-callee-app-id";
    if (IsHopMetadata(name) || (callee && caller_ids)) continue;
    if (name == "traceparent") {
      value = trace::ContinueTrace(value);
      traced = true;
    }
    options.metadata.emplace_back(std::move(name), std::move(value));
  }
  if (!traced) options.metadata.emplace_back("traceparent", trace::ContinueTrace(std::nullopt));
  if (callee) {
    options.metadata.emplace_back("dapr-caller-app-id", targets.app_id);
    options.metadata.emplace_back("dapr-callee-app-id", std::string(*callee));
  }
  return options;
}

// The answer of the next hop, relayed as it came.
auto Relay(std::shared_ptr<ServerCall> call) {
  return [call = std::move(call)](GrpcReply reply) {
    for (auto& [name, value] : reply.headers) call->AddResponseHeader(std::move(name), std::move(value));
    for (auto& [name, value] : reply.trailers) call->AddResponseTrailer(std::move(name), std::move(value));
    if (!reply.status.ok()) return call->Finish(std::move(reply.status));
    call->Finish(GrpcStatus::Ok(), std::move(reply.message));
  };
}

// from_sidecar: the call came in on the internal port.
void ToOwnApp(const ProxyTargets& targets, std::shared_ptr<ServerCall> call, bool from_sidecar) {
  if (!targets.app) {
    return call->Finish({StatusCode::kUnavailable,
                         "failed to proxy request: the app " + targets.app_id +
                             " has no gRPC channel (--app-protocol grpc)", {}});
  }
  GrpcCallOptions options = ForwardedOptions(
      *call, targets, from_sidecar ? std::nullopt : std::optional<std::string_view>(targets.app_id));
  // The app's token replaces any the caller sent.
  if (!targets.app_api_token.empty()) options.metadata.emplace_back("dapr-api-token", targets.app_api_token);
  targets.app->Call(std::string(call->Path()), std::string(call->request()), std::move(options),
                    Relay(call));
}

// gRPC's own words for a call nobody serves.
GrpcStatus NotServed(const GrpcServer& server, std::string_view path) {
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  size_t slash = path.find('/');
  std::string service(path.substr(0, slash));
  if (slash != std::string_view::npos && server.HasService(service)) {
    return {StatusCode::kUnimplemented,
            "unknown method " + std::string(path.substr(slash + 1)) + " for service " + service, {}};
  }
  return {StatusCode::kUnimplemented, "unknown service " + service, {}};
}

}  // namespace

void ProxyUnknownMethods(GrpcServer& api_server, ProxyTargets targets, const security::ApiToken& token) {
  api_server.SetFallback([targets = std::move(targets), &token,
                          &api_server](std::shared_ptr<ServerCall> call) {
    auto app_id = call->Metadata("dapr-app-id");
    if (!app_id) return call->Finish(NotServed(api_server, call->Path()));
    if (!Authorized(token, *call)) return call->Finish(Unauthenticated());
    auto target = blocks::ParseInvokeTarget(*app_id);
    if (!target.ok()) return call->Finish({StatusCode::kInvalidArgument, target.error().message, {}});
    bool self = target->app_id == targets.app_id &&
                (target->app_namespace.empty() || target->app_namespace == targets.app_namespace);
    if (self) return ToOwnApp(targets, std::move(call), false);
    if (!targets.sidecars) {
      return call->Finish({StatusCode::kUnavailable, "couldn't find service: " + target->app_id, {}});
    }
    GrpcCallOptions options = ForwardedOptions(*call, targets, target->app_id);
    targets.sidecars->Forward(*target, std::string(call->Path()), std::string(call->request()),
                              std::move(options), Relay(call));
  });
}

void ProxyToOwnApp(GrpcServer& internal_server, ProxyTargets targets) {
  internal_server.SetFallback([targets = std::move(targets),
                               &internal_server](std::shared_ptr<ServerCall> call) {
    auto app_id = call->Metadata("dapr-app-id");
    auto target = app_id ? blocks::ParseInvokeTarget(*app_id) : blocks::ApiResult<blocks::InvokeTarget>(
                                                                     blocks::errors::InvokeNoAppId());
    if (!target.ok() || target->app_id != targets.app_id) {
      return call->Finish(NotServed(internal_server, call->Path()));
    }
    ToOwnApp(targets, std::move(call), true);
  });
}

}  // namespace dapr::grpcapi
