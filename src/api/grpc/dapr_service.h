// The gRPC API (dapr.proto.runtime.v1.Dapr): each RPC converts its proto request, calls the
// same building block the HTTP API calls, and converts the answer. RPCs not registered
// here answer UNIMPLEMENTED, as the generated gRPC service base would.
#pragma once

#include <string>
#include <string_view>

#include "api/grpc/server.h"
#include "blocks/errors.h"
#include "common/worker_pool.h"
#include "security/api_token.h"

namespace dapr::blocks {
class StateBlock;
class MetadataBlock;
class LifecycleBlock;
class InvocationBlock;
class PubSubBlock;
}  // namespace dapr::blocks

namespace dapr::grpcapi {

struct Blocks {
  const blocks::StateBlock& state;
  blocks::MetadataBlock& metadata;
  blocks::LifecycleBlock& lifecycle;
  const blocks::InvocationBlock& invocation;
  blocks::PubSubBlock& pubsub;
};

// A block's error as gRPC sends it: code, message, and Dapr's rich details (ErrorInfo,
// ResourceInfo, BadRequest) as a google.rpc.Status in grpc-status-details-bin.
GrpcStatus ToGrpcStatus(const blocks::ApiError& error);

// "/dapr.proto.runtime.v1.Dapr/<name>"
std::string DaprMethod(std::string_view name);

class DaprService {
 public:
  DaprService(Blocks blocks, WorkerPool& pool, security::ApiToken token)
      : blocks_(blocks), pool_(pool), token_(std::move(token)) {}

  // Adds every implemented RPC to the server; the service must outlive it.
  void RegisterOn(GrpcServer& server) const;

 private:
  void AddStateRpcs(GrpcServer& server) const;
  void AddMetadataRpcs(GrpcServer& server) const;
  void AddInvokeRpcs(GrpcServer& server) const;
  void AddPubSubRpcs(GrpcServer& server) const;
  void AddStreamingSubscriptionRpc(GrpcServer& server) const;

  Blocks blocks_;
  WorkerPool& pool_;
  security::ApiToken token_;
};

}  // namespace dapr::grpcapi
