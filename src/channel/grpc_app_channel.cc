#include "channel/grpc_app_channel.h"

#include <nlohmann/json.hpp>

#include <cctype>

#include "api/grpc/client.h"
#include "channel/http_verb.h"
#include "dapr/proto/common/v1/common.pb.h"

namespace dapr::channel {
namespace {

namespace common = ::dapr::proto::common::v1;
constexpr const char* kOnInvoke = "/dapr.proto.runtime.v1.AppCallback/OnInvoke";

// Request headers travel as metadata: lower-case token names only; grpc-*, pseudo and
// HTTP/1 framing headers belong to the transports (HTTP/2 refuses a stream carrying them).
bool IsMetadataName(std::string_view name) {
  if (name.empty() || name.rfind("grpc-", 0) == 0) return false;
  if (IsFramingHeader(name) || name == "content-type") return false;
  for (char c : name) {
    if (!(std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) ||
          c == '-' || c == '_' || c == '.')) {
      return false;
    }
  }
  return true;
}

AppResponse FromError(const grpcapi::GrpcStatus& status) {
  AppResponse response;
  response.status = blocks::HttpStatusFromCode(status.code);
  response.content_type = "application/json";
  nlohmann::json body = {{"code", static_cast<int>(status.code)}, {"message", status.message},
                         {"details", nlohmann::json::array()}};
  response.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return response;
}

}  // namespace

GrpcAppChannel::GrpcAppChannel(boost::asio::io_context& loop, GrpcAppChannelOptions options)
    : options_(std::move(options)),
      channel_(grpcapi::GrpcChannel::Create(loop, options_.host, options_.port, options_.tls)) {}

GrpcAppChannel::~GrpcAppChannel() { channel_->Close(); }

void GrpcAppChannel::CallUnary(std::string path, std::string request, std::function<void(UnaryReply)> done) {
  grpcapi::GrpcCallOptions options;
  options.max_response_bytes = options_.max_response_bytes;
  if (!options_.app_api_token.empty()) options.metadata.emplace_back("dapr-api-token", options_.app_api_token);
  channel_->Call(std::move(path), std::move(request), std::move(options),
                 [done = std::move(done)](grpcapi::GrpcReply reply) {
                   done({Status(reply.status.code, std::move(reply.status.message)), std::move(reply.message)});
                 });
}

void GrpcAppChannel::Invoke(AppRequest request, AppCallback done) {
  common::InvokeRequest message;
  message.set_method(std::move(request.method));
  message.set_content_type(std::move(request.content_type));
  message.mutable_data()->set_value(std::move(request.body));
  auto* http = message.mutable_http_extension();
  http->set_verb(VerbToWire(request.verb));
  http->set_querystring(std::move(request.query));
  grpcapi::GrpcCallOptions options;
  options.max_response_bytes = options_.max_response_bytes;
  for (auto& [name, value] : request.headers) {
    if (IsMetadataName(name)) options.metadata.emplace_back(std::move(name), std::move(value));
  }
  if (!options_.app_api_token.empty()) options.metadata.emplace_back("dapr-api-token", options_.app_api_token);
  std::string target = "grpc://" + options_.host + ":" + std::to_string(options_.port);
  channel_->Call(kOnInvoke, message.SerializeAsString(), std::move(options),
                 [target, done = std::move(done)](grpcapi::GrpcReply reply) {
                   if (reply.status.code == StatusCode::kUnavailable) {
                     return done(blocks::errors::InvokeCause("error invoking app channel: " + target +
                                                             ": " + reply.status.message));
                   }
                   if (!reply.status.ok()) return done(FromError(reply.status));
                   common::InvokeResponse answer;
                   if (!answer.ParseFromString(reply.message)) {
                     return done(blocks::errors::InvokeCause("the app's OnInvoke answer is not an InvokeResponse"));
                   }
                   AppResponse response;
                   response.content_type = std::move(*answer.mutable_content_type());
                   response.body = std::move(*answer.mutable_data()->mutable_value());
                   for (auto& [name, value] : reply.headers) {
                     // The app's metadata; its transport headers are not the caller's business.
                     if (IsMetadataName(name)) response.headers.emplace_back(name, value);
                   }
                   done(std::move(response));
                 });
}

void GrpcAppChannel::CheckHealth(AppRequest, std::function<void(bool)> done) {
  grpcapi::GrpcCallOptions options;
  if (!options_.app_api_token.empty()) options.metadata.emplace_back("dapr-api-token", options_.app_api_token);
  // An empty google.protobuf.Empty request is zero bytes.
  channel_->Call("/dapr.proto.runtime.v1.AppCallbackHealthCheck/HealthCheck", "", std::move(options),
                 [done = std::move(done)](grpcapi::GrpcReply reply) { done(reply.status.ok()); });
}

}  // namespace dapr::channel
