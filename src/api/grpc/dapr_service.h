// The gRPC API (dapr.proto.runtime.v1.Dapr): each RPC converts its proto request, calls the
// same building block the HTTP API calls, and converts the answer. Unimplemented RPCs fall
// back to the generated UNIMPLEMENTED answer. It uses gRPC's callback API: gRPC's threads
// only frame, and blocking work queues on the worker pool. (gRPC's synchronous server was a
// little faster per call, but refuses calls with RESOURCE_EXHAUSTED once its thread cap is
// reached, which a burst of SDK calls hit.)
#pragma once

#include <grpcpp/grpcpp.h>

#include "blocks/errors.h"
#include "common/worker_pool.h"
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

class DaprService final : public rt::Dapr::CallbackService {
 public:
  DaprService(Blocks blocks, WorkerPool& pool, security::ApiToken token)
      : blocks_(blocks), pool_(pool), token_(std::move(token)) {}

  // State
  grpc::ServerUnaryReactor* GetState(grpc::CallbackServerContext*, const rt::GetStateRequest*,
                                     rt::GetStateResponse*) override;
  grpc::ServerUnaryReactor* GetBulkState(grpc::CallbackServerContext*,
                                         const rt::GetBulkStateRequest*,
                                         rt::GetBulkStateResponse*) override;
  grpc::ServerUnaryReactor* SaveState(grpc::CallbackServerContext*, const rt::SaveStateRequest*,
                                      google::protobuf::Empty*) override;
  grpc::ServerUnaryReactor* QueryStateAlpha1(grpc::CallbackServerContext*,
                                             const rt::QueryStateRequest*,
                                             rt::QueryStateResponse*) override;
  grpc::ServerUnaryReactor* DeleteState(grpc::CallbackServerContext*,
                                        const rt::DeleteStateRequest*,
                                        google::protobuf::Empty*) override;
  grpc::ServerUnaryReactor* DeleteBulkState(grpc::CallbackServerContext*,
                                            const rt::DeleteBulkStateRequest*,
                                            google::protobuf::Empty*) override;
  grpc::ServerUnaryReactor* ExecuteStateTransaction(grpc::CallbackServerContext*,
                                                    const rt::ExecuteStateTransactionRequest*,
                                                    google::protobuf::Empty*) override;

  // Metadata and lifecycle
  grpc::ServerUnaryReactor* GetMetadata(grpc::CallbackServerContext*,
                                        const rt::GetMetadataRequest*,
                                        rt::GetMetadataResponse*) override;
  grpc::ServerUnaryReactor* SetMetadata(grpc::CallbackServerContext*,
                                        const rt::SetMetadataRequest*,
                                        google::protobuf::Empty*) override;
  grpc::ServerUnaryReactor* Shutdown(grpc::CallbackServerContext*, const rt::ShutdownRequest*,
                                     google::protobuf::Empty*) override;

 private:
  // Checks the API token, then runs work (which returns the grpc::Status) on the worker
  // pool when it may block, else inline. gRPC's own threads never block, and a burst of
  // calls queues on the pool instead of being refused for want of threads.
  template <class Work>
  grpc::ServerUnaryReactor* Unary(grpc::CallbackServerContext* context, bool may_block,
                                  Work work);
  bool Authorized(const grpc::ServerContextBase* context) const;

  Blocks blocks_;
  WorkerPool& pool_;
  security::ApiToken token_;
};

inline grpc::Status Unauthenticated() {
  return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "authentication error: api token mismatch");
}

template <class Work>
grpc::ServerUnaryReactor* DaprService::Unary(grpc::CallbackServerContext* context, bool may_block,
                                             Work work) {
  auto* reactor = context->DefaultReactor();
  if (!Authorized(context)) {
    reactor->Finish(Unauthenticated());
  } else if (!may_block) {
    reactor->Finish(work());
  } else {
    pool_.Post([reactor, work = std::move(work)]() mutable { reactor->Finish(work()); });
  }
  return reactor;
}

}  // namespace dapr::grpcapi
