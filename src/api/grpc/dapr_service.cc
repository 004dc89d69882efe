#include "api/grpc/dapr_service.h"

#include "blocks/lifecycle/lifecycle_block.h"
#include "blocks/metadata/metadata_block.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace dapr::grpcapi {

// Rich errors travel as a google.rpc.Status in grpc-status-details-bin, as Dapr sends them.
grpc::Status ToGrpcStatus(const blocks::ApiError& error) {
  auto code = static_cast<grpc::StatusCode>(error.grpc_code);
  if (error.reason.empty() && error.resources.empty() && error.field_violations.empty()) {
    return grpc::Status(code, error.message);
  }
  google::rpc::Status status;
  status.set_code(static_cast<int>(code));
  status.set_message(error.message);
  if (!error.reason.empty()) {
    google::rpc::ErrorInfo info;
    info.set_reason(error.reason);
    info.set_domain("dapr.io");
    info.mutable_metadata()->insert(error.reason_metadata.begin(), error.reason_metadata.end());
    status.add_details()->PackFrom(info);
  }
  for (const auto& resource : error.resources) {
    google::rpc::ResourceInfo info;
    info.set_resource_type(resource.resource_type);
    info.set_resource_name(resource.resource_name);
    status.add_details()->PackFrom(info);
  }
  if (!error.field_violations.empty()) {
    google::rpc::BadRequest bad;
    for (const auto& v : error.field_violations) {
      auto* out = bad.add_field_violations();
      out->set_field(v.field);
      out->set_description(v.description);
    }
    status.add_details()->PackFrom(bad);
  }
  return grpc::Status(code, error.message, status.SerializeAsString());
}

bool DaprService::Authorized(const grpc::ServerContextBase* context) const {
  if (!token_.enabled()) return true;
  const auto& metadata = context->client_metadata();
  auto it = metadata.find("dapr-api-token");
  if (it == metadata.end()) return false;
  return token_.Matches(std::string_view(it->second.data(), it->second.size()));
}

namespace {

void FillMetadata(const blocks::MetadataSnapshot& snapshot, rt::GetMetadataResponse* response) {
  response->set_id(snapshot.id);
  response->set_runtime_version(snapshot.runtime_version);
  for (const auto& feature : snapshot.enabled_features) response->add_enabled_features(feature);
  for (const auto& c : snapshot.components) {
    auto* out = response->add_registered_components();
    out->set_name(c.name);
    out->set_type(c.type);
    out->set_version(c.version);
    for (const auto& cap : c.capabilities) out->add_capabilities(cap);
  }
  response->mutable_extended_metadata()->insert(snapshot.extended.begin(), snapshot.extended.end());
  const auto& app = snapshot.app_connection;
  auto* props = response->mutable_app_connection_properties();
  props->set_port(app.port);
  props->set_protocol(app.protocol);
  props->set_channel_address(app.channel_address);
  props->set_max_concurrency(app.max_concurrency);
  if (app.health) {
    auto* health = props->mutable_health();
    health->set_health_check_path(app.health->check_path);
    health->set_health_probe_interval(app.health->probe_interval);
    health->set_health_probe_timeout(app.health->probe_timeout);
    health->set_health_threshold(app.health->threshold);
  }
  response->mutable_actor_runtime()->set_runtime_status(rt::ActorRuntime::DISABLED);
}

}  // namespace

grpc::ServerUnaryReactor* DaprService::GetMetadata(grpc::CallbackServerContext* context,
                                                   const rt::GetMetadataRequest*,
                                                   rt::GetMetadataResponse* response) {
  return Unary(context, false, [this, response] {
    FillMetadata(blocks_.metadata.Snapshot(), response);
    return grpc::Status::OK;
  });
}

grpc::ServerUnaryReactor* DaprService::SetMetadata(grpc::CallbackServerContext* context,
                                                   const rt::SetMetadataRequest* request,
                                                   google::protobuf::Empty*) {
  return Unary(context, false, [this, request] {
    blocks_.metadata.SetExtended(request->key(), request->value());
    return grpc::Status::OK;
  });
}

grpc::ServerUnaryReactor* DaprService::Shutdown(grpc::CallbackServerContext* context,
                                                const rt::ShutdownRequest*,
                                                google::protobuf::Empty*) {
  // The shutdown only starts (on another thread), so the caller still gets its answer.
  return Unary(context, false, [this] {
    blocks_.lifecycle.RequestShutdown();
    return grpc::Status::OK;
  });
}

}  // namespace dapr::grpcapi
