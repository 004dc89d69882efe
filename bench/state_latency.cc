// state_latency: a closed-loop client (one request in flight) that times state GETs and
// saves straight against Redis and through daprd's HTTP and gRPC APIs, so the difference
// is what the sidecar adds. One JSON line per scenario on stdout.
//
// Two gRPC clients: grpc-get/grpc-save use gRPC's C++ library (generated sync stub), which
// itself costs tens of µs of CPU per call; grpc-h2-get/grpc-h2-save speak gRPC over HTTP/2
// with nghttp2 on one blocking socket, requests pre-serialized, as lean as the raw HTTP/1.1
// client of http-get/http-save, so that their figures are the sidecar's cost.
//
//   state_latency --redis 127.0.0.1:6380 --http-port 3500 --grpc-port 50001
//                 --scenario all [--requests 20000] [--warmup 2000] [--value-bytes 1024]
//                 [--sidecar-pid PID] [--redis-pid PID] [--app-id bench] [--store statestore]
//
// With --sidecar-pid (and --redis-pid) the CPU time and memory of that process are sampled
// from /proc right after the warm-up and right after the last measured request, so the
// figures cover exactly the measured window.
#include <arpa/inet.h>
#include <grpcpp/grpcpp.h>
#include <hiredis/hiredis.h>
#include <nghttp2/nghttp2.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <numeric>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "components/state/redis/redis_scripts.h"
#include "dapr/proto/runtime/v1/dapr.grpc.pb.h"

