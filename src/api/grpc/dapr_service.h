// The gRPC API (dapr.proto.runtime.v1.Dapr): each RPC converts its proto request, calls the
// same building block the HTTP API calls, and converts the answer. Unimplemented RPCs fall
// back to the generated UNIMPLEMENTED answer. It uses gRPC's synchronous server: measured,
// its handler threads answer a unary call with fewer thread hand-offs than the callback API
// plus a worker pool did.
#pragma once

#include <grpcpp/grpcpp.h>

#include "blocks/errors.h"
#include "dapr/proto/runtime/v1/dapr.grpc.pb.h"
#include "security/api_token.h"

namespace dapr::blocks {
class StateBlock;
class MetadataBlock;
class LifecycleBlock;
}  // namespace dapr::blocks

namespace dapr::grpcapi {

namespace rt = ::dapr::proto::runtime::v1;
namespace common = ::dapr::proto::common::v1;

struct Blocks {
  const blocks::StateBlock& state;
  blocks::MetadataBlock& metadata;
  blocks::LifecycleBlock& lifecycle;
};

grpc::Status ToGrpcStatus(const blocks::ApiError& error);

class DaprService final : public rt::Dapr::Service {
 public:
  DaprService(Blocks blocks, security::ApiToken token)
      : blocks_(blocks), token_(std::move(token)) {}

  // State
  grpc::Status GetState(grpc::ServerContext*, const rt::GetStateRequest*,
                                     rt::GetStateResponse*) override;
  grpc::Status GetBulkState(grpc::ServerContext*,
                                         const rt::GetBulkStateRequest*,
                                         rt::GetBulkStateResponse*) override;
  grpc::Status SaveState(grpc::ServerContext*, const rt::SaveStateRequest*,
                                      google::protobuf::Empty*) override;
  grpc::Status QueryStateAlpha1(grpc::ServerContext*,
                                             const rt::QueryStateRequest*,
                                             rt::QueryStateResponse*) override;
  grpc::Status DeleteState(grpc::ServerContext*,
                                        const rt::DeleteStateRequest*,
                                        google::protobuf::Empty*) override;
  grpc::Status DeleteBulkState(grpc::ServerContext*,
                                            const rt::DeleteBulkStateRequest*,
                                            google::protobuf::Empty*) override;
  grpc::Status ExecuteStateTransaction(grpc::ServerContext*,
                                                    const rt::ExecuteStateTransactionRequest*,
                                                    google::protobuf::Empty*) override;

  // Metadata and lifecycle
  grpc::Status GetMetadata(grpc::ServerContext*,
                                        const rt::GetMetadataRequest*,
                                        rt::GetMetadataResponse*) override;
  grpc::Status SetMetadata(grpc::ServerContext*,
                                        const rt::SetMetadataRequest*,
                                        google::protobuf::Empty*) override;
  grpc::Status Shutdown(grpc::ServerContext*, const rt::ShutdownRequest*,
                                     google::protobuf::Empty*) override;

 private:
  // Checks the API token, then runs the work on this thread: a thread of gRPC's synchronous
  // server pool, which exists to run handlers that may block (bounded in GrpcServer).
  template <class Work>
  grpc::Status Unary(grpc::ServerContext* context, Work work);
  bool Authorized(grpc::ServerContext* context) const;

  Blocks blocks_;
  security::ApiToken token_;
};

template <class Work>
grpc::Status DaprService::Unary(grpc::ServerContext* context, Work work) {
  if (!Authorized(context)) {
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "authentication error: api token mismatch");
  }
  return work();
}

}  // namespace dapr::grpcapi
