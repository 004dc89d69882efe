// Waiting for the app to listen before the sidecar reports ready, as Dapr does: a TCP
// connect to the app's port, repeated with a growing pause until it succeeds. The pauses
// sleep (no CPU while the app is not there), and the caller can cut them short.
#pragma once

#include <chrono>
#include <functional>
#include <string>

namespace dapr::channel {

struct AppPortWaitOptions {
  std::chrono::milliseconds first_pause{5};
  std::chrono::milliseconds max_pause{500};
  std::chrono::milliseconds connect_timeout{500};
};

// Pauses for the given time; returns false when the wait should be given up (shutdown).
using PauseFn = std::function<bool(std::chrono::milliseconds)>;

// True once a TCP connection to host:port succeeded; false when pause gave up first.
bool WaitForAppPort(const std::string& host, int port, const PauseFn& pause,
                    AppPortWaitOptions options = {});

// One attempt: does something accept a TCP connection on host:port within the timeout?
bool AppPortOpen(const std::string& host, int port, std::chrono::milliseconds timeout);

}  // namespace dapr::channel