namespace {

using Clock = std::chrono::steady_clock;
namespace rt = dapr::proto::runtime::v1;

struct Options {
  std::string redis_host = "127.0.0.1";
  int redis_port = 6379;
  int http_port = 3500;
  int grpc_port = 50001;
  int requests = 20000;
  int warmup = 2000;
  size_t value_bytes = 1024;
  std::string app_id = "bench";
  std::string store = "statestore";
  std::string key = "bench-key";
  std::vector<std::string> scenarios;
  int sidecar_pid = 0;
  int redis_pid = 0;
};

[[noreturn]] void Die(const std::string& message) {
  std::cerr << "state_latency: " << message << "\n";
  std::exit(1);
}

// ---- /proc sampling ---------------------------------------------------------------------

struct ProcSample {
  double cpu_seconds = 0;  // utime + stime
  long rss_kb = 0;         // VmRSS
  long hwm_kb = 0;         // VmHWM
  // Voluntary + involuntary context switches per thread id. Per thread, because a thread
  // that exits takes its count with it: a sum over the threads would go down.
  std::map<std::string, long> context_switches;
};

std::map<std::string, long> ContextSwitches(int pid) {
  std::map<std::string, long> out;
  std::error_code ec;
  for (const auto& task : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
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

// Context switches between two samples, by the threads alive at the second one.
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

// ---- Redis --------------------------------------------------------------------------------

struct RedisDeleter {
  void operator()(redisContext* c) const { redisFree(c); }
};

class Redis {
 public:
  Redis(const std::string& host, int port) : context_(redisConnect(host.c_str(), port)) {
    if (!context_ || context_->err) {
      Die("redis " + host + ":" + std::to_string(port) + ": " +
          (context_ ? context_->errstr : "out of memory"));
    }
  }

  // Runs one command and checks the reply is not an error.
  void Run(const std::vector<std::string>& args, int expect_type = -1) {
    std::vector<const char*> argv;
    std::vector<size_t> lengths;
    for (const auto& a : args) {
      argv.push_back(a.data());
      lengths.push_back(a.size());
    }
    auto* reply = static_cast<redisReply*>(
        redisCommandArgv(context_.get(), static_cast<int>(args.size()), argv.data(), lengths.data()));
    if (!reply) Die(std::string("redis: ") + context_->errstr);
    const bool bad = reply->type == REDIS_REPLY_ERROR || (expect_type >= 0 && reply->type != expect_type);
    std::string text = reply->str ? std::string(reply->str, reply->len) : "";
    freeReplyObject(reply);
    if (bad) Die("redis " + args[0] + ": unexpected reply " + text);
  }

  std::string Load(std::string_view script) {
    auto* reply = static_cast<redisReply*>(
        redisCommand(context_.get(), "SCRIPT LOAD %b", script.data(), script.size()));
    if (!reply || reply->type != REDIS_REPLY_STRING) Die("redis: SCRIPT LOAD failed");
    std::string sha(reply->str, reply->len);
    freeReplyObject(reply);
    return sha;
  }

 private:
  std::unique_ptr<redisContext, RedisDeleter> context_;
};

// ---- HTTP over one keep-alive socket, requests pre-built ----------------------------------

class HttpClient {
 public:
  explicit HttpClient(int port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      Die("http: connect to 127.0.0.1:" + std::to_string(port) + ": " + std::strerror(errno));
    }
    int one = 1;  // a request is one write; Nagle would only add delay
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  }
  ~HttpClient() { close(fd_); }

  // Sends the request and reads one response; returns its status code.
  int RoundTrip(const std::string& request) {
    for (size_t sent = 0; sent < request.size();) {
      ssize_t n = send(fd_, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) Die("http: send failed");
      sent += static_cast<size_t>(n);
    }
    size_t header_end;
    while ((header_end = buffer_.find("\r\n\r\n")) == std::string::npos) Fill();
    const int status = std::atoi(buffer_.c_str() + 9);  // "HTTP/1.1 200"
    size_t length = 0;
    std::string_view headers(buffer_.data(), header_end);
    for (size_t at = 0; at < headers.size();) {
      size_t eol = headers.find("\r\n", at);
      if (eol == std::string_view::npos) eol = headers.size();
      std::string_view line = headers.substr(at, eol - at);
      if (line.size() > 15 && strncasecmp(line.data(), "content-length:", 15) == 0) {
        length = std::strtoul(std::string(line.substr(15)).c_str(), nullptr, 10);
      }
      if (line.size() > 18 && strncasecmp(line.data(), "transfer-encoding:", 18) == 0) {
        Die("http: chunked responses are not supported by this client");
      }
      at = eol + 2;
    }
    const size_t total = header_end + 4 + length;
    while (buffer_.size() < total) Fill();
    last_body_.assign(buffer_, header_end + 4, length);
    buffer_.erase(0, total);
    return status;
  }

  const std::string& last_body() const { return last_body_; }

 private:
  void Fill() {
    char chunk[16384];
    ssize_t n = recv(fd_, chunk, sizeof(chunk), 0);
    if (n <= 0) Die("http: connection closed by daprd");
    buffer_.append(chunk, static_cast<size_t>(n));
  }

  int fd_ = -1;
  std::string buffer_;
  std::string last_body_;
};

// ---- gRPC over HTTP/2 with nghttp2: one connection, one stream per call -----------------

// A minimal unary gRPC client: blocking socket, nghttp2 for the framing and HPACK. Per call:
// submit HEADERS + one DATA frame (the pre-framed request), send all nghttp2 has queued in
// one write, then read and feed nghttp2 until the stream closes. Buffers are reused; the
// only per-call allocations are nghttp2's own (its stream and frame objects).
class GrpcH2Client {
 public:
  explicit GrpcH2Client(int port) : authority_("127.0.0.1:" + std::to_string(port)) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      Die("grpc-h2: connect to " + authority_ + ": " + std::strerror(errno));
    }
    int one = 1;  // a call is one write; Nagle would only add delay
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

    nghttp2_session_callbacks* callbacks = nullptr;
    if (nghttp2_session_callbacks_new(&callbacks) != 0) Die("grpc-h2: out of memory");
    nghttp2_session_callbacks_set_on_header_callback(callbacks, &OnHeader);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, &OnDataChunk);
    nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, &OnStreamClose);
    const int rv = nghttp2_session_client_new(&session_, callbacks, this);
    nghttp2_session_callbacks_del(callbacks);
    if (rv != 0) Die(std::string("grpc-h2: nghttp2_session_client_new: ") + nghttp2_strerror(rv));
    // The connection preface: nghttp2 puts the client magic before this SETTINGS frame.
    // Windows large enough that answers never wait for a WINDOW_UPDATE.
    nghttp2_settings_entry settings[] = {
        {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1u << 20},
    };
    if (nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, 2) != 0 ||
        nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0, 16 << 20) != 0) {
      Die("grpc-h2: cannot queue the connection preface");
    }
    response_.reserve(64 << 10);
    write_buffer_.reserve(64 << 10);
  }
  ~GrpcH2Client() {
    nghttp2_session_del(session_);
    close(fd_);
  }
  GrpcH2Client(const GrpcH2Client&) = delete;
  GrpcH2Client& operator=(const GrpcH2Client&) = delete;

  // A call prepared once, outside the timed loop: its headers and its framed request (the
  // 5-byte gRPC prefix: flag 0, 4-byte big-endian length; then the serialized message).
  // nghttp2 does not copy the headers, so a Call stays where it was built.
  class Call {
   public:
    Call(const GrpcH2Client& client, std::string path, const google::protobuf::MessageLite& message)
        : path_(std::move(path)) {
      const std::string bytes = message.SerializeAsString();
      const auto length = static_cast<uint32_t>(bytes.size());
      framed_request_.push_back('\0');
      for (int shift = 24; shift >= 0; shift -= 8) {
        framed_request_.push_back(static_cast<char>((length >> shift) & 0xff));
      }
      framed_request_ += bytes;
      headers_ = {Nv(":method", "POST"), Nv(":scheme", "http"), Nv(":path", path_),
                  Nv(":authority", client.authority_), Nv("content-type", "application/grpc"),
                  Nv("te", "trailers")};
    }
    Call(const Call&) = delete;
    Call& operator=(const Call&) = delete;
    const std::string& path() const { return path_; }

   private:
    friend class GrpcH2Client;
    static nghttp2_nv Nv(std::string_view name, std::string_view value) {
      return {reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
              reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), name.size(), value.size(),
              NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE};
    }
    std::string path_;
    std::string framed_request_;
    std::array<nghttp2_nv, 6> headers_{};
  };

  // Runs one unary call; dies unless it ends with grpc-status 0 in the trailers and one
  // whole uncompressed message, which is then in message().
  void RoundTrip(const Call& call) {
    response_.clear();
    grpc_status_.clear();
    grpc_message_.clear();
    http_status_ = 0;
    trailers_only_ = false;
    closed_ = false;
    close_error_ = 0;
    request_ = &call.framed_request_;
    request_sent_ = 0;
    nghttp2_data_provider body{};
    body.read_callback = &ReadRequest;
    stream_id_ = nghttp2_submit_request(session_, nullptr, call.headers_.data(), call.headers_.size(),
                                        &body, this);
    if (stream_id_ < 0) Die(std::string("grpc-h2: submit: ") + nghttp2_strerror(stream_id_));
    Flush();
    while (!closed_) {
      const ssize_t n = recv(fd_, read_buffer_.data(), read_buffer_.size(), 0);
      if (n <= 0) Die("grpc-h2 " + call.path() + ": connection closed by daprd");
      const ssize_t used = nghttp2_session_mem_recv(session_, read_buffer_.data(), static_cast<size_t>(n));
      if (used < 0) Die("grpc-h2 " + call.path() + ": " + nghttp2_strerror(static_cast<int>(used)));
      // What nghttp2 has to say (SETTINGS ack, WINDOW_UPDATE) goes out with the next request,
      // unless the answer is still awaited: then now, in case daprd waits for it.
      if (!closed_ && nghttp2_session_want_write(session_)) Flush();
    }
    if (const char* error = Check()) Die("grpc-h2 " + call.path() + ": " + error);
  }

  // The response message, after its 5-byte prefix.
  std::string_view message() const { return std::string_view(response_).substr(5); }

 private:
  // What is wrong with the answer just received, or nullptr.
  const char* Check() {
    if (close_error_ != 0) {
      error_ = std::string("stream reset by daprd (") + nghttp2_http2_strerror(close_error_) + ")";
    } else if (http_status_ != 200) {
      error_ = "HTTP status " + std::to_string(http_status_);
    } else if (grpc_status_.empty()) {
      error_ = "no grpc-status in the trailers";
    } else if (grpc_status_ != "0" || trailers_only_) {
      error_ = "grpc-status " + grpc_status_ + (grpc_message_.empty() ? "" : ": " + grpc_message_) +
               (trailers_only_ ? " (a trailers-only response: no message)" : "");
    } else if (response_.size() < 5) {
      error_ = "response of " + std::to_string(response_.size()) + " bytes, no gRPC message";
    } else {
      const auto* p = reinterpret_cast<const unsigned char*>(response_.data());
      const uint32_t length =
          (uint32_t{p[1]} << 24) | (uint32_t{p[2]} << 16) | (uint32_t{p[3]} << 8) | uint32_t{p[4]};
      if (p[0] != 0) {
        error_ = "compressed response message";
      } else if (length != response_.size() - 5) {
        error_ = "framed length " + std::to_string(length) + " but " +
                 std::to_string(response_.size() - 5) + " bytes after the prefix (one message expected)";
      } else {
        return nullptr;
      }
    }
    return error_.c_str();
  }

  void Flush() {
    write_buffer_.clear();
    for (;;) {
      const uint8_t* data = nullptr;
      const ssize_t n = nghttp2_session_mem_send(session_, &data);
      if (n < 0) Die(std::string("grpc-h2: mem_send: ") + nghttp2_strerror(static_cast<int>(n)));
      if (n == 0) break;
      write_buffer_.append(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
    }
    for (size_t sent = 0; sent < write_buffer_.size();) {
      const ssize_t n = send(fd_, write_buffer_.data() + sent, write_buffer_.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) Die("grpc-h2: send failed");
      sent += static_cast<size_t>(n);
    }
  }

  static GrpcH2Client& Self(void* user_data) { return *static_cast<GrpcH2Client*>(user_data); }

  static ssize_t ReadRequest(nghttp2_session*, int32_t, uint8_t* buffer, size_t length,
                             uint32_t* flags, nghttp2_data_source*, void* user_data) {
    GrpcH2Client& self = Self(user_data);
    const size_t n = std::min(length, self.request_->size() - self.request_sent_);
    std::memcpy(buffer, self.request_->data() + self.request_sent_, n);
    self.request_sent_ += n;
    if (self.request_sent_ == self.request_->size()) *flags |= NGHTTP2_DATA_FLAG_EOF;
    return static_cast<ssize_t>(n);
  }

  static int OnHeader(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                      size_t name_length, const uint8_t* value, size_t value_length, uint8_t,
                      void* user_data) {
    GrpcH2Client& self = Self(user_data);
    if (frame->hd.stream_id != self.stream_id_) return 0;
    const std::string_view key(reinterpret_cast<const char*>(name), name_length);
    const std::string_view text(reinterpret_cast<const char*>(value), value_length);
    if (key == ":status") {
      std::from_chars(text.data(), text.data() + text.size(), self.http_status_);
    } else if (key == "grpc-status") {
      self.grpc_status_.assign(text);
      // grpc-status in the response headers themselves: a trailers-only response.
      self.trailers_only_ = frame->headers.cat == NGHTTP2_HCAT_RESPONSE;
    } else if (key == "grpc-message") {
      self.grpc_message_.assign(text);
    }
    return 0;
  }

  static int OnDataChunk(nghttp2_session*, uint8_t, int32_t stream_id, const uint8_t* data,
                         size_t length, void* user_data) {
    GrpcH2Client& self = Self(user_data);
    if (stream_id == self.stream_id_) self.response_.append(reinterpret_cast<const char*>(data), length);
    return 0;
  }

  static int OnStreamClose(nghttp2_session*, int32_t stream_id, uint32_t error_code, void* user_data) {
    GrpcH2Client& self = Self(user_data);
    if (stream_id != self.stream_id_) return 0;
    self.closed_ = true;
    self.close_error_ = error_code;
    return 0;
  }

  int fd_ = -1;
  std::string authority_;
  nghttp2_session* session_ = nullptr;
  std::array<uint8_t, 64 << 10> read_buffer_;
  std::string write_buffer_;
  // The call in flight.
  int32_t stream_id_ = -1;
  const std::string* request_ = nullptr;
  size_t request_sent_ = 0;
  std::string response_;  // DATA as received: prefix + message
  std::string grpc_status_, grpc_message_;
  std::string error_;
  int http_status_ = 0;
  bool trailers_only_ = false;
  bool closed_ = false;
  uint32_t close_error_ = 0;
};

