// The DNS-SD records (RFC 6763) a sidecar announces, and what it reads from other sidecars'
// answers. Names follow Dapr's mDNS resolver so a Go daprd and ours can find each other:
//   PTR  {app-id}.local                      -> {instance}.{app-id}.local  (shared)
//   SRV  {instance}.{app-id}.local           -> {host}.local : internal gRPC port
//   TXT  {instance}.{app-id}.local           -> "{app-id}"
//   A    {host}.local                        -> the IPv4 address of the interface sent on
// Dapr names the instance "{hostname}:{pid}" and uses the machine's host name as {host};
// we use "{hostname}-{pid}" as {host} so that sidecars on one machine never publish
// conflicting A records for one name (the SRV target is what a browser follows, either way).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "components/nameresolution/mdns/dns_message.h"

namespace dapr::nameresolution::mdns {

struct Identity {
  std::string app_id;
  std::string instance;    // one DNS label
  std::string host_label;  // one DNS label
  uint16_t port = 0;       // the internal gRPC port
};

Name ServiceName(const std::string& app_id);
Name InstanceName(const Identity& self);
Name HostName(const Identity& self);

// "{hostname}:{pid}" and "{hostname}-{pid}", each cut to fit in one label.
Identity MakeIdentity(const std::string& app_id, uint16_t port, std::string hostname, int64_t pid);

// An unsolicited announcement, or a goodbye with ttl 0: every record in the answer section.
Message Announcement(const Identity& self, const std::vector<uint32_t>& ipv4, uint32_t ttl);

// The answer to a query, or nothing when no question is about us. Records that answer a
// question go in the answer section, the rest (what the asker needs next) in additionals.
std::optional<Message> AnswerTo(const Message& query, const Identity& self,
                                const std::vector<uint32_t>& ipv4, uint32_t ttl);

// A one-shot query for the instances of an app. Asked with the multicast (QM) bit: every
// sidecar on the link then hears the answers and can cache them.
Message Query(const std::string& app_id);

// One instance of an app as a response describes it; ttl 0 is a goodbye (address empty).
struct Sighting {
  std::string app_id;
  std::string instance;
  std::string address;  // "ip:port"
  uint32_t ttl = 0;
};

// The instances a response announces: a PTR whose SRV, and an A record for the SRV's
// target, travel in the same message (a sender publishes its own addresses with it), or
// a PTR with ttl 0. Anything else, and any message that is not a plain response, gives none.
std::vector<Sighting> SightingsIn(const Message& response);

}  // namespace dapr::nameresolution::mdns
