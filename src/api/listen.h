// Opens the listening sockets of an API server: one per listen address, as daprd's
// --dapr-listen-addresses gives them (IPv4, IPv6 with or without brackets).
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "dapr/status.h"

namespace dapr::api {

using Acceptors = std::vector<std::shared_ptr<boost::asio::ip::tcp::acceptor>>;

// Binds every address (none: all IPv4 interfaces) at port, or says which one failed.
Result<Acceptors> Listen(boost::asio::io_context& io, const std::vector<std::string>& addresses,
                         uint16_t port);

// After a failed accept (out of file descriptors, say), runs accept_again a little later:
// the refused connection stays queued, so retrying at once would spin on it.
void AcceptAgainLater(boost::asio::io_context& io, std::function<void()> accept_again);

}  // namespace dapr::api
