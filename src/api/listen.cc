#include "api/listen.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/steady_timer.hpp>

namespace dapr::api {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

Result<Acceptors> Listen(asio::io_context& io, const std::vector<std::string>& addresses,
                         uint16_t port) {
  std::vector<std::string> hosts = addresses;
  if (hosts.empty()) hosts.push_back("0.0.0.0");
  Acceptors acceptors;
  for (const std::string& text : hosts) {
    std::string host = text;
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
      host = host.substr(1, host.size() - 2);
    }
    boost::system::error_code ec;
    auto address = asio::ip::make_address(host, ec);
    if (ec) return InvalidArgument("invalid listen address " + text);
    auto acceptor = std::make_shared<tcp::acceptor>(io);
    tcp::endpoint endpoint(address, port);
    acceptor->open(endpoint.protocol(), ec);
    if (!ec) acceptor->set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec && address.is_v6()) acceptor->set_option(asio::ip::v6_only(true), ec);
    if (!ec) acceptor->bind(endpoint, ec);
    if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return Unavailable("failed to listen on " + text + ":" + std::to_string(port) + ": " +
                         ec.message());
    }
    acceptors.push_back(std::move(acceptor));
  }
  return acceptors;
}

void AcceptAgainLater(asio::io_context& io, std::function<void()> accept_again) {
  auto timer = std::make_shared<asio::steady_timer>(io, std::chrono::milliseconds(100));
  timer->async_wait([timer, accept_again = std::move(accept_again)](boost::system::error_code ec) {
    if (!ec) accept_again();
  });
}

}  // namespace dapr::api
