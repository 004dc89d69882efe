// The sidecar-to-sidecar API (dapr.proto.internals.v1.ServiceInvocation) that other sidecars
// call on the internal gRPC port: CallLocal hands a call to this sidecar's app.
#pragma once

#include "api/grpc/server.h"

namespace dapr::blocks {
class InvocationBlock;
}  // namespace dapr::blocks

namespace dapr::grpcapi {

void AddServiceInvocationRpcs(GrpcServer& server, const blocks::InvocationBlock& invocation);

}  // namespace dapr::grpcapi
