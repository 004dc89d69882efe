// The sidecar-to-sidecar form of a call (dapr.proto.internals.v1.ServiceInvocation/CallLocal,
// wire-compatible with Dapr's): conversions between it and the app channel's request and
// response, used by the calling sidecar and by the called one.
#pragma once

#include <cstdint>
#include <optional>

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

// A streamed body's announced size travels with the request's metadata (or the answer's
// headers) as "content-length", so that the far end can send it on with a Content-Length
// rather than chunked. It is framing, not a header: the receiving side takes it out.
using InternalMetadata = google::protobuf::Map<std::string, internals::ListStringValue>;
void PutContentLength(uint64_t length, InternalMetadata& metadata);
// Removes every "content-length" entry; the size, when there was exactly one valid value.
std::optional<uint64_t> TakeContentLength(InternalMetadata& metadata);

}  // namespace dapr::channel
