// The OpenSSL client contexts of the HTTP channels: an https app (--app-protocol https, not
// verified, as Dapr does: apps commonly use self-signed certificates) and HTTPEndpoints
// (verified against their rootCA or the system's trust store; a client certificate when given).
#pragma once

#include <memory>
#include <string>

#include "dapr/status.h"

namespace boost::asio::ssl {
class context;
}  // namespace boost::asio::ssl

namespace dapr::channel {

struct ClientTlsSettings {
  bool verify_peer = true;
  std::string root_ca_pem;      // empty: the system's trust store
  std::string certificate_pem;  // client certificate (mutual TLS); with private_key_pem
  std::string private_key_pem;
};

// Errors (kInvalidArgument) say which PEM could not be used.
Result<std::shared_ptr<boost::asio::ssl::context>> MakeClientTls(const ClientTlsSettings& settings);

}  // namespace dapr::channel
