// How the mDNS resolver reaches the link: the multicast socket in daprd, an in-memory link in
// the unit tests (which must never put multicast on a real network).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dapr/status.h"

namespace dapr::nameresolution::mdns {

// One interface multicast goes out on, with the IPv4 addresses announced on it.
struct LinkInterface {
  int index = 0;
  std::string name;
  std::vector<uint32_t> ipv4;  // host byte order
};

class Transport {
 public:
  struct Packet {
    std::vector<uint8_t> bytes;
    int interface_index = 0;  // where it arrived
  };

  virtual ~Transport() = default;

  virtual const std::vector<LinkInterface>& Interfaces() const = 0;

  // Multicasts one message to 224.0.0.251:5353 out of one interface. Never blocks for long.
  virtual Status Send(int interface_index, const std::vector<uint8_t>& bytes) = 0;

  // Waits for the next packet, at most `timeout` (forever without one). Returns nothing on
  // timeout or after Interrupt(); an Interrupt() made while nobody waits is not lost.
  virtual std::optional<Packet> Receive(std::optional<std::chrono::milliseconds> timeout) = 0;

  virtual void Interrupt() = 0;
};

}  // namespace dapr::nameresolution::mdns
