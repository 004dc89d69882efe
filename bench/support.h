// What the benchmark clients share besides gRPC: dying with a message, a loopback TCP
// connection, and sampling another process's CPU time and memory from /proc.
#pragma once

#include <map>
#include <optional>
#include <ostream>
#include <string>

namespace bench {

// Prints "<program>: message" on stderr and exits 1. The clients have nothing to unwind.
[[noreturn]] void Fail(const std::string& message);

// A blocking TCP connection to 127.0.0.1:port with TCP_NODELAY (a request is one write;
// Nagle would only add delay). Fails the process on error.
int ConnectLoopback(int port);

// This process's user + system CPU time, in seconds.
double SelfCpuSeconds();

// One look at a process: its CPU time, memory and context switches.
struct ProcSample {
  double cpu_seconds = 0;  // utime + stime, at the clock tick's resolution (10 ms)
  long rss_kb = 0;         // VmRSS
  long hwm_kb = 0;         // VmHWM
  // Voluntary + involuntary context switches per thread id. Per thread, because a thread
  // that exits takes its count with it: a sum over the threads would go down.
  std::map<std::string, long> context_switches;
};

// nullopt when pid <= 0 or the process is gone.
std::optional<ProcSample> SampleProcess(int pid);

// Context switches between two samples, by the threads alive at the second one.
long SwitchesBetween(const ProcSample& before, const ProcSample& after);

// Appends ,"<name>_cpu_s":..,"<name>_cpu_s_per_10k":..,"<name>_rss_kb":..,"<name>_hwm_kb":..,
// "<name>_ctxsw_per_req":.. for the window between the two samples (nothing unless both).
void AppendProcJson(std::ostream& out, const std::string& name,
                    const std::optional<ProcSample>& before,
                    const std::optional<ProcSample>& after, long requests);

}  // namespace bench
