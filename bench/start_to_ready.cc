// start_to_ready: starts a command (daprd), polls its /v1.0/healthz on 127.0.0.1 until the
// first 204, prints how long that took, then stops it with SIGTERM and prints how long
// that took. Polling is a connect + GET every 100 µs, so the figure is not inflated by a
// curl process per probe.
//
//   start_to_ready --http-port N [--timeout-ms 10000] -- /path/to/daprd args...
//   -> {"ready_ms":12.34,"stop_ms":5.67,"probes":42}
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

double MsSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// One probe: 204 from GET /v1.0/healthz, or false for anything else (refused, 500, ...).
bool Healthy(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = false;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    timeval tv{1, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    const std::string request =
        "GET /v1.0/healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(request.size())) {
      char buffer[512];
      std::string head;
      ssize_t n;
      while (head.size() < 12 && (n = recv(fd, buffer, sizeof(buffer), 0)) > 0) head.append(buffer, n);
      ok = head.size() >= 12 && head.compare(9, 3, "204") == 0;
    }
  }
  close(fd);
  return ok;
}

}  // namespace

int main(int argc, char** argv) {
  int port = 0;
  double timeout_ms = 10000;
  int i = 1;
  for (; i < argc; ++i) {
    std::string flag = argv[i];
    if (flag == "--") {
      ++i;
      break;
    }
    if (flag == "--http-port" && i + 1 < argc) port = std::atoi(argv[++i]);
    else if (flag == "--timeout-ms" && i + 1 < argc) timeout_ms = std::atof(argv[++i]);
    else {
      std::fprintf(stderr, "usage: start_to_ready --http-port N [--timeout-ms MS] -- command args...\n");
      return 2;
    }
  }
  if (port <= 0 || i >= argc) {
    std::fprintf(stderr, "start_to_ready: need --http-port and a command\n");
    return 2;
  }
  std::vector<char*> command(argv + i, argv + argc);
  command.push_back(nullptr);

  const auto start = Clock::now();
  pid_t child = fork();
  if (child < 0) return 1;
  if (child == 0) {
    execv(command[0], command.data());
    std::perror("start_to_ready: exec");
    _exit(127);
  }
  int probes = 0;
  double ready_ms = -1;
  while (MsSince(start) < timeout_ms) {
    int status;
    if (waitpid(child, &status, WNOHANG) == child) {
      std::fprintf(stderr, "start_to_ready: the command exited before it was ready\n");
      return 1;
    }
    ++probes;
    if (Healthy(port)) {
      ready_ms = MsSince(start);
      break;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
  const auto stop_start = Clock::now();
  kill(child, SIGTERM);
  int status = 0;
  waitpid(child, &status, 0);
  const double stop_ms = MsSince(stop_start);
  if (ready_ms < 0) {
    std::fprintf(stderr, "start_to_ready: not ready after %.0f ms\n", timeout_ms);
    return 1;
  }
  std::printf("{\"ready_ms\":%.3f,\"stop_ms\":%.3f,\"probes\":%d,\"exit_status\":%d}\n", ready_ms,
              stop_ms, probes, WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
  return 0;
}
