// The sidecar-to-sidecar form of a call (dapr.proto.internals.v1.ServiceInvocation/CallLocal,
// wire-compatible with Dapr's): conversions between it and the app channel's request and
// response, used by the calling sidecar and by the called one.
#pragma once

#include "channel/app_channel.h"
#include "dapr/proto/internals/v1/service_invocation.pb.h"

namespace dapr::channel {

namespace internals = ::dapr::proto::internals::v1;

inline constexpr const char* kCallLocalMethod = "/dapr.proto.internals.v1.ServiceInvocation/CallLocal";
inline constexpr const char* kCallLocalStreamMethod =
    "/dapr.proto.internals.v1.ServiceInvocation/CallLocalStream";

internals::InternalInvokeRequest ToInternalRequest(AppRequest request);
AppRequest FromInternalRequest(internals::InternalInvokeRequest& request);

internals::InternalInvokeResponse ToInternalResponse(AppResponse response);
AppResponse FromInternalResponse(internals::InternalInvokeResponse& response);

}  // namespace dapr::channel