// ---- the measuring loop -------------------------------------------------------------------

double SelfCpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& tv) { return static_cast<double>(tv.tv_sec) + tv.tv_usec / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

struct Result {
  std::vector<int64_t> ns;
  double wall_seconds = 0;
  double client_cpu_seconds = 0;  // this process: its share of the round trip's CPU
  std::optional<ProcSample> sidecar_before, sidecar_after, redis_before, redis_after;
};

using Operation = std::function<void()>;

Result Measure(const Options& options, const Operation& op) {
  for (int i = 0; i < options.warmup; ++i) op();
  Result result;
  result.ns.reserve(options.requests);
  result.sidecar_before = SampleProcess(options.sidecar_pid);
  result.redis_before = SampleProcess(options.redis_pid);
  const double cpu_start = SelfCpuSeconds();
  const auto start = Clock::now();
  for (int i = 0; i < options.requests; ++i) {
    const auto t0 = Clock::now();
    op();
    result.ns.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count());
  }
  result.wall_seconds = std::chrono::duration<double>(Clock::now() - start).count();
  result.client_cpu_seconds = SelfCpuSeconds() - cpu_start;
  result.sidecar_after = SampleProcess(options.sidecar_pid);
  result.redis_after = SampleProcess(options.redis_pid);
  return result;
}

