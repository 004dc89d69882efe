// invoke_load: the load generator of the service invocation benchmark, HTTP/1.1 or gRPC
// over HTTP/2, on one thread and one epoll loop.
//
// Open loop (the default): request i is due at start + i/rate, on connection i mod N, and its
// latency runs from that due time to the end of its answer, so a slow answer delays the
// clock of the requests behind it instead of hiding them (no coordinated omission). Over
// HTTP/1.1 a request due on a busy connection waits for it (no pipelining); over HTTP/2 it
// goes out at once on its own stream. The first --warmup-seconds of requests are not
// counted. Every latency is kept, so percentiles are exact.
//
// Saturation (--saturate): closed loop, each connection always has one request in flight,
// for the same durations: the throughput the target sustains.
//
//   invoke_load --protocol http|grpc --port N [--path /test] [--grpc-service app|dapr]
//               [--app-id testapp] [--method test] [--rate 1000] [--connections 16]
//               [--seconds 10] [--warmup-seconds 2] [--body-bytes 1024] [--saturate]
//               [--pid NAME=PID]...
//
// gRPC: --grpc-service app calls AppCallback/OnInvoke (an app, or nginx in front of one),
// dapr calls Dapr/InvokeService with the app id (a sidecar). --pid samples that process's
// CPU time and memory from /proc over the counted window, reported as NAME_cpu_s_per_10k etc.
// One JSON line on stdout.
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <deque>
#include <functional>
#include <iostream>
#include <memory>
#include <numeric>
#include <optional>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

#include "bench/grpc_h2.h"
#include "bench/http1.h"
#include "bench/support.h"
#include "dapr/proto/runtime/v1/appcallback.pb.h"
#include "dapr/proto/runtime/v1/dapr.pb.h"

namespace {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
using bench::Fail;
namespace rt = dapr::proto::runtime::v1;
namespace common = dapr::proto::common::v1;

struct Options {
  std::string protocol = "http";
  int port = 0;
  std::string path = "/test";
  std::string grpc_service = "app";
  std::string app_id = "testapp";
  std::string method = "test";
  double rate = 1000;
  int connections = 16;
  double seconds = 10;
  double warmup_seconds = 2;
  size_t body_bytes = 1024;
  bool saturate = false;
  std::vector<std::pair<std::string, int>> pids;
};

// ---- what every connection reports to ------------------------------------------------------

// Collects the outcome of every request; counts those of the measured window.
class Recorder {
 public:
  Recorder(TimePoint window_start, TimePoint window_end)
      : window_start_(window_start), window_end_(window_end) {}

  void Reserve(size_t n) {
    latency_ns_.reserve(n);
    send_lag_ns_.reserve(n);
  }

  // A request due at `due`, written at `sent`, ended now (error: nullptr when it succeeded).
  void Done(TimePoint due, TimePoint sent, const char* error) {
    --in_flight_;
    const TimePoint now = Clock::now();
    if (due < window_start_ || due >= window_end_) return;
    if (error) {
      ++errors_;
      if (first_error_.empty()) first_error_ = error;
      return;
    }
    latency_ns_.push_back((now - due).count());
    send_lag_ns_.push_back((sent - due).count());
  }
  void Started() { ++in_flight_; }

  size_t in_flight() const { return in_flight_; }
  size_t errors() const { return errors_; }
  const std::string& first_error() const { return first_error_; }
  std::vector<int64_t>& latency_ns() { return latency_ns_; }
  std::vector<int64_t>& send_lag_ns() { return send_lag_ns_; }

 private:
  TimePoint window_start_, window_end_;
  std::vector<int64_t> latency_ns_, send_lag_ns_;
  size_t in_flight_ = 0;
  size_t errors_ = 0;
  std::string first_error_;
};

// ---- connections --------------------------------------------------------------------------

// One non-blocking connection on the loop. Send() starts (or queues) a request due at a given
// time; the loop calls OnReadable/OnWritable. When the peer closes, the requests in flight
// fail and the connection opens again.
class Connection {
 public:
  Connection(int port, int epoll_fd, uint32_t index, Recorder& recorder)
      : port_(port), epoll_fd_(epoll_fd), index_(index), recorder_(recorder) {}
  virtual ~Connection() { CloseSocket(); }

