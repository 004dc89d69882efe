// gRPC adapters for service invocation: InvokeService (deprecated in Dapr, still what the
// JavaScript SDK's gRPC client calls). The app's HTTP answer comes back as the response
// data, its headers as response metadata with its status in dapr-http-status; a status
// outside 2xx becomes a gRPC error, mapped as Dapr maps it.
#include <cctype>

#include "api/grpc/dapr_service.h"
#include "api/grpc/unary.h"
#include "blocks/invocation/invocation_block.h"
#include "channel/http_verb.h"
#include "dapr/proto/runtime/v1/dapr.pb.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace dapr::grpcapi {
namespace {

namespace rt = ::dapr::proto::runtime::v1;
namespace common = ::dapr::proto::common::v1;

// HTTP/2 wants lower-case header names of token characters; others are dropped.
std::optional<std::string> MetadataName(std::string_view name) {
  if (name.empty()) return std::nullopt;
  std::string out;
  out.reserve(name.size());
  for (char c : name) {
    char lower = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (!(std::isalnum(static_cast<unsigned char>(lower)) || lower == '-' || lower == '_' ||
          lower == '.')) {
      return std::nullopt;
    }
    out.push_back(lower);
  }
  return out;
}

// Dapr's HTTP -> gRPC status table (anything not listed: Unknown).
StatusCode CodeOfHttpStatus(int status) {
  switch (status) {
    case 400: return StatusCode::kInternal;
    case 401: return StatusCode::kUnauthenticated;
    case 403: return StatusCode::kPermissionDenied;
    case 404: return StatusCode::kNotFound;
    case 408: return StatusCode::kCancelled;
    case 409: return StatusCode::kAlreadyExists;
    case 429: return StatusCode::kResourceExhausted;
    case 501: return StatusCode::kUnimplemented;
    case 503: return StatusCode::kUnavailable;
    case 504: return StatusCode::kDeadlineExceeded;
    default: return StatusCode::kUnknown;
  }
}

// An app's non-2xx answer as a gRPC error carrying ErrorInfo, as Dapr sends it.
GrpcStatus AppErrorStatus(const channel::AppResponse& app) {
  GrpcStatus out{CodeOfHttpStatus(app.status), app.body, {}};
  google::rpc::Status status;
  status.set_code(static_cast<int>(out.code));
  status.set_message(out.message);
  google::rpc::ErrorInfo info;
  info.set_reason("HTTP " + std::to_string(app.status));
  info.set_domain("dapr.io");
  (*info.mutable_metadata())["http.code"] = std::to_string(app.status);
  (*info.mutable_metadata())["http.error_message"] = app.body.substr(0, 63);
  status.add_details()->PackFrom(info);
  out.details = status.SerializeAsString();
  return out;
}

// The trace context a gRPC caller sent as metadata goes on with the call, as Dapr does.
void AddTraceHeaders(const ServerCall& call, channel::HeaderList& headers) {
  for (std::string_view name : {"traceparent", "tracestate"}) {
    if (auto value = call.Metadata(name)) headers.emplace_back(std::string(name), std::string(*value));
  }
}

channel::AppRequest ToAppRequest(rt::InvokeServiceRequest& request) {
  auto& message = *request.mutable_message();
  channel::AppRequest app;
  app.verb = channel::VerbFromWire(message.http_extension().verb());
  std::string_view method = message.method();
  while (!method.empty() && method.front() == '/') method.remove_prefix(1);
  app.method = std::string(method);
  app.query = message.http_extension().querystring();
  app.content_type = message.content_type();
  app.body = std::move(*message.mutable_data()->mutable_value());
  return app;
}

void Answer(ServerCall& call, channel::AppResponse app) {
  call.AddResponseHeader("dapr-http-status", std::to_string(app.status));
  for (auto& [name, value] : app.headers) {
    if (auto lower = MetadataName(name)) call.AddResponseHeader(std::move(*lower), std::move(value));
  }
  if (app.status < 200 || app.status > 299) return call.Finish(AppErrorStatus(app));
  common::InvokeResponse response;
  response.mutable_data()->set_value(std::move(app.body));
  response.set_content_type(std::move(app.content_type));
  Reply(call, GrpcStatus::Ok(), response);
}

}  // namespace

void DaprService::AddInvokeRpcs(GrpcServer& server) const {
  const blocks::InvocationBlock& invocation = blocks_.invocation;
  const security::ApiToken& token = token_;
  server.AddUnary(DaprMethod("InvokeService"), [&invocation, &token](std::shared_ptr<ServerCall> call) {
    if (!Authorized(token, *call)) return call->Finish(Unauthenticated());
    rt::InvokeServiceRequest request;
    if (!request.ParseFromArray(call->request().data(), static_cast<int>(call->request().size()))) {
      return call->Finish({StatusCode::kInternal, "grpc: error unmarshalling request", {}});
    }
    std::string target = request.id();
    channel::AppRequest app = ToAppRequest(request);
    AddTraceHeaders(*call, app.headers);
    invocation.Invoke(target, std::move(app),
                      [call](blocks::ApiResult<channel::AppResponse> result) {
                        if (!result.ok()) return call->Finish(ToGrpcStatus(result.error()));
                        Answer(*call, std::move(result).value());
                      });
  });
}

}  // namespace dapr::grpcapi
