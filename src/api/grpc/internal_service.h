// The sidecar-to-sidecar API (dapr.proto.internals.v1.ServiceInvocation) that other sidecars
// call on the internal gRPC port: CallLocal (one message each way) and CallLocalStream (the
// request and the answer in frames, as Go sidecars send HTTP invocations) hand a call to this
// sidecar's app. Request bodies over max_body_bytes are refused.
#pragma once

#include <cstddef>

#include "api/grpc/server.h"

namespace dapr::blocks {
class InvocationBlock;
}  // namespace dapr::blocks

namespace dapr::grpcapi {

void AddServiceInvocationRpcs(GrpcServer& server, const blocks::InvocationBlock& invocation,
                              size_t max_body_bytes);

}  // namespace dapr::grpcapi
