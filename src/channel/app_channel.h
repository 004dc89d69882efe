// The app channel: how the sidecar calls its own app. One interface for every app protocol
// (HTTP now; gRPC's AppCallback later), so the invocation block never sees a transport.
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "blocks/errors.h"

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
};

// The app's answer, relayed as it came (any status: an app's 500 is a valid answer).
struct AppResponse {
  int status = 200;
  std::string content_type;
  HeaderList headers;
  std::string body;
};

using AppCallback = std::function<void(blocks::ApiResult<AppResponse>)>;

class AppChannel {
 public:
  virtual ~AppChannel() = default;
  // From any thread; done runs once, on the sidecar's event loop. A failure to reach the app
  // comes back as an ApiError (ERR_DIRECT_INVOKE), never as a made-up HTTP answer.
  virtual void Invoke(AppRequest request, AppCallback done) = 0;
  // One health probe: true when the app answers well (HTTP: a 2xx to `probe`; gRPC:
  // AppCallbackHealthCheck/HealthCheck answers OK). done runs once, on any thread.
  virtual void CheckHealth(AppRequest probe, std::function<void(bool healthy)> done) = 0;
};

}  // namespace dapr::channel
