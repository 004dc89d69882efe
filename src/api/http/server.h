// The sidecar's HTTP/1.1 API server (Boost.Beast): framing, limits, the API token, and
// dispatch through the Router. It knows nothing about building blocks.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "api/http/router.h"
#include "dapr/status.h"
#include "security/api_token.h"

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace dapr::http {

struct HttpServerOptions {
  std::vector<std::string> listen_addresses;  // e.g. {"127.0.0.1"}; empty: all interfaces
  uint16_t port = 3500;
  size_t max_body_bytes = 4 << 20;
  size_t max_header_bytes = 4 << 10;
  security::ApiToken api_token;
};

class HttpServer {
 public:
  // The event loop is the sidecar's (components with async clients share it); the runtime
  // runs it.
  HttpServer(boost::asio::io_context& loop, HttpServerOptions options,
             std::shared_ptr<const Router> router);
  ~HttpServer();

  // Binds every listen address and starts accepting.
  Status Start();
  // Stops accepting new connections; requests already read still get their answer.
  void StopAccepting();
  // Number of requests read but not yet answered.
  size_t InFlight() const;
  // Stops accepting and its idle-timeout sweep.
  void Stop();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace dapr::http
