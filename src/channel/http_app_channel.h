// The HTTP app channel: calls the app over HTTP/1.1 with a pool of keep-alive connections,
// on the sidecar's event loop (Beast). Also
// the client of HTTPEndpoints and URL targets: TLS (OpenSSL), a base path, fixed headers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "channel/app_channel.h"

namespace boost::asio {
class io_context;
namespace ssl {
class context;
}  // namespace ssl
}  // namespace boost::asio

namespace dapr::channel {

struct HttpAppChannelOptions {
  std::string host = "127.0.0.1";  // a name is looked up (asynchronously) per new connection
  uint16_t port = 0;
  // TLS: null for plain TCP. The context carries the trust and client certificate; SNI and
  // (when the context verifies) the host name check use `host`.
  std::shared_ptr<boost::asio::ssl::context> tls;
  std::string path_prefix;  // put before every method path, e.g. "/v2"; empty: none
  std::string host_header;  // the Host header; empty: host:port
  HeaderList fixed_headers; // sent with every request (an HTTPEndpoint's spec.headers)
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
  bool StreamsBodies() const override;

  class Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace dapr::channel
