// The mDNS transport on plain sockets: one UDP socket bound to port 5353 (shared, like every
// mDNS stack, with SO_REUSEADDR: multicast reaches each socket bound to it), member of
// 224.0.0.251 on each usable interface, and an eventfd to wake the receiver. IPv4 only.
//
// Hand-written: Debian 12's mDNS stacks are Avahi's. Its client library needs avahi-daemon on
// D-Bus, which a sidecar must not require; its embeddable core (libavahi-core) is documented
// by Avahi as not for applications, publishes and defends the machine's own host name (so it
// collides with a running avahi-daemon and with a second sidecar on the machine) and brings
// its own event loop. What a sidecar needs is a few records and one query. The unit
// tests never open this transport: multicast must not leave the test machine; tests/e2e covers it
// inside private network namespaces.
#pragma once

#include <memory>
#include <mutex>

#include "components/nameresolution/mdns/transport.h"

namespace dapr::nameresolution::mdns {

class SocketTransport final : public Transport {
 public:
  // Interfaces that are up, running, multicast-capable, not loopback, with an IPv4 address;
  // fails (kUnavailable) when there is none or the socket cannot be set up.
  static Result<std::unique_ptr<Transport>> Open();
  ~SocketTransport() override;

  const std::vector<LinkInterface>& Interfaces() const override { return interfaces_; }
  Status Send(int interface_index, const std::vector<uint8_t>& bytes) override;
  std::optional<Packet> Receive(std::optional<std::chrono::milliseconds> timeout) override;
  void Interrupt() override;

 private:
  SocketTransport(int socket, int wake, std::vector<LinkInterface> interfaces)
      : socket_(socket), wake_(wake), interfaces_(std::move(interfaces)) {}
  bool Known(int interface_index) const;
  std::optional<Packet> ReadOne();

  int socket_;
  int wake_;
  std::vector<LinkInterface> interfaces_;
  std::mutex send_mutex_;  // IP_MULTICAST_IF is per socket: choose and send as one step
};

}  // namespace dapr::nameresolution::mdns
