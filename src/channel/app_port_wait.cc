#include "channel/app_port_wait.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>

namespace dapr::channel {
namespace {

struct AddrInfoDeleter {
  void operator()(addrinfo* info) const { freeaddrinfo(info); }
};

// A non-blocking connect, so a filtered port costs at most the timeout.
bool ConnectWithin(const addrinfo& address, std::chrono::milliseconds timeout) {
  int fd = socket(address.ai_family, address.ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                  address.ai_protocol);
  if (fd < 0) return false;
  bool connected = connect(fd, address.ai_addr, address.ai_addrlen) == 0;
  if (!connected && errno == EINPROGRESS) {
    pollfd waiting{fd, POLLOUT, 0};
    if (poll(&waiting, 1, static_cast<int>(timeout.count())) == 1) {
      int error = 0;
      socklen_t length = sizeof(error);
      connected = getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) == 0 && error == 0;
    }
  }
  close(fd);
  return connected;
}

}  // namespace

bool AppPortOpen(const std::string& host, int port, std::chrono::milliseconds timeout) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found) != 0) return false;
  std::unique_ptr<addrinfo, AddrInfoDeleter> addresses(found);
  for (const addrinfo* address = found; address; address = address->ai_next) {
    if (ConnectWithin(*address, timeout)) return true;
  }
  return false;
}

bool WaitForAppPort(const std::string& host, int port, const PauseFn& pause,
                    AppPortWaitOptions options) {
  auto next_pause = options.first_pause;
  while (!AppPortOpen(host, port, options.connect_timeout)) {
    if (!pause(next_pause)) return false;
    next_pause = std::min(options.max_pause, next_pause * 2);
  }
  return true;
}

}  // namespace dapr::channel