double Percentile(const std::vector<int64_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  size_t index = static_cast<size_t>(p / 100.0 * static_cast<double>(sorted.size() - 1) + 0.5);
  return static_cast<double>(sorted[std::min(index, sorted.size() - 1)]) / 1000.0;
}

void AppendProc(std::ostringstream& out, const char* name, const std::optional<ProcSample>& before,
                const std::optional<ProcSample>& after, int requests) {
  if (!before || !after) return;
  const double cpu = after->cpu_seconds - before->cpu_seconds;
  out << ",\"" << name << "_cpu_s\":" << cpu << ",\"" << name
      << "_cpu_s_per_10k\":" << cpu * 10000.0 / requests << ",\"" << name
      << "_rss_kb\":" << after->rss_kb << ",\"" << name << "_hwm_kb\":" << after->hwm_kb << ",\""
      << name << "_ctxsw_per_req\":"
      << static_cast<double>(SwitchesBetween(*before, *after)) / requests;
}

void Report(const std::string& scenario, const Options& options, Result result) {
  std::sort(result.ns.begin(), result.ns.end());
  const double sum = std::accumulate(result.ns.begin(), result.ns.end(), 0.0);
  std::ostringstream out;
  out.setf(std::ios::fixed);
  out.precision(2);
  out << "{\"scenario\":\"" << scenario << "\",\"requests\":" << options.requests
      << ",\"warmup\":" << options.warmup << ",\"value_bytes\":" << options.value_bytes
      << ",\"p50_us\":" << Percentile(result.ns, 50) << ",\"p90_us\":" << Percentile(result.ns, 90)
      << ",\"p99_us\":" << Percentile(result.ns, 99) << ",\"p999_us\":" << Percentile(result.ns, 99.9)
      << ",\"min_us\":" << Percentile(result.ns, 0) << ",\"max_us\":" << Percentile(result.ns, 100)
      << ",\"mean_us\":" << sum / static_cast<double>(result.ns.size()) / 1000.0
      << ",\"throughput_rps\":" << static_cast<double>(options.requests) / result.wall_seconds;
  out.precision(4);
  out << ",\"client_cpu_s_per_10k\":" << result.client_cpu_seconds * 10000.0 / options.requests;
  AppendProc(out, "sidecar", result.sidecar_before, result.sidecar_after, options.requests);
  AppendProc(out, "redis", result.redis_before, result.redis_after, options.requests);
  out << "}";
  std::cout << out.str() << std::endl;
}