  // Closed loop: after each answer, send the next request at once (until turned off).
  void SetClosedLoop(bool on) { closed_loop_ = on; }
  virtual void Send(TimePoint due) = 0;
  void OnReadable() {
    bool closed = false;
    for (;;) {
      const ssize_t n = recv(fd_, buffer_.data(), buffer_.size(), 0);
      if (n > 0) {
        if (!Consume(buffer_.data(), static_cast<size_t>(n))) closed = true;
        if (closed || static_cast<size_t>(n) < buffer_.size()) break;
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) break;
      closed = true;  // the peer closed, or the socket failed
      break;
    }
    if (closed) return Reopen();
    AfterRead();
    Flush();
  }
  void OnWritable() { Flush(); }

 protected:
  void Open() {
    fd_ = bench::ConnectLoopback(port_);
    fcntl(fd_, F_SETFL, fcntl(fd_, F_GETFL) | O_NONBLOCK);
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.u32 = index_;
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd_, &event) != 0) Fail("epoll_ctl add");
    watching_out_ = false;
  }
  void CloseSocket() {
    if (fd_ >= 0) close(fd_);  // closing also removes it from the epoll set
    fd_ = -1;
    out_.clear();
  }
  // Bytes read; false when the connection cannot go on (protocol error, the peer's close).
  virtual bool Consume(const uint8_t* data, size_t length) = 0;
  // After a batch of reads: the closed loop's next requests, say.
  virtual void AfterRead() {}
  // Fails what is in flight, opens a new connection and resends what waited.
  virtual void Reopen() = 0;
  // Writes out_ as far as the socket takes it; watches for room when it does not take all.
  void Flush() {
    size_t sent = 0;
    while (sent < out_.size()) {
      const ssize_t n = send(fd_, out_.data() + sent, out_.size() - sent, MSG_NOSIGNAL);
      if (n > 0) {
        sent += static_cast<size_t>(n);
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) break;
      return Reopen();
    }
    out_.erase(0, sent);
    const bool want_out = !out_.empty();
    if (want_out != watching_out_) {
      epoll_event event{};
      event.events = want_out ? EPOLLIN | EPOLLOUT : EPOLLIN;
      event.data.u32 = index_;
      epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd_, &event);
      watching_out_ = want_out;
    }
  }

  int port_;
  int epoll_fd_;
  uint32_t index_;
  Recorder& recorder_;
  int fd_ = -1;
  bool closed_loop_ = false;
  bool watching_out_ = false;
  std::string out_;
  std::array<uint8_t, 64 << 10> buffer_;
};

// HTTP/1.1: one request at a time; requests due while one is in flight wait in order.
class HttpConnection final : public Connection {
 public:
  HttpConnection(int port, int epoll_fd, uint32_t index, Recorder& recorder,
                 const std::string& request)
      : Connection(port, epoll_fd, index, recorder), request_(request) {
    Open();
  }

  void Send(TimePoint due) override {
    recorder_.Started();
    waiting_.push_back(due);
    if (!current_) {
      StartNext();
      Flush();
    }
  }

 private:
  struct InFlight {
    TimePoint due, sent;
  };

  // Queues the next waiting request for the next Flush.
  void StartNext() {
    if (waiting_.empty()) return;
    current_ = InFlight{waiting_.front(), Clock::now()};
    waiting_.pop_front();
    out_ += request_;
  }

  bool Consume(const uint8_t* data, size_t length) override {
    in_.append(reinterpret_cast<const char*>(data), length);
    size_t used = 0;
    for (;;) {
      auto response = bench::FirstResponse(std::string_view(in_).substr(used));
      if (!response) break;
      used += response->length;
      if (!current_) return false;  // an answer nobody asked for
      const InFlight done = *current_;
      current_.reset();
      const bool ok = response->status >= 200 && response->status < 300;
      if (!ok) error_ = "HTTP status " + std::to_string(response->status);
      recorder_.Done(done.due, done.sent, ok ? nullptr : error_.c_str());
      if (closed_loop_) waiting_.push_back(Clock::now()), recorder_.Started();
      if (response->close) {
        in_.clear();
        return false;
      }
      StartNext();
    }
    in_.erase(0, used);
    return true;
  }

  void Reopen() override {
    if (current_) recorder_.Done(current_->due, current_->sent, "connection closed");
    current_.reset();
    in_.clear();
    CloseSocket();
    Open();
    StartNext();
    Flush();
  }

  const std::string& request_;
  std::deque<TimePoint> waiting_;
  std::optional<InFlight> current_;
  std::string in_;
  std::string error_;
};

