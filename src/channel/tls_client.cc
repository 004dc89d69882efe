#include "channel/tls_client.h"

#include <boost/asio/ssl/context.hpp>

namespace dapr::channel {
namespace ssl = boost::asio::ssl;

Result<std::shared_ptr<ssl::context>> MakeClientTls(const ClientTlsSettings& settings) {
  auto context = std::make_shared<ssl::context>(ssl::context::tls_client);
  boost::system::error_code ec;
  context->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                       ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  if (!settings.verify_peer) {
    context->set_verify_mode(ssl::verify_none);
  } else {
    context->set_verify_mode(ssl::verify_peer);
    if (settings.root_ca_pem.empty()) {
      context->set_default_verify_paths(ec);
    } else {
      context->add_certificate_authority(boost::asio::buffer(settings.root_ca_pem), ec);
    }
    if (ec) return InvalidArgument("rootCA: " + ec.message());
  }
  if (settings.certificate_pem.empty() != settings.private_key_pem.empty()) {
    return InvalidArgument("certificate and privateKey go together: one is missing");
  }
  if (!settings.certificate_pem.empty()) {
    context->use_certificate_chain(boost::asio::buffer(settings.certificate_pem), ec);
    if (ec) return InvalidArgument("certificate: " + ec.message());
    context->use_private_key(boost::asio::buffer(settings.private_key_pem), ssl::context::pem, ec);
    if (ec) return InvalidArgument("privateKey: " + ec.message());
  }
  return context;
}

}  // namespace dapr::channel