// ---- scenarios ----------------------------------------------------------------------------

// daprd's state.redis stores key K of app A as the hash "A||K" {data, version}; the direct
// scenarios use the same hash so Redis does the same work.
std::string RedisKey(const Options& o) { return o.app_id + "||" + o.key; }

// The value as daprd stores it for an HTTP save of a JSON string: the JSON text itself.
std::string JsonValue(const Options& o) { return "\"" + std::string(o.value_bytes, 'x') + "\""; }

void RunRedis(const std::string& scenario, const Options& o) {
  Redis redis(o.redis_host, o.redis_port);
  const std::string key = RedisKey(o);
  const std::string value = JsonValue(o);
  redis.Run({"DEL", key});
  redis.Run({"HSET", key, "data", value, "version", "1"});
  std::string sha;  // outlives op, which refers to it
  Operation op;
  if (scenario == "redis-get") {
    op = [&] { redis.Run({"HGET", key, "data"}, REDIS_REPLY_STRING); };
  } else if (scenario == "redis-set") {
    op = [&] { redis.Run({"HSET", key, "data", value, "version", "1"}, REDIS_REPLY_INTEGER); };
  } else if (scenario == "redis-evalsha-get") {
    // daprd's own read script: TYPE, PTTL, HMGET in one EVALSHA.
    sha = redis.Load(dapr::state::redis_scripts::kGet);
    op = [&] { redis.Run({"EVALSHA", sha, "1", key}, REDIS_REPLY_ARRAY); };
  } else {  // redis-evalsha-set: daprd's own write script, one upsert, no ETag, no TTL
    sha = redis.Load(dapr::state::redis_scripts::kWrite);
    op = [&] { redis.Run({"EVALSHA", sha, "1", key, "set", "", "0", value, "0"}, REDIS_REPLY_INTEGER); };
  }
  Report(scenario, o, Measure(o, op));
}