// gRPC over HTTP/2: each request on its own stream, sent when due.
class GrpcConnection final : public Connection {
 public:
  GrpcConnection(int port, int epoll_fd, uint32_t index, Recorder& recorder,
                 const bench::UnaryCall& call)
      : Connection(port, epoll_fd, index, recorder), call_(call) {
    Open();
    NewSession();
  }

  void Send(TimePoint due) override {
    recorder_.Started();
    const int32_t id = session_->Submit(call_);
    in_flight_[id] = {due, Clock::now()};
    if (!session_->TakeOutput(out_)) return Reopen();
    Flush();
  }

 private:
  struct InFlight {
    TimePoint due, sent;
  };

  void NewSession() {
    session_ = std::make_unique<bench::GrpcH2Session>([this](const bench::UnaryOutcome& outcome) {
      auto it = in_flight_.find(outcome.stream_id);
      if (it == in_flight_.end()) return;
      recorder_.Done(it->second.due, it->second.sent, outcome.error);
      in_flight_.erase(it);
      if (closed_loop_) ++resend_;
    });
    if (!session_->TakeOutput(out_)) Fail("grpc-h2: " + session_->error());
    Flush();
  }

  bool Consume(const uint8_t* data, size_t length) override {
    return session_->Receive(data, length);
  }

  void AfterRead() override {
    for (; resend_ > 0; --resend_) Send(Clock::now());
    if (!session_->TakeOutput(out_)) Reopen();
  }

  void Reopen() override {
    for (const auto& [id, times] : in_flight_) {
      recorder_.Done(times.due, times.sent, "connection closed");
      if (closed_loop_) ++resend_;
    }
    in_flight_.clear();
    session_.reset();
    CloseSocket();
    Open();
    NewSession();
    for (; resend_ > 0; --resend_) Send(Clock::now());
  }

  const bench::UnaryCall& call_;
  std::unique_ptr<bench::GrpcH2Session> session_;
  std::unordered_map<int32_t, InFlight> in_flight_;
  int resend_ = 0;
};

// ---- the requests -------------------------------------------------------------------------

std::string HttpRequest(const Options& o) {
  return "POST " + o.path + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(o.port) +
         "\r\nContent-Type: application/octet-stream\r\nContent-Length: " +
         std::to_string(o.body_bytes) + "\r\n\r\n" + std::string(o.body_bytes, 'x');
}

std::unique_ptr<bench::UnaryCall> GrpcCall(const Options& o) {
  common::InvokeRequest invoke;
  invoke.set_method(o.method);
  invoke.mutable_data()->set_value(std::string(o.body_bytes, 'x'));
  invoke.set_content_type("application/octet-stream");
  invoke.mutable_http_extension()->set_verb(common::HTTPExtension::POST);
  const std::string authority = "127.0.0.1:" + std::to_string(o.port);
  if (o.grpc_service == "app") {
    return std::make_unique<bench::UnaryCall>(
        authority, "/dapr.proto.runtime.v1.AppCallback/OnInvoke", invoke);
  }
  rt::InvokeServiceRequest request;
  request.set_id(o.app_id);
  *request.mutable_message() = invoke;
  return std::make_unique<bench::UnaryCall>(authority, "/dapr.proto.runtime.v1.Dapr/InvokeService",
                                            request);
}

// ---- the loop -----------------------------------------------------------------------------

void ArmTimer(int timer_fd, TimePoint at) {
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(at.time_since_epoch()).count();
  itimerspec spec{};
  spec.it_value.tv_sec = ns / 1000000000;
  spec.it_value.tv_nsec = std::max<int64_t>(ns % 1000000000, 1);
  timerfd_settime(timer_fd, TFD_TIMER_ABSTIME, &spec, nullptr);
}

double Percentile(const std::vector<int64_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  const size_t index = static_cast<size_t>(p / 100.0 * static_cast<double>(sorted.size() - 1) + 0.5);
  return static_cast<double>(sorted[std::min(index, sorted.size() - 1)]) / 1000.0;
}

std::string JsonText(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += static_cast<unsigned char>(c) < 0x20 ? ' ' : c;
  }
  return out + "\"";
}

struct Samples {
  std::vector<std::optional<bench::ProcSample>> procs;
  double client_cpu = 0;
  TimePoint at;
};

