// The app channel: how the sidecar calls its own app. One interface for every app protocol
// (HTTP now; gRPC's AppCallback later), so the invocation block never sees a transport.
#pragma once

#include <cctype>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "blocks/errors.h"
#include "common/body_reader.h"

namespace dapr::channel {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// A call to a method of an app, as the invocation block hands it on.
struct AppRequest {
  std::string verb = "POST";  // HTTP verb (gRPC callers: from HTTPExtension)
  std::string method;         // path below the app's root, without the leading '/'
  std::string query;          // raw query string, without '?'
  std::string content_type;
  HeaderList headers;         // lower-case names; what the app should see
  std::string body;
  // Set instead of `body` for a large body still arriving from the caller; only a channel
  // whose StreamsBodies() is true gets one (the invocation block gathers it for the others).
  std::shared_ptr<BodyReader> body_reader;
  // The caller can take a large answer as it comes (AppResponse::body_reader).
  bool stream_response = false;
};

// The app's answer, relayed as it came (any status: an app's 500 is a valid answer).
struct AppResponse {
  int status = 200;
  std::string content_type;
  HeaderList headers;
  std::string body;
  // Set instead of `body` for a large answer, read from the app as the caller reads it
  // (only when the request said stream_response).
  std::shared_ptr<BodyReader> body_reader;
};

using AppCallback = std::function<void(blocks::ApiResult<AppResponse>)>;

// The answer to a unary AppCallback call of a gRPC app: its status and response bytes.
struct UnaryReply {
  Status status;
  std::string message;
};

// Headers that frame one HTTP hop (RFC 9110 connection-specific ones, Host, Content-Length):
// never relayed from one hop to the next, and refused by HTTP/2 as gRPC metadata. Any case.
inline bool IsFramingHeader(std::string_view name) {
  static constexpr std::string_view kFraming[] = {
      "connection", "keep-alive", "proxy-connection", "transfer-encoding", "te",
      "trailer",    "upgrade",    "host",             "content-length"};
  auto same = [](std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
      if (std::tolower(static_cast<unsigned char>(a[i])) != b[i]) return false;
    }
    return true;
  };
  for (std::string_view framing : kFraming) {
    if (same(name, framing)) return true;
  }
  return false;
}

class AppChannel {
 public:
  virtual ~AppChannel() = default;
  // From any thread; done runs once, on the sidecar's event loop. A failure to reach the app
  // comes back as an ApiError (ERR_DIRECT_INVOKE), never as a made-up HTTP answer.
  virtual void Invoke(AppRequest request, AppCallback done) = 0;
  // One health probe: true when the app answers well (HTTP: a 2xx to `probe`; gRPC:
  // AppCallbackHealthCheck/HealthCheck answers OK). done runs once, on any thread.
  virtual void CheckHealth(AppRequest probe, std::function<void(bool healthy)> done) = 0;
  // Whether the channel relays bodies as they come (AppRequest::body_reader,
  // stream_response); a channel that cannot gets every body whole.
  virtual bool StreamsBodies() const { return false; }
  // A unary call of the app's AppCallback service (path "/dapr.proto.runtime.v1.AppCallback/
  // OnTopicEvent"...), for a gRPC app; other channels answer UNIMPLEMENTED. done runs once,
  // on the event loop.
  virtual void CallUnary(std::string path, std::string request, std::function<void(UnaryReply)> done) {
    done({Status(StatusCode::kUnimplemented, "the app does not speak gRPC"), {}});
  }
};

}  // namespace dapr::channel