void RunHttp(const std::string& scenario, const Options& o) {
  HttpClient client(o.http_port);
  const std::string host = "Host: 127.0.0.1:" + std::to_string(o.http_port) + "\r\n";
  const std::string body = "[{\"key\":\"" + o.key + "\",\"value\":" + JsonValue(o) + "}]";
  const std::string save = "POST /v1.0/state/" + o.store + " HTTP/1.1\r\n" + host +
                           "Content-Type: application/json\r\nContent-Length: " +
                           std::to_string(body.size()) + "\r\n\r\n" + body;
  const std::string get = "GET /v1.0/state/" + o.store + "/" + o.key + " HTTP/1.1\r\n" + host + "\r\n";
  if (int status = client.RoundTrip(save); status != 204) Die("http save: status " + std::to_string(status));
  if (int status = client.RoundTrip(get); status != 200 || client.last_body() != JsonValue(o)) {
    Die("http get: status " + std::to_string(status) + ", body of " +
        std::to_string(client.last_body().size()) + " bytes");
  }
  const std::string& request = scenario == "http-get" ? get : save;
  const int expected = scenario == "http-get" ? 200 : 204;
  Operation op = [&] {
    if (int status = client.RoundTrip(request); status != expected) {
      Die(scenario + ": status " + std::to_string(status) + ": " + client.last_body());
    }
  };
  Report(scenario, o, Measure(o, op));
}

// The two requests every gRPC scenario sends: a save of the value, a get of its key.
struct GrpcRequests {
  explicit GrpcRequests(const Options& o) {
    save.set_store_name(o.store);
    auto* item = save.add_states();
    item->set_key(o.key);
    item->set_value(std::string(o.value_bytes, 'x'));
    get.set_store_name(o.store);
    get.set_key(o.key);
  }
  rt::SaveStateRequest save;
  rt::GetStateRequest get;
};

void RunGrpc(const std::string& scenario, const Options& o) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);
  auto channel = grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(o.grpc_port),
                                           grpc::InsecureChannelCredentials(), args);
  auto stub = rt::Dapr::NewStub(channel);
  const GrpcRequests requests(o);
  const rt::SaveStateRequest& save = requests.save;
  const rt::GetStateRequest& get = requests.get;
  auto check = [&](const grpc::Status& status) {
    if (!status.ok()) Die(scenario + ": " + status.error_message());
  };
  {
    grpc::ClientContext context;
    google::protobuf::Empty empty;
    check(stub->SaveState(&context, save, &empty));
    grpc::ClientContext get_context;
    rt::GetStateResponse response;
    check(stub->GetState(&get_context, get, &response));
    if (response.data().size() != o.value_bytes) Die("grpc get: wrong value size");
  }
  Operation op;
  if (scenario == "grpc-get") {
    op = [&] {
      grpc::ClientContext context;
      rt::GetStateResponse response;
      check(stub->GetState(&context, get, &response));
    };
  } else {
    op = [&] {
      grpc::ClientContext context;
      google::protobuf::Empty empty;
      check(stub->SaveState(&context, save, &empty));
    };
  }
  Report(scenario, o, Measure(o, op));
}

