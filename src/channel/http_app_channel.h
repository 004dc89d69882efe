// The HTTP app channel: calls the app over HTTP/1.1 with a pool of keep-alive connections,
// on the sidecar's event loop (Beast), with --app-max-concurrency as a bounded queue.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "channel/app_channel.h"

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace dapr::channel {

struct HttpAppChannelOptions {
  std::string host = "127.0.0.1";  // numeric: no name lookup on the event loop
  uint16_t port = 0;
  size_t max_concurrency = 0;      // calls in flight to the app at once; 0: no limit
  size_t max_response_bytes = 4u << 20;
  size_t max_idle_connections = 64;
  std::string app_api_token;       // APP_API_TOKEN, sent to the app as dapr-api-token
};

class HttpAppChannel final : public AppChannel {
 public:
  HttpAppChannel(boost::asio::io_context& loop, HttpAppChannelOptions options);
  ~HttpAppChannel() override;

  void Invoke(AppRequest request, AppCallback done) override;
  void CheckHealth(AppRequest probe, std::function<void(bool)> done) override;

  class Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace dapr::channel
