// The multicast socket of the mDNS resolver; see socket_transport.h.
#include "components/nameresolution/mdns/socket_transport.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>

namespace dapr::nameresolution::mdns {
namespace {

constexpr uint16_t kPort = 5353;
constexpr const char* kGroup = "224.0.0.251";
constexpr size_t kMaxPacket = 9000;  // RFC 6762 §17

Status Failed(const std::string& what) {
  return Unavailable("mdns: " + what + ": " + std::strerror(errno));
}

sockaddr_in GroupAddress() {
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(kPort);
  inet_pton(AF_INET, kGroup, &to.sin_addr);
  return to;
}

bool Usable(const ifaddrs& entry) {
  unsigned flags = entry.ifa_flags;
  return entry.ifa_addr && entry.ifa_addr->sa_family == AF_INET && (flags & IFF_UP) &&
         (flags & IFF_RUNNING) && (flags & IFF_MULTICAST) && !(flags & IFF_LOOPBACK);
}

std::vector<LinkInterface> ListInterfaces() {
  std::map<std::string, LinkInterface> by_name;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return {};
  for (ifaddrs* entry = list; entry; entry = entry->ifa_next) {
    if (!Usable(*entry)) continue;
    LinkInterface& link = by_name[entry->ifa_name];
    link.name = entry->ifa_name;
    link.index = static_cast<int>(if_nametoindex(entry->ifa_name));
    auto* in = reinterpret_cast<const sockaddr_in*>(entry->ifa_addr);
    link.ipv4.push_back(ntohl(in->sin_addr.s_addr));
  }
  freeifaddrs(list);
  std::vector<LinkInterface> out;
  for (auto& [name, link] : by_name) {
    if (link.index > 0) out.push_back(std::move(link));
  }
  return out;
}

Status SetOption(int fd, int level, int name, int value, const char* what) {
  if (setsockopt(fd, level, name, &value, sizeof(value)) != 0) return Failed(what);
  return Status::Ok();
}

// Port 5353, shared with any other mDNS stack on the machine; TTL 255 as RFC 6762 §11 asks;
// our own packets looped back so that sidecars on one machine hear each other.
Status Configure(int fd) {
  struct Option {
    int level, name, value;
    const char* what;
  };
  for (const Option& o : {Option{SOL_SOCKET, SO_REUSEADDR, 1, "SO_REUSEADDR"},
                          Option{IPPROTO_IP, IP_PKTINFO, 1, "IP_PKTINFO"},
                          Option{IPPROTO_IP, IP_MULTICAST_TTL, 255, "IP_MULTICAST_TTL"},
                          Option{IPPROTO_IP, IP_MULTICAST_LOOP, 1, "IP_MULTICAST_LOOP"}}) {
    Status status = SetOption(fd, o.level, o.name, o.value, o.what);
    if (!status.ok()) return status;
  }
  sockaddr_in any{};
  any.sin_family = AF_INET;
  any.sin_port = htons(kPort);
  any.sin_addr.s_addr = htonl(INADDR_ANY);
  if (bind(fd, reinterpret_cast<sockaddr*>(&any), sizeof(any)) != 0) return Failed("bind :5353");
  return Status::Ok();
}

// Joins the group on each interface; one that refuses is left out.
std::vector<LinkInterface> Join(int fd, std::vector<LinkInterface> interfaces) {
  std::erase_if(interfaces, [fd](const LinkInterface& link) {
    ip_mreqn request{};
    request.imr_multiaddr = GroupAddress().sin_addr;
    request.imr_ifindex = link.index;
    return setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &request, sizeof(request)) != 0;
  });
  return interfaces;
}

}  // namespace

