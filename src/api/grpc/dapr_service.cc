#include "api/grpc/dapr_service.h"

#include "api/grpc/unary.h"
#include "blocks/lifecycle/lifecycle_block.h"
#include "blocks/metadata/metadata_block.h"
#include "dapr/proto/runtime/v1/dapr.pb.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace dapr::grpcapi {

namespace rt = ::dapr::proto::runtime::v1;

GrpcStatus ToGrpcStatus(const blocks::ApiError& error) {
  GrpcStatus out{error.grpc_code, error.message, {}};
  if (error.reason.empty() && error.resources.empty() && error.field_violations.empty()) {
    return out;
  }
  google::rpc::Status status;
  status.set_code(static_cast<int>(error.grpc_code));
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
      auto* violation = bad.add_field_violations();
      violation->set_field(v.field);
      violation->set_description(v.description);
    }
    status.add_details()->PackFrom(bad);
  }
  out.details = status.SerializeAsString();
  return out;
}

std::string DaprMethod(std::string_view name) {
  return "/dapr.proto.runtime.v1.Dapr/" + std::string(name);
}

void DaprService::RegisterOn(GrpcServer& server) const {
  AddStateRpcs(server);
  AddMetadataRpcs(server);
  AddInvokeRpcs(server);
  AddPubSubRpcs(server);
  AddStreamingSubscriptionRpc(server);
}

namespace {

void FillMetadata(const blocks::MetadataSnapshot& snapshot, rt::GetMetadataResponse& response) {
  response.set_id(snapshot.id);
  response.set_runtime_version(snapshot.runtime_version);
  for (const auto& feature : snapshot.enabled_features) response.add_enabled_features(feature);
  for (const auto& c : snapshot.components) {
    auto* out = response.add_registered_components();
    out->set_name(c.name);
    out->set_type(c.type);
    out->set_version(c.version);
    for (const auto& cap : c.capabilities) out->add_capabilities(cap);
  }
  for (const auto& name : snapshot.http_endpoints) response.add_http_endpoints()->set_name(name);
  for (const auto& s : snapshot.subscriptions) {
    auto* out = response.add_subscriptions();
    out->set_pubsub_name(s.pubsub_name);
    out->set_topic(s.topic);
    out->mutable_metadata()->insert(s.metadata.begin(), s.metadata.end());
    for (const auto& [match, path] : s.rules) {
      auto* rule = out->mutable_rules()->add_rules();
      rule->set_match(match);
      rule->set_path(path);
    }
    out->set_dead_letter_topic(s.dead_letter_topic);
    rt::PubsubSubscriptionType type = rt::UNKNOWN;
    rt::PubsubSubscriptionType_Parse(s.type, &type);
    out->set_type(type);
  }
  response.mutable_extended_metadata()->insert(snapshot.extended.begin(), snapshot.extended.end());
  const auto& app = snapshot.app_connection;
  auto* props = response.mutable_app_connection_properties();
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
  response.mutable_actor_runtime()->set_runtime_status(rt::ActorRuntime::DISABLED);
}

}  // namespace

void DaprService::AddMetadataRpcs(GrpcServer& server) const {
  auto& metadata = blocks_.metadata;
  auto& lifecycle = blocks_.lifecycle;
  AddUnary<rt::GetMetadataRequest, rt::GetMetadataResponse>(
      server, DaprMethod("GetMetadata"), token_, pool_, Blocking::kNo,
      [&metadata](const rt::GetMetadataRequest&, rt::GetMetadataResponse& response) {
        FillMetadata(metadata.Snapshot(), response);
        return GrpcStatus::Ok();
      });
  AddUnary<rt::SetMetadataRequest, google::protobuf::Empty>(
      server, DaprMethod("SetMetadata"), token_, pool_, Blocking::kNo,
      [&metadata](const rt::SetMetadataRequest& request, google::protobuf::Empty&) {
        metadata.SetExtended(request.key(), request.value());
        return GrpcStatus::Ok();
      });
  // The shutdown only starts (on another thread), so the caller still gets its answer.
  AddUnary<rt::ShutdownRequest, google::protobuf::Empty>(
      server, DaprMethod("Shutdown"), token_, pool_, Blocking::kNo,
      [&lifecycle](const rt::ShutdownRequest&, google::protobuf::Empty&) {
        lifecycle.RequestShutdown();
        return GrpcStatus::Ok();
      });
}

}  // namespace dapr::grpcapi