Samples Sample(const Options& o) {
  Samples samples;
  for (const auto& [name, pid] : o.pids) samples.procs.push_back(bench::SampleProcess(pid));
  samples.client_cpu = bench::SelfCpuSeconds();
  samples.at = Clock::now();
  return samples;
}

void Report(const Options& o, Recorder& recorder, const Samples& before, const Samples& after) {
  auto& latency = recorder.latency_ns();
  auto& lag = recorder.send_lag_ns();
  std::sort(latency.begin(), latency.end());
  std::sort(lag.begin(), lag.end());
  const long requests = static_cast<long>(latency.size() + recorder.errors());
  const double mean = latency.empty() ? 0
                                      : std::accumulate(latency.begin(), latency.end(), 0.0) /
                                            static_cast<double>(latency.size()) / 1000.0;
  std::ostringstream out;
  out.setf(std::ios::fixed);
  out.precision(2);
  out << "{\"protocol\":\"" << o.protocol << "\",\"loop\":\"" << (o.saturate ? "closed" : "open")
      << "\",\"rate\":" << (o.saturate ? 0 : o.rate) << ",\"connections\":" << o.connections
      << ",\"seconds\":" << o.seconds << ",\"warmup_seconds\":" << o.warmup_seconds
      << ",\"body_bytes\":" << o.body_bytes << ",\"requests\":" << requests
      << ",\"errors\":" << recorder.errors() << ",\"unfinished\":" << recorder.in_flight()
      << ",\"achieved_rps\":" << static_cast<double>(latency.size()) / o.seconds
      << ",\"p50_us\":" << Percentile(latency, 50) << ",\"p90_us\":" << Percentile(latency, 90)
      << ",\"p99_us\":" << Percentile(latency, 99) << ",\"p999_us\":" << Percentile(latency, 99.9)
      << ",\"min_us\":" << Percentile(latency, 0) << ",\"max_us\":" << Percentile(latency, 100)
      << ",\"mean_us\":" << mean << ",\"send_lag_p50_us\":" << Percentile(lag, 50)
      << ",\"send_lag_p99_us\":" << Percentile(lag, 99) << ",\"window_s\":"
      << std::chrono::duration<double>(after.at - before.at).count();
  out.precision(4);
  out << ",\"client_cpu_s_per_10k\":"
      << (after.client_cpu - before.client_cpu) * 10000.0 / std::max(requests, 1L);
  for (size_t i = 0; i < o.pids.size(); ++i) {
    bench::AppendProcJson(out, o.pids[i].first, before.procs[i], after.procs[i], requests);
  }
  if (!recorder.first_error().empty()) out << ",\"first_error\":" << JsonText(recorder.first_error());
  out << "}";
  std::cout << out.str() << std::endl;
}