Result<std::unique_ptr<Transport>> SocketTransport::Open() {
  std::vector<LinkInterface> interfaces = ListInterfaces();
  if (interfaces.empty()) {
    return Unavailable("mdns: no interface is up with multicast and an IPv4 address");
  }
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return Failed("socket");
  Status status = Configure(fd);
  if (status.ok()) {
    interfaces = Join(fd, std::move(interfaces));
    if (interfaces.empty()) status = Failed("joining 224.0.0.251");
  }
  int wake = status.ok() ? eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK) : -1;
  if (status.ok() && wake < 0) status = Failed("eventfd");
  if (!status.ok()) {
    close(fd);
    return status;
  }
  return std::unique_ptr<Transport>(new SocketTransport(fd, wake, std::move(interfaces)));
}

SocketTransport::~SocketTransport() {
  close(socket_);
  close(wake_);
}

bool SocketTransport::Known(int interface_index) const {
  return std::any_of(interfaces_.begin(), interfaces_.end(),
                     [&](const LinkInterface& link) { return link.index == interface_index; });
}

Status SocketTransport::Send(int interface_index, const std::vector<uint8_t>& bytes) {
  std::lock_guard lock(send_mutex_);
  ip_mreqn out{};
  out.imr_ifindex = interface_index;
  if (setsockopt(socket_, IPPROTO_IP, IP_MULTICAST_IF, &out, sizeof(out)) != 0) {
    return Failed("IP_MULTICAST_IF");
  }
  sockaddr_in to = GroupAddress();
  // Non-blocking: with the send buffer full, dropping one datagram beats stalling a caller;
  // mDNS resends what matters.
  if (sendto(socket_, bytes.data(), bytes.size(), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&to),
             sizeof(to)) < 0) {
    return Failed("sendto");
  }
  return Status::Ok();
}

// One datagram with the interface it came in on (IP_PKTINFO); a truncated one is dropped.
std::optional<Transport::Packet> SocketTransport::ReadOne() {
  Packet packet;
  packet.bytes.resize(kMaxPacket);
  iovec data{packet.bytes.data(), packet.bytes.size()};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(in_pktinfo))];
  msghdr message{};
  message.msg_iov = &data;
  message.msg_iovlen = 1;
  message.msg_control = control;
  message.msg_controllen = sizeof(control);
  ssize_t size = recvmsg(socket_, &message, MSG_DONTWAIT);
  if (size < 0 || (message.msg_flags & MSG_TRUNC)) return std::nullopt;
  packet.bytes.resize(static_cast<size_t>(size));
  for (cmsghdr* c = CMSG_FIRSTHDR(&message); c; c = CMSG_NXTHDR(&message, c)) {
    if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
      in_pktinfo info;
      std::memcpy(&info, CMSG_DATA(c), sizeof(info));
      packet.interface_index = info.ipi_ifindex;
    }
  }
  if (!Known(packet.interface_index)) return std::nullopt;
  return packet;
}

std::optional<Transport::Packet> SocketTransport::Receive(
    std::optional<std::chrono::milliseconds> timeout) {
  pollfd fds[2] = {{socket_, POLLIN, 0}, {wake_, POLLIN, 0}};
  int wait_ms = timeout ? static_cast<int>(std::max<int64_t>(timeout->count(), 0)) : -1;
  if (poll(fds, 2, wait_ms) <= 0) return std::nullopt;
  if (fds[1].revents & POLLIN) {
    uint64_t count;
    ssize_t ignored = read(wake_, &count, sizeof(count));
    (void)ignored;
    return std::nullopt;
  }
  if (fds[0].revents & POLLIN) return ReadOne();
  if (fds[0].revents & POLLERR) {
    // A pending socket error (an ICMP report) keeps poll returning until it is read.
    int error = 0;
    socklen_t size = sizeof(error);
    getsockopt(socket_, SOL_SOCKET, SO_ERROR, &error, &size);
  }
  return std::nullopt;
}

void SocketTransport::Interrupt() {
  uint64_t one = 1;
  ssize_t ignored = write(wake_, &one, sizeof(one));
  (void)ignored;
}

}  // namespace dapr::nameresolution::mdns
