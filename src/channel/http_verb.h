// HTTP verbs as common.v1.HTTPExtension carries them, for every invocation that crosses
// gRPC: InvokeService, a gRPC app's OnInvoke, and the sidecar-to-sidecar call.
#pragma once

#include <string>

#include "dapr/proto/common/v1/common.pb.h"

namespace dapr::channel {

// An unknown verb goes as POST.
proto::common::v1::HTTPExtension::Verb VerbToWire(const std::string& verb);
// NONE (no HTTP extension) is POST, Dapr's default for HTTP apps.
std::string VerbFromWire(proto::common::v1::HTTPExtension::Verb verb);

}  // namespace dapr::channel
