#include "support.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <vector>

namespace bench {

void Fail(const std::string& message) {
  std::cerr << program_invocation_short_name << ": " << message << std::endl;
  std::exit(1);
}

int ConnectLoopback(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) Fail(std::string("socket: ") + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    Fail("connect to 127.0.0.1:" + std::to_string(port) + ": " + std::strerror(errno));
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return fd;
}

double SelfCpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& tv) { return static_cast<double>(tv.tv_sec) + tv.tv_usec / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

namespace {

std::map<std::string, long> ContextSwitches(int pid) {
  std::map<std::string, long> out;
  std::error_code ec;
  for (const auto& task :
       std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
    std::ifstream status(task.path() / "status");
    long total = 0;
    for (std::string line; std::getline(status, line);) {
      if (line.rfind("voluntary_ctxt_switches:", 0) == 0) total += std::atol(line.c_str() + 24);
      if (line.rfind("nonvoluntary_ctxt_switches:", 0) == 0) total += std::atol(line.c_str() + 27);
    }
    out[task.path().filename().string()] = total;
  }
  return out;
}

}  // namespace

long SwitchesBetween(const ProcSample& before, const ProcSample& after) {
  long total = 0;
  for (const auto& [tid, count] : after.context_switches) {
    auto it = before.context_switches.find(tid);
    total += count - (it == before.context_switches.end() ? 0 : it->second);
  }
  return total;
}

std::optional<ProcSample> SampleProcess(int pid) {
  if (pid <= 0) return std::nullopt;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  size_t paren = text.rfind(')');
  if (paren == std::string::npos) return std::nullopt;
  std::istringstream fields(text.substr(paren + 2));
  std::vector<std::string> parts;
  for (std::string part; fields >> part;) parts.push_back(part);
  // After "pid (comm) " the fields start at 3 (state); utime is 14 and stime 15.
  if (parts.size() < 13) return std::nullopt;
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  ProcSample sample;
  sample.cpu_seconds = (std::stod(parts[11]) + std::stod(parts[12])) / ticks;
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) sample.rss_kb = std::atol(line.c_str() + 6);
    if (line.rfind("VmHWM:", 0) == 0) sample.hwm_kb = std::atol(line.c_str() + 6);
  }
  sample.context_switches = ContextSwitches(pid);
  return sample;
}

void AppendProcJson(std::ostream& out, const std::string& name,
                    const std::optional<ProcSample>& before,
                    const std::optional<ProcSample>& after, long requests) {
  if (!before || !after) return;
  const double cpu = after->cpu_seconds - before->cpu_seconds;
  const double per = static_cast<double>(std::max(requests, 1L));
  out << ",\"" << name << "_cpu_s\":" << cpu << ",\"" << name
      << "_cpu_s_per_10k\":" << cpu * 10000.0 / per << ",\"" << name
      << "_rss_kb\":" << after->rss_kb << ",\"" << name << "_hwm_kb\":" << after->hwm_kb << ",\""
      << name << "_ctxsw_per_req\":" << static_cast<double>(SwitchesBetween(*before, *after)) / per;
}

}  // namespace bench