void RunGrpcH2(const std::string& scenario, const Options& o) {
  GrpcH2Client client(o.grpc_port);
  const GrpcRequests requests(o);
  const rt::SaveStateRequest& save_request = requests.save;
  const rt::GetStateRequest& get_request = requests.get;
  // Serialized and framed once, outside the timed loop, like the HTTP scenarios' requests.
  const GrpcH2Client::Call save(client, "/dapr.proto.runtime.v1.Dapr/SaveState", save_request);
  const GrpcH2Client::Call get(client, "/dapr.proto.runtime.v1.Dapr/GetState", get_request);
  rt::GetStateResponse response;  // reused: parsing into it again reuses its strings
  google::protobuf::Empty empty;
  auto check_get = [&] {
    const std::string_view message = client.message();
    if (!response.ParseFromArray(message.data(), static_cast<int>(message.size()))) {
      Die(scenario + ": GetStateResponse does not parse");
    }
    if (response.data().size() != o.value_bytes) {
      Die(scenario + ": value of " + std::to_string(response.data().size()) + " bytes, " +
          std::to_string(o.value_bytes) + " expected");
    }
  };
  auto check_save = [&] {
    const std::string_view message = client.message();
    if (!empty.ParseFromArray(message.data(), static_cast<int>(message.size()))) {
      Die(scenario + ": SaveState's Empty does not parse");
    }
  };
  client.RoundTrip(save);
  check_save();
  client.RoundTrip(get);
  check_get();
  Operation op;
  if (scenario == "grpc-h2-get") {
    op = [&] {
      client.RoundTrip(get);
      check_get();
    };
  } else {
    op = [&] {
      client.RoundTrip(save);
      check_save();
    };
  }
  Report(scenario, o, Measure(o, op));
}

const std::vector<std::string> kAllScenarios = {
    "redis-get", "redis-evalsha-get", "redis-set",   "redis-evalsha-set", "http-get",
    "http-save", "grpc-get",          "grpc-save",   "grpc-h2-get",       "grpc-h2-save"};

Options Parse(int argc, char** argv) {
  Options o;
  auto next = [&](int& i) -> std::string {
    if (i + 1 >= argc) Die(std::string("missing value for ") + argv[i]);
    return argv[++i];
  };
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    if (flag == "--redis") {
      std::string address = next(i);
      size_t colon = address.rfind(':');
      if (colon == std::string::npos) Die("--redis wants host:port");
      o.redis_host = address.substr(0, colon);
      o.redis_port = std::stoi(address.substr(colon + 1));
    } else if (flag == "--http-port") {
      o.http_port = std::stoi(next(i));
    } else if (flag == "--grpc-port") {
      o.grpc_port = std::stoi(next(i));
    } else if (flag == "--requests") {
      o.requests = std::stoi(next(i));
    } else if (flag == "--warmup") {
      o.warmup = std::stoi(next(i));
    } else if (flag == "--value-bytes") {
      o.value_bytes = std::stoul(next(i));
    } else if (flag == "--app-id") {
      o.app_id = next(i);
    } else if (flag == "--store") {
      o.store = next(i);
    } else if (flag == "--sidecar-pid") {
      o.sidecar_pid = std::stoi(next(i));
    } else if (flag == "--redis-pid") {
      o.redis_pid = std::stoi(next(i));
    } else if (flag == "--scenario") {
      std::string name = next(i);
      if (name == "all") {
        o.scenarios.insert(o.scenarios.end(), kAllScenarios.begin(), kAllScenarios.end());
      } else if (std::find(kAllScenarios.begin(), kAllScenarios.end(), name) == kAllScenarios.end()) {
        Die("unknown scenario " + name);
      } else {
        o.scenarios.push_back(name);
      }
    } else if (flag == "--help" || flag == "-h") {
      std::cout << "usage: state_latency --redis HOST:PORT --http-port N --grpc-port N\n"
                   "  [--scenario NAME|all]... [--requests 20000] [--warmup 2000]\n"
                   "  [--value-bytes 1024] [--sidecar-pid PID] [--redis-pid PID]\n"
                   "  [--app-id bench] [--store statestore]\nscenarios:";
      for (const auto& s : kAllScenarios) std::cout << " " << s;
      std::cout << "\n";
      std::exit(0);
    } else {
      Die("unknown argument " + flag);
    }
  }
  if (o.scenarios.empty()) o.scenarios = kAllScenarios;
  if (o.requests <= 0) Die("--requests must be positive");
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  const Options options = Parse(argc, argv);
  for (const std::string& scenario : options.scenarios) {
    if (scenario.starts_with("redis-")) RunRedis(scenario, options);
    else if (scenario.starts_with("http-")) RunHttp(scenario, options);
    else if (scenario.starts_with("grpc-h2-")) RunGrpcH2(scenario, options);
    else RunGrpc(scenario, options);
  }
  return 0;
}