void Run(const Options& o) {
  prctl(PR_SET_TIMERSLACK, 1UL);  // wake up when a request is due, not up to 50 µs later
  const int epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  const int timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (epoll_fd < 0 || timer_fd < 0) Fail("epoll/timerfd");
  const uint32_t timer_index = static_cast<uint32_t>(o.connections);
  epoll_event timer_event{};
  timer_event.events = EPOLLIN;
  timer_event.data.u32 = timer_index;
  epoll_ctl(epoll_fd, EPOLL_CTL_ADD, timer_fd, &timer_event);

  // Connected before the clock starts, so connecting is no request's latency.
  const auto warmup = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(o.warmup_seconds));
  const auto measured = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(o.seconds));
  const std::string http_request = HttpRequest(o);
  const auto grpc_call = GrpcCall(o);
  TimePoint start = Clock::now() + std::chrono::milliseconds(20 + 5 * o.connections);
  Recorder recorder(start + warmup, start + warmup + measured);
  std::vector<std::unique_ptr<Connection>> connections;
  for (int i = 0; i < o.connections; ++i) {
    if (o.protocol == "http") {
      connections.push_back(std::make_unique<HttpConnection>(o.port, epoll_fd, i, recorder, http_request));
    } else {
      connections.push_back(std::make_unique<GrpcConnection>(o.port, epoll_fd, i, recorder, *grpc_call));
    }
    connections.back()->SetClosedLoop(o.saturate);
  }
  const TimePoint window_start = start + warmup;
  const TimePoint end = window_start + measured;
  recorder.Reserve(o.saturate ? 1 << 20 : static_cast<size_t>(o.rate * o.seconds * 1.1) + 16);
  std::optional<Samples> before;

  const auto period = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(1.0 / o.rate));
  int64_t next = 0;  // the next request's number (open loop)
  bool sending = true;
  TimePoint drain_deadline{};
  TimePoint armed{};
  std::array<epoll_event, 64> events;
  for (;;) {
    const TimePoint now = Clock::now();
    if (!before && now >= window_start) before = Sample(o);
    if (sending && o.saturate && now >= start && next == 0) {
      for (auto& c : connections) c->Send(now);
      next = 1;
    }
    if (sending && !o.saturate) {
      for (TimePoint due = start + next * period; due <= now && due < end; due = start + next * period) {
        connections[next % o.connections]->Send(due);
        ++next;
      }
    }
    if (sending && now >= end) {
      sending = false;
      for (auto& c : connections) c->SetClosedLoop(false);
      drain_deadline = now + std::chrono::seconds(2);
    }
    if (!sending && (recorder.in_flight() == 0 || now >= drain_deadline)) break;
    // Sleep until the next due request (open loop), the window's start or end, or an answer.
    TimePoint wake = !before ? window_start : end;
    if (!o.saturate) wake = std::min(wake, start + next * period);
    if (o.saturate && next == 0) wake = std::min(wake, start);
    if (!sending) wake = drain_deadline;
    if (wake != armed) ArmTimer(timer_fd, armed = wake);
    const int n = epoll_wait(epoll_fd, events.data(), static_cast<int>(events.size()), -1);
    if (n < 0 && errno != EINTR) Fail(std::string("epoll_wait: ") + std::strerror(errno));
    for (int i = 0; i < n; ++i) {
      const uint32_t index = events[i].data.u32;
      if (index == timer_index) {
        uint64_t expirations;
        [[maybe_unused]] ssize_t ignored = read(timer_fd, &expirations, sizeof(expirations));
        continue;
      }
      if (events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) connections[index]->OnReadable();
      if (events[i].events & EPOLLOUT) connections[index]->OnWritable();
    }
  }
  const Samples after = Sample(o);
  if (!before) before = after;
  Report(o, recorder, *before, after);
  connections.clear();
  close(timer_fd);
  close(epoll_fd);
}

Options Parse(int argc, char** argv) {
  Options o;
  auto next = [&](int& i) -> std::string {
    if (i + 1 >= argc) Fail(std::string("missing value for ") + argv[i]);
    return argv[++i];
  };
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--protocol") o.protocol = next(i);
    else if (flag == "--port") o.port = std::stoi(next(i));
    else if (flag == "--path") o.path = next(i);
    else if (flag == "--grpc-service") o.grpc_service = next(i);
    else if (flag == "--app-id") o.app_id = next(i);
    else if (flag == "--method") o.method = next(i);
    else if (flag == "--rate") o.rate = std::stod(next(i));
    else if (flag == "--connections") o.connections = std::stoi(next(i));
    else if (flag == "--seconds") o.seconds = std::stod(next(i));
    else if (flag == "--warmup-seconds") o.warmup_seconds = std::stod(next(i));
    else if (flag == "--body-bytes") o.body_bytes = std::stoul(next(i));
    else if (flag == "--saturate") o.saturate = true;
    else if (flag == "--pid") {
      const std::string spec = next(i);
      const size_t eq = spec.find('=');
      if (eq == std::string::npos) Fail("--pid wants NAME=PID");
      o.pids.emplace_back(spec.substr(0, eq), std::stoi(spec.substr(eq + 1)));
    } else if (flag == "--help" || flag == "-h") {
      std::cout << "usage: invoke_load --protocol http|grpc --port N [--path /test]\n"
                   "  [--grpc-service app|dapr] [--app-id testapp] [--method test]\n"
                   "  [--rate 1000] [--connections 16] [--seconds 10] [--warmup-seconds 2]\n"
                   "  [--body-bytes 1024] [--saturate] [--pid NAME=PID]...\n";
      std::exit(0);
    } else {
      Fail("unknown argument " + flag);
    }
  }
  if (o.protocol != "http" && o.protocol != "grpc") Fail("--protocol is http or grpc");
  if (o.grpc_service != "app" && o.grpc_service != "dapr") Fail("--grpc-service is app or dapr");
  if (o.port <= 0) Fail("--port is required");
  if (o.rate <= 0 || o.connections <= 0 || o.seconds <= 0 || o.warmup_seconds < 0) {
    Fail("--rate, --connections and --seconds must be positive");
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  Run(Parse(argc, argv));
  return 0;
}
