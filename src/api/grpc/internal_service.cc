#include "api/grpc/internal_service.h"

#include "api/grpc/dapr_service.h"
#include "api/grpc/unary.h"
#include "blocks/invocation/invocation_block.h"
#include "channel/internal_invoke.h"

namespace dapr::grpcapi {

void AddServiceInvocationRpcs(GrpcServer& server, const blocks::InvocationBlock& invocation) {
  server.AddUnary(channel::kCallLocalMethod, [&invocation](std::shared_ptr<ServerCall> call) {
    channel::internals::InternalInvokeRequest request;
    if (!request.ParseFromArray(call->request().data(), static_cast<int>(call->request().size()))) {
      return call->Finish({StatusCode::kInternal, "grpc: error unmarshalling request", {}});
    }
    invocation.InvokeLocal(channel::FromInternalRequest(request),
                           [call](blocks::ApiResult<channel::AppResponse> result) {
                             if (!result.ok()) return call->Finish(ToGrpcStatus(result.error()));
                             Reply(*call, GrpcStatus::Ok(),
                                   channel::ToInternalResponse(std::move(result).value()));
                           });
  });
}

}  // namespace dapr::grpcapi
