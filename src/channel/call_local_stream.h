// The calling sidecar's side of ServiceInvocation/CallLocalStream: a request whose body is
// still arriving, or whose answer may be large, goes to the other sidecar as a first frame
// and payload frames as the body comes, and the answer comes back the same way.
#pragma once

#include <functional>
#include <memory>

#include "api/grpc/client.h"
#include "channel/app_channel.h"

namespace dapr::channel {

// `done` runs once, on the loop: the app's answer, with its body whole when it had all come
// with the first frame and as a body_reader when it was still arriving; or the call's
// status when it failed.
using StreamAnswerCallback = std::function<void(grpcapi::GrpcStatus, AppResponse)>;
void CallLocalStream(grpcapi::GrpcChannel& channel, AppRequest request, StreamAnswerCallback done);

}  // namespace dapr::channel
