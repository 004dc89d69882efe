// pubsub_load: the client of the pub/sub benchmark (bench/pubsub.sh). It publishes to Redis
// Streams straight (hiredis XADD, with the fields daprd writes) or through daprd (HTTP
// POST /v1.0/publish/{pubsub}/{topic}, gRPC Dapr/PublishEvent on the lean nghttp2 client of
// grpc_h2.h), and, end to end, counts and times what arrives: at a direct hiredis consumer
// (XREADGROUP + XACK) in this process, or at bench/pubsub_app behind a subscriber daprd.
// One JSON line on stdout per run.
//
// Modes:
//   --mode latency     closed loop, one connection, one publish in flight: --requests after
//                      --warmup; p50/p90/p99/p99.9/mean.
//   --mode rate        open loop: --rate publishes/s over --connections connections, one thread
//                      each; publish i is due at start + i/rate on connection i mod N, and its
//                      latency runs from that due time (a late answer delays the requests behind
//                      it instead of hiding them). --warmup-seconds, then --seconds counted.
//   --mode e2e         publishers (--connections threads; closed loop at their max rate, or open
//                      loop with --rate) for --warmup-seconds + --seconds; every payload carries
//                      the run, a sequence number and the publish time (steady clock, the same
//                      for every process on the machine). Then it waits up to --drain-seconds
//                      for everything to arrive and reports messages delivered per second within
//                      the counted window and publish-to-delivery latency of those published in it.
//
// Scenarios: redis (straight to Redis; in e2e mode also the direct consumer), http, grpc
// (through daprd; in e2e mode --app-port names the subscriber app that counts deliveries).
//
//   pubsub_load --mode latency|rate|e2e --scenario redis|http|grpc [--redis 127.0.0.1:6379]
//               [--http-port N] [--grpc-port N] [--app-port N --app-dump FILE]
//               [--pubsub pubsub] [--topic bench] [--payload-bytes 1024] [--requests 10000]
//               [--warmup 1000] [--rate 1000] [--connections 1] [--seconds 10]
//               [--warmup-seconds 2] [--drain-seconds 10] [--group bench] [--batch 100]
//               [--source pub] [--pid NAME=PID]...
//
// --pid samples that process's CPU time and memory from /proc at the start and the end of the
// counted part (NAME_cpu_s, NAME_rss_kb, NAME_hwm_kb, NAME_ctxsw); e2e mode also divides the
// CPU by the messages published and delivered in the window (..._per_10k_published/_delivered).
#include <hiredis/hiredis.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <numeric>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "bench/grpc_h2.h"
#include "bench/http1.h"
#include "bench/support.h"
#include "dapr/proto/runtime/v1/dapr.pb.h"

namespace {

using Clock = std::chrono::steady_clock;
using bench::Fail;
using bench::ProcSample;
namespace rt = dapr::proto::runtime::v1;

struct Options {
  std::string mode;
  std::string scenario;
  std::string redis_host = "127.0.0.1";
  int redis_port = 6379;
  int http_port = 0;
  int grpc_port = 0;
  int app_port = 0;
  std::string app_dump;
  std::string pubsub = "pubsub";
  std::string topic = "bench";
  std::string source = "pub";  // the app id daprd writes as the CloudEvent source
  size_t payload_bytes = 1024;
  int requests = 10000;
  int warmup = 1000;
  double rate = 0;
  int connections = 1;
  double seconds = 10;
  double warmup_seconds = 2;
  double drain_seconds = 10;
  std::string group = "bench";
  int batch = 100;  // daprd's XREADGROUP COUNT: the room in its queue, queueDepth (100) at most
  std::vector<std::pair<std::string, int>> pids;
};

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

// Sleeps until the steady clock reads `ns` (CLOCK_MONOTONIC, as steady_clock is on Linux).
void SleepUntilNs(int64_t ns) {
  timespec at{static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, nullptr) == EINTR) {
  }
}

// ---- payloads ------------------------------------------------------------------------------

// What the publishing app sends: JSON with the run, a sequence number and the publish time,
// padded to `bytes`. Keys in alphabetical order, as daprd writes them back inside the event.
std::string Payload(uint32_t run, int64_t seq, int64_t sent_ns, size_t bytes) {
  std::string out = "{\"bench_run\":" + std::to_string(run) +
                    ",\"bench_seq\":" + std::to_string(seq) +
                    ",\"bench_t\":" + std::to_string(sent_ns) + ",\"pad\":\"";
  const size_t tail = 2;  // "}
  if (out.size() + tail < bytes) out.append(bytes - out.size() - tail, 'x');
  out += "\"}";
  return out;
}

// The stamp a payload carries, wherever it sits in `text` (an event, a whole HTTP request).
struct Stamp {
  int64_t run = 0, seq = 0, sent_ns = 0;
};

std::optional<int64_t> NumberAfter(std::string_view text, std::string_view key) {
  const size_t at = text.find(key);
  if (at == std::string_view::npos) return std::nullopt;
  const char* p = text.data() + at + key.size();
  const char* end = text.data() + text.size();
  int64_t value = 0;
  bool any = false;
  for (; p < end && *p >= '0' && *p <= '9'; ++p, any = true) value = value * 10 + (*p - '0');
  if (!any) return std::nullopt;
  return value;
}

std::optional<Stamp> ParseStamp(std::string_view text) {
  auto run = NumberAfter(text, "\"bench_run\":");
  auto seq = NumberAfter(text, "\"bench_seq\":");
  auto sent = NumberAfter(text, "\"bench_t\":");
  if (!run || !seq || !sent) return std::nullopt;
  return Stamp{*run, *seq, *sent};
}

// A CloudEvent as daprd builds it around a JSON payload (blocks/pubsub/cloud_event.cc: the
// same fields, in the same order, a fresh id and trace id each time), so that the direct
// XADD stores as many bytes as daprd's.
class CloudEvents {
 public:
  CloudEvents(const Options& o)
      : pubsub_(o.pubsub), topic_(o.topic), source_(o.source), random_(std::random_device{}()) {}

  std::string Around(const std::string& payload) {
    const std::string trace = "00-" + Hex(16) + "-" + Hex(8) + "-00";
    std::string uuid = Hex(16);
    uuid.insert(20, "-");
    uuid.insert(16, "-");
    uuid.insert(12, "-");
    uuid.insert(8, "-");
    return "{\"data\":" + payload + ",\"datacontenttype\":\"application/json\",\"id\":\"" + uuid +
           "\",\"pubsubname\":\"" + pubsub_ + "\",\"source\":\"" + source_ +
           "\",\"specversion\":\"1.0\",\"time\":\"" + Now() + "\",\"topic\":\"" + topic_ +
           "\",\"traceid\":\"" + trace + "\",\"traceparent\":\"" + trace +
           "\",\"tracestate\":\"\",\"type\":\"com.dapr.event.sent\"}";
  }

 private:
  std::string Hex(int bytes) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    out.reserve(static_cast<size_t>(bytes) * 2);
    for (int i = 0; i < bytes; ++i) {
      const auto b = static_cast<unsigned>(random_() & 0xff);
      out += kHex[b >> 4];
      out += kHex[b & 0xf];
    }
    return out;
  }
  static std::string Now() {
    const std::time_t t = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char text[32];
    std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &tm);
    return text;
  }

  std::string pubsub_, topic_, source_;
  std::minstd_rand random_;
};

// ---- publishers ----------------------------------------------------------------------------

// One connection that publishes, one message at a time. Publish and Repeat return nullptr
// when the publish succeeded, else what went wrong (valid until the next call).
class Publisher {
 public:
  virtual ~Publisher() = default;
  // Publishes `payload` (what the app would send).
  virtual const char* Publish(const std::string& payload) = 0;
  // Publishes the last payload again, as prepared for it (no new serialization).
  virtual const char* Repeat() = 0;
};

struct RedisDeleter {
  void operator()(redisContext* c) const { redisFree(c); }
};
using RedisPtr = std::unique_ptr<redisContext, RedisDeleter>;

RedisPtr ConnectRedis(const Options& o) {
  RedisPtr context(redisConnect(o.redis_host.c_str(), o.redis_port));
  if (!context || context->err) {
    Fail("redis " + o.redis_host + ":" + std::to_string(o.redis_port) + ": " +
         (context ? context->errstr : "out of memory"));
  }
  return context;
}

struct ReplyDeleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using ReplyPtr = std::unique_ptr<redisReply, ReplyDeleter>;

ReplyPtr RedisArgv(redisContext* context, const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<size_t> lengths;
  for (const auto& a : args) {
    argv.push_back(a.data());
    lengths.push_back(a.size());
  }
  auto* reply = static_cast<redisReply*>(
      redisCommandArgv(context, static_cast<int>(args.size()), argv.data(), lengths.data()));
  if (!reply) Fail(std::string("redis: ") + context->errstr);
  return ReplyPtr(reply);
}

// XADD <topic> * data <event> contentType application/cloudevents+json: what daprd's
// pubsub.redis writes for a publish without metadata (components/pubsub/redis/redis_pubsub.cc).
class RedisPublisher final : public Publisher {
 public:
  explicit RedisPublisher(const Options& o)
      : context_(ConnectRedis(o)), events_(o), topic_(o.topic) {}

  const char* Publish(const std::string& payload) override {
    event_ = events_.Around(payload);
    return Repeat();
  }
  const char* Repeat() override {
    const char* argv[] = {"XADD",
                          topic_.c_str(),
                          "*",
                          "data",
                          event_.data(),
                          "contentType",
                          "application/cloudevents+json"};
    const size_t lengths[] = {4, topic_.size(), 1, 4, event_.size(), 11, 28};
    ReplyPtr reply(static_cast<redisReply*>(redisCommandArgv(context_.get(), 7, argv, lengths)));
    if (!reply) Fail(std::string("redis: ") + context_->errstr);
    if (reply->type != REDIS_REPLY_STRING) {
      error_ = "XADD: " + std::string(reply->str ? reply->str : "unexpected reply");
      return error_.c_str();
    }
    return nullptr;
  }
  size_t entry_bytes() const { return 4 + event_.size() + 11 + 28; }

 private:
  RedisPtr context_;
  CloudEvents events_;
  std::string topic_;
  std::string event_;
  std::string error_;
};

// Reads one HTTP/1.1 response from a blocking socket into `buffer` (keeping what follows it);
// its status, and its body in `body`. 0 when the connection closed.
int ReadResponse(int fd, std::string& buffer, std::string* body) {
  for (;;) {
    if (auto response = bench::FirstResponse(buffer)) {
      if (body) {
        const size_t head = buffer.find("\r\n\r\n") + 4;
        body->assign(buffer, head, response->length - std::min(head, response->length));
      }
      buffer.erase(0, response->length);
      return response->status;
    }
    char chunk[16384];
    const ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
    if (n <= 0) return 0;
    buffer.append(chunk, static_cast<size_t>(n));
  }
}

void SendAll(int fd, const std::string& data, const char* what) {
  for (size_t sent = 0; sent < data.size();) {
    const ssize_t n = send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) Fail(std::string(what) + ": send failed");
    sent += static_cast<size_t>(n);
  }
}

// POST /v1.0/publish/{pubsub}/{topic} on one keep-alive connection; 204 is success.
class HttpPublisher final : public Publisher {
 public:
  explicit HttpPublisher(const Options& o)
      : fd_(bench::ConnectLoopback(o.http_port)),
        head_("POST /v1.0/publish/" + o.pubsub + "/" + o.topic +
              " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(o.http_port) +
              "\r\nContent-Type: application/json\r\nContent-Length: ") {}
  ~HttpPublisher() override { close(fd_); }

  const char* Publish(const std::string& payload) override {
    request_ = head_ + std::to_string(payload.size()) + "\r\n\r\n" + payload;
    return Repeat();
  }
  const char* Repeat() override {
    SendAll(fd_, request_, "http publish");
    const int status = ReadResponse(fd_, buffer_, &body_);
    if (status == 0) Fail("http publish: daprd closed the connection");
    if (status != 204) {
      error_ = "HTTP " + std::to_string(status) + ": " + body_.substr(0, 200);
      return error_.c_str();
    }
    return nullptr;
  }

 private:
  int fd_;
  std::string head_;
  std::string request_;
  std::string buffer_;
  std::string body_;
  std::string error_;
};

// Dapr/PublishEvent over HTTP/2 on one blocking socket, one call at a time (grpc_h2.h's
// session; unlike GrpcH2Client, a failed call is reported, not fatal).
class GrpcPublisher final : public Publisher {
 public:
  explicit GrpcPublisher(const Options& o)
      : fd_(bench::ConnectLoopback(o.grpc_port)),
        authority_("127.0.0.1:" + std::to_string(o.grpc_port)),
        session_([this](const bench::UnaryOutcome& outcome) {
          done_ = true;
          error_ = outcome.error ? outcome.error : "";
        }) {
    request_.set_pubsub_name(o.pubsub);
    request_.set_topic(o.topic);
    request_.set_data_content_type("application/json");
  }
  ~GrpcPublisher() override { close(fd_); }

  const char* Publish(const std::string& payload) override {
    request_.set_data(payload);
    call_ = std::make_unique<bench::UnaryCall>(
        authority_, "/dapr.proto.runtime.v1.Dapr/PublishEvent", request_);
    return Repeat();
  }
  const char* Repeat() override {
    done_ = false;
    session_.Submit(*call_);
    Flush();
    while (!done_) {
      const ssize_t n = recv(fd_, read_buffer_.data(), read_buffer_.size(), 0);
      if (n <= 0) Fail("grpc publish: daprd closed the connection");
      if (!session_.Receive(read_buffer_.data(), static_cast<size_t>(n)))
        Fail("grpc publish: " + session_.error());
      if (!done_ && session_.WantsWrite()) Flush();
    }
    return error_.empty() ? nullptr : error_.c_str();
  }

 private:
  void Flush() {
    write_buffer_.clear();
    if (!session_.TakeOutput(write_buffer_)) Fail("grpc publish: " + session_.error());
    SendAll(fd_, write_buffer_, "grpc publish");
  }

  int fd_;
  std::string authority_;
  bench::GrpcH2Session session_;
  rt::PublishEventRequest request_;
  std::unique_ptr<bench::UnaryCall> call_;
  std::array<uint8_t, 64 << 10> read_buffer_;
  std::string write_buffer_;
  bool done_ = false;
  std::string error_;
};

std::unique_ptr<Publisher> MakePublisher(const Options& o) {
  if (o.scenario == "redis") return std::make_unique<RedisPublisher>(o);
  if (o.scenario == "http") return std::make_unique<HttpPublisher>(o);
  return std::make_unique<GrpcPublisher>(o);
}

// ---- figures -------------------------------------------------------------------------------

double Percentile(const std::vector<int64_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  const size_t index =
      static_cast<size_t>(p / 100.0 * static_cast<double>(sorted.size() - 1) + 0.5);
  return static_cast<double>(sorted[std::min(index, sorted.size() - 1)]) / 1000.0;
}

// ,"<prefix>p50_us":..,... for latencies in ns (sorted here).
void AppendLatency(std::ostream& out, const std::string& prefix, std::vector<int64_t>& ns) {
  std::sort(ns.begin(), ns.end());
  const double mean = ns.empty() ? 0
                                 : std::accumulate(ns.begin(), ns.end(), 0.0) /
                                       static_cast<double>(ns.size()) / 1000.0;
  out << ",\"" << prefix << "count\":" << ns.size() << ",\"" << prefix
      << "p50_us\":" << Percentile(ns, 50) << ",\"" << prefix << "p90_us\":" << Percentile(ns, 90)
      << ",\"" << prefix << "p99_us\":" << Percentile(ns, 99) << ",\"" << prefix
      << "p999_us\":" << Percentile(ns, 99.9) << ",\"" << prefix
      << "max_us\":" << Percentile(ns, 100) << ",\"" << prefix << "mean_us\":" << mean;
}

// The processes named with --pid, sampled at the start and the end of the counted window.
class ProcWindow {
 public:
  explicit ProcWindow(const Options& o) : pids_(o.pids) {}
  void Start() {
    before_.clear();
    for (const auto& [name, pid] : pids_) before_.push_back(bench::SampleProcess(pid));
    self_before_ = bench::SelfCpuSeconds();
  }
  void End() {
    after_.clear();
    for (const auto& [name, pid] : pids_) after_.push_back(bench::SampleProcess(pid));
    self_after_ = bench::SelfCpuSeconds();
  }
  // The figures of every process; per-10k figures for each count given (name, count).
  void Append(std::ostream& out, const std::vector<std::pair<std::string, long>>& counts) const {
    out << ",\"client_cpu_s\":" << self_after_ - self_before_;
    for (size_t i = 0; i < pids_.size(); ++i) {
      if (!before_[i] || !after_[i]) continue;
      const std::string& name = pids_[i].first;
      const double cpu = after_[i]->cpu_seconds - before_[i]->cpu_seconds;
      out << ",\"" << name << "_cpu_s\":" << cpu << ",\"" << name
          << "_rss_kb\":" << after_[i]->rss_kb << ",\"" << name << "_hwm_kb\":" << after_[i]->hwm_kb
          << ",\"" << name << "_ctxsw\":" << bench::SwitchesBetween(*before_[i], *after_[i]);
      for (const auto& [what, count] : counts) {
        out << ",\"" << name << "_cpu_s_per_10k" << what
            << "\":" << cpu * 10000.0 / static_cast<double>(std::max(count, 1L));
      }
    }
  }

 private:
  std::vector<std::pair<std::string, int>> pids_;
  std::vector<std::optional<ProcSample>> before_, after_;
  double self_before_ = 0, self_after_ = 0;
};

std::string Head(const Options& o) {
  std::ostringstream out;
  out << "{\"mode\":\"" << o.mode << "\",\"scenario\":\"" << o.scenario << "\",\"topic\":\""
      << o.topic << "\",\"payload_bytes\":" << o.payload_bytes;
  return out.str();
}

// ---- mode latency --------------------------------------------------------------------------

void RunLatency(const Options& o) {
  auto publisher = MakePublisher(o);
  if (const char* error = publisher->Publish(Payload(1, 0, 0, o.payload_bytes)))
    Fail(o.scenario + ": " + error);
  for (int i = 0; i < o.warmup; ++i) {
    if (const char* error = publisher->Repeat()) Fail(o.scenario + ": " + error);
  }
  std::vector<int64_t> ns;
  ns.reserve(static_cast<size_t>(o.requests));
  ProcWindow procs(o);
  procs.Start();
  const auto start = Clock::now();
  for (int i = 0; i < o.requests; ++i) {
    const auto t0 = Clock::now();
    if (const char* error = publisher->Repeat()) Fail(o.scenario + ": " + error);
    ns.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count());
  }
  const double wall = std::chrono::duration<double>(Clock::now() - start).count();
  procs.End();
  std::ostringstream out;
  out.setf(std::ios::fixed);
  out.precision(2);
  out << Head(o) << ",\"requests\":" << o.requests << ",\"warmup\":" << o.warmup;
  if (auto* redis = dynamic_cast<RedisPublisher*>(publisher.get()))
    out << ",\"entry_bytes\":" << redis->entry_bytes();
  AppendLatency(out, "", ns);
  out << ",\"throughput_rps\":" << o.requests / wall;
  out.precision(4);
  procs.Append(out, {{"", o.requests}});
  out << "}";
  std::cout << out.str() << std::endl;
}

// ---- mode rate -----------------------------------------------------------------------------

// One thread's share of an open-loop run.
struct RateShare {
  std::vector<int64_t> latency_ns, lag_ns;
  long errors = 0;
  std::string first_error;
};

void RunRate(const Options& o) {
  if (o.rate <= 0) Fail("--mode rate needs --rate");
  const int n = o.connections;
  std::vector<std::unique_ptr<Publisher>> publishers;
  const std::string payload = Payload(1, 0, 0, o.payload_bytes);
  for (int k = 0; k < n; ++k) {
    publishers.push_back(MakePublisher(o));
    if (const char* error = publishers.back()->Publish(payload)) Fail(o.scenario + ": " + error);
  }
  std::vector<RateShare> shares(static_cast<size_t>(n));
  const int64_t start = NowNs() + 50'000'000;
  const int64_t window_start = start + static_cast<int64_t>(o.warmup_seconds * 1e9);
  const int64_t window_end = window_start + static_cast<int64_t>(o.seconds * 1e9);
  const double interval_ns = 1e9 / o.rate;
  std::vector<std::thread> threads;
  for (int k = 0; k < n; ++k) {
    threads.emplace_back([&, k] {
      prctl(PR_SET_TIMERSLACK, 1UL);  // wake at the due time, not up to 50 µs after it
      RateShare& share = shares[static_cast<size_t>(k)];
      Publisher& publisher = *publishers[static_cast<size_t>(k)];
      for (int64_t i = k;; i += n) {
        const int64_t due = start + static_cast<int64_t>(static_cast<double>(i) * interval_ns);
        if (due >= window_end) break;
        SleepUntilNs(due);
        const int64_t sent = NowNs();
        const char* error = publisher.Repeat();
        const int64_t done = NowNs();
        if (due < window_start) continue;
        if (error) {
          if (share.errors++ == 0) share.first_error = error;
          continue;
        }
        share.latency_ns.push_back(done - due);
        share.lag_ns.push_back(sent - due);
      }
    });
  }
  ProcWindow procs(o);
  SleepUntilNs(window_start);
  procs.Start();
  SleepUntilNs(window_end);
  for (auto& t : threads) t.join();
  procs.End();
  std::vector<int64_t> latency, lag;
  long errors = 0;
  std::string first_error;
  for (auto& s : shares) {
    latency.insert(latency.end(), s.latency_ns.begin(), s.latency_ns.end());
    lag.insert(lag.end(), s.lag_ns.begin(), s.lag_ns.end());
    errors += s.errors;
    if (first_error.empty()) first_error = s.first_error;
  }
  std::ostringstream out;
  out.setf(std::ios::fixed);
  out.precision(2);
  out << Head(o) << ",\"rate\":" << o.rate << ",\"connections\":" << n
      << ",\"seconds\":" << o.seconds << ",\"warmup_seconds\":" << o.warmup_seconds
      << ",\"achieved_rps\":" << latency.size() / o.seconds << ",\"errors\":" << errors;
  AppendLatency(out, "", latency);
  std::sort(lag.begin(), lag.end());
  out << ",\"send_lag_p50_us\":" << Percentile(lag, 50)
      << ",\"send_lag_p99_us\":" << Percentile(lag, 99);
  out.precision(4);
  procs.Append(out, {{"", static_cast<long>(latency.size())}});
  if (!first_error.empty()) out << ",\"first_error\":\"" << first_error.substr(0, 100) << "\"";
  out << "}";
  std::cout << out.str() << std::endl;
}

// ---- mode e2e ------------------------------------------------------------------------------

// One delivery, as the direct consumer or pubsub_app records it (pubsub_app's dump file is an
// array of these).
struct Record {
  int64_t run, seq, sent_ns, recv_ns;
};

// Distinct sequence numbers seen, for duplicates and for knowing when everything arrived.
class Seen {
 public:
  bool Add(int64_t seq) {
    if (seq < 0 || seq > 100'000'000) return false;
    const auto at = static_cast<size_t>(seq);
    if (at >= bits_.size()) bits_.resize(std::max(at + 1, bits_.size() * 2), false);
    if (bits_[at]) return false;
    bits_[at] = true;
    return true;
  }

 private:
  std::vector<bool> bits_;
};

// The direct baseline's consumer: XREADGROUP GROUP <group> c COUNT <batch> BLOCK 100, then
// one XACK per entry, as daprd acks them, pipelined in one write per batch.
class DirectConsumer {
 public:
  DirectConsumer(const Options& o, std::string group)
      : o_(o), group_(std::move(group)), context_(ConnectRedis(o)) {
    // "$": only what is published from now on, in a group of its own (one per run).
    ReplyPtr created =
        RedisArgv(context_.get(), {"XGROUP", "CREATE", o.topic, group_, "$", "MKSTREAM"});
    if (created->type == REDIS_REPLY_ERROR) Fail("XGROUP CREATE: " + std::string(created->str));
  }
  void Start(uint32_t run) {
    thread_ = std::thread([this, run] { Loop(run); });
  }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  long distinct() const { return distinct_.load(); }
  std::vector<Record>& records() { return records_; }

 private:
  void Loop(uint32_t run) {
    const std::string count = std::to_string(o_.batch);
    std::vector<std::string> ids;
    Seen seen;
    while (!stop_) {
      ReplyPtr reply =
          RedisArgv(context_.get(), {"XREADGROUP", "GROUP", group_, "consumer", "COUNT", count,
                                     "BLOCK", "100", "STREAMS", o_.topic, ">"});
      if (reply->type == REDIS_REPLY_ERROR) Fail("XREADGROUP: " + std::string(reply->str));
      if (reply->type != REDIS_REPLY_ARRAY) continue;  // nil: nothing within the block
      ids.clear();
      for (size_t s = 0; s < reply->elements; ++s) {
        const redisReply* stream = reply->element[s];
        if (stream->type != REDIS_REPLY_ARRAY || stream->elements < 2) continue;
        const redisReply* entries = stream->element[1];
        for (size_t e = 0; e < entries->elements; ++e) {
          const redisReply* entry = entries->element[e];
          if (entry->type != REDIS_REPLY_ARRAY || entry->elements < 2) continue;
          ids.emplace_back(entry->element[0]->str, entry->element[0]->len);
          const redisReply* fields = entry->element[1];
          for (size_t f = 0; f + 1 < fields->elements; f += 2) {
            if (std::string_view(fields->element[f]->str, fields->element[f]->len) != "data")
              continue;
            auto stamp = ParseStamp(
                std::string_view(fields->element[f + 1]->str, fields->element[f + 1]->len));
            if (!stamp || stamp->run != run) continue;
            records_.push_back({stamp->run, stamp->seq, stamp->sent_ns, NowNs()});
            if (seen.Add(stamp->seq)) distinct_.fetch_add(1);
          }
        }
      }
      for (const auto& id : ids) {
        const char* argv[] = {"XACK", o_.topic.c_str(), group_.c_str(), id.c_str()};
        const size_t lengths[] = {4, o_.topic.size(), group_.size(), id.size()};
        redisAppendCommandArgv(context_.get(), 4, argv, lengths);
      }
      for (size_t i = 0; i < ids.size(); ++i) {
        void* raw = nullptr;
        if (redisGetReply(context_.get(), &raw) != REDIS_OK)
          Fail(std::string("XACK: ") + context_->errstr);
        ReplyPtr ack(static_cast<redisReply*>(raw));
        if (ack->type != REDIS_REPLY_INTEGER) Fail("XACK: unexpected reply");
      }
    }
  }

  const Options& o_;
  std::string group_;
  RedisPtr context_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<long> distinct_{0};
  std::vector<Record> records_;
};

// A request to pubsub_app on a connection of its own; the body of a 200.
std::string AppCall(int port, const std::string& method, const std::string& path) {
  const int fd = bench::ConnectLoopback(port);
  SendAll(fd, method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n",
          "app");
  std::string buffer, body;
  const int status = ReadResponse(fd, buffer, &body);
  close(fd);
  if (status != 200) Fail("app " + method + " " + path + ": status " + std::to_string(status));
  return body;
}

struct PublishShare {
  std::vector<int64_t> latency_ns;  // of the publishes started in the window
  long published = 0;               // successful, in all
  long published_in_window = 0;
  long errors = 0;
  std::string first_error;
};

void RunE2e(const Options& o) {
  const bool direct = o.scenario == "redis";
  if (!direct && (o.app_port <= 0 || o.app_dump.empty()))
    Fail("--mode e2e through daprd needs --app-port and --app-dump");
  const uint32_t run = std::random_device{}() % 1'000'000'000 + 1;
  std::unique_ptr<DirectConsumer> consumer;
  if (direct) {
    consumer = std::make_unique<DirectConsumer>(o, o.group + "-" + std::to_string(run));
    consumer->Start(run);
  }
  const int n = o.connections;
  std::vector<std::unique_ptr<Publisher>> publishers;
  for (int k = 0; k < n; ++k) publishers.push_back(MakePublisher(o));
  std::vector<PublishShare> shares(static_cast<size_t>(n));
  std::atomic<int64_t> next_seq{0};
  const int64_t start = NowNs() + 50'000'000;
  const int64_t window_start = start + static_cast<int64_t>(o.warmup_seconds * 1e9);
  const int64_t window_end = window_start + static_cast<int64_t>(o.seconds * 1e9);
  const double interval_ns = o.rate > 0 ? 1e9 / o.rate : 0;
  std::vector<std::thread> threads;
  for (int k = 0; k < n; ++k) {
    threads.emplace_back([&, k] {
      prctl(PR_SET_TIMERSLACK, 1UL);
      PublishShare& share = shares[static_cast<size_t>(k)];
      Publisher& publisher = *publishers[static_cast<size_t>(k)];
      SleepUntilNs(start);
      for (int64_t i = k;; i += n) {
        int64_t due = 0;
        if (interval_ns > 0) {
          due = start + static_cast<int64_t>(static_cast<double>(i) * interval_ns);
          if (due >= window_end) break;
          SleepUntilNs(due);
        }
        const int64_t sent = NowNs();
        if (interval_ns <= 0) {
          if (sent >= window_end) break;
          due = sent;
        }
        const char* error =
            publisher.Publish(Payload(run, next_seq.fetch_add(1), sent, o.payload_bytes));
        const int64_t done = NowNs();
        const bool counted = due >= window_start && due < window_end;
        if (error) {
          if (counted && share.errors++ == 0) share.first_error = error;
          continue;
        }
        ++share.published;
        if (!counted) continue;
        ++share.published_in_window;
        share.latency_ns.push_back(done - due);
      }
    });
  }
  ProcWindow procs(o);
  SleepUntilNs(window_start);
  procs.Start();
  SleepUntilNs(window_end);
  procs.End();
  for (auto& t : threads) t.join();
  const int64_t publishers_done = NowNs();

  long published = 0, published_in_window = 0, errors = 0;
  std::vector<int64_t> publish_ns;
  std::string first_error;
  for (auto& s : shares) {
    published += s.published;
    published_in_window += s.published_in_window;
    errors += s.errors;
    publish_ns.insert(publish_ns.end(), s.latency_ns.begin(), s.latency_ns.end());
    if (first_error.empty()) first_error = s.first_error;
  }

  // Everything published should arrive; wait for it, at most --drain-seconds.
  auto distinct = [&]() -> long {
    if (direct) return consumer->distinct();
    const std::string body = AppCall(o.app_port, "GET", "/count?run=" + std::to_string(run));
    return static_cast<long>(NumberAfter(body, "\"distinct\":").value_or(0));
  };
  const int64_t drain_deadline = publishers_done + static_cast<int64_t>(o.drain_seconds * 1e9);
  long arrived = distinct();
  while (arrived < published && NowNs() < drain_deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    arrived = distinct();
  }
  const double drain_s = static_cast<double>(NowNs() - publishers_done) / 1e9;

  std::vector<Record> records;
  if (direct) {
    consumer->Stop();
    records = std::move(consumer->records());
  } else {
    AppCall(o.app_port, "POST", "/dump");
    std::ifstream in(o.app_dump, std::ios::binary);
    Record r{};
    while (in.read(reinterpret_cast<char*>(&r), sizeof(r))) {
      if (r.run == run) records.push_back(r);
    }
  }
  long delivered_in_window = 0;
  std::vector<int64_t> e2e_ns;
  Seen seen;
  long duplicates = 0;
  for (const Record& r : records) {
    if (!seen.Add(r.seq)) ++duplicates;
    if (r.recv_ns >= window_start && r.recv_ns < window_end) ++delivered_in_window;
    if (r.sent_ns >= window_start && r.sent_ns < window_end)
      e2e_ns.push_back(r.recv_ns - r.sent_ns);
  }
  const long distinct_all = static_cast<long>(records.size()) - duplicates;

  std::ostringstream out;
  out.setf(std::ios::fixed);
  out.precision(2);
  out << Head(o) << ",\"rate\":" << o.rate << ",\"connections\":" << n
      << ",\"seconds\":" << o.seconds << ",\"warmup_seconds\":" << o.warmup_seconds
      << ",\"run\":" << run << ",\"published\":" << published
      << ",\"published_in_window\":" << published_in_window
      << ",\"publish_rps\":" << published_in_window / o.seconds << ",\"errors\":" << errors
      << ",\"delivered\":" << distinct_all << ",\"duplicates\":" << duplicates
      << ",\"undelivered\":" << published - distinct_all
      << ",\"delivered_in_window\":" << delivered_in_window
      << ",\"delivered_rps\":" << delivered_in_window / o.seconds << ",\"drain_s\":" << drain_s;
  AppendLatency(out, "publish_", publish_ns);
  AppendLatency(out, "e2e_", e2e_ns);
  out << ",\"e2e_sent_in_window\":" << published_in_window;
  out.precision(4);
  procs.Append(out, {{"_published", published_in_window}, {"_delivered", delivered_in_window}});
  if (!first_error.empty()) out << ",\"first_error\":\"" << first_error.substr(0, 100) << "\"";
  out << "}";
  std::cout << out.str() << std::endl;
}

// ---- flags ---------------------------------------------------------------------------------

Options Parse(int argc, char** argv) {
  Options o;
  auto next = [&](int& i) -> std::string {
    if (i + 1 >= argc) Fail(std::string("missing value for ") + argv[i]);
    return argv[++i];
  };
  // Flags with one value: where it goes.
  const std::map<std::string, std::function<void(const std::string&)>> values = {
      {"--mode", [&](const std::string& v) { o.mode = v; }},
      {"--scenario", [&](const std::string& v) { o.scenario = v; }},
      {"--http-port", [&](const std::string& v) { o.http_port = std::stoi(v); }},
      {"--grpc-port", [&](const std::string& v) { o.grpc_port = std::stoi(v); }},
      {"--app-port", [&](const std::string& v) { o.app_port = std::stoi(v); }},
      {"--app-dump", [&](const std::string& v) { o.app_dump = v; }},
      {"--pubsub", [&](const std::string& v) { o.pubsub = v; }},
      {"--topic", [&](const std::string& v) { o.topic = v; }},
      {"--source", [&](const std::string& v) { o.source = v; }},
      {"--payload-bytes", [&](const std::string& v) { o.payload_bytes = std::stoul(v); }},
      {"--requests", [&](const std::string& v) { o.requests = std::stoi(v); }},
      {"--warmup", [&](const std::string& v) { o.warmup = std::stoi(v); }},
      {"--rate", [&](const std::string& v) { o.rate = std::stod(v); }},
      {"--connections", [&](const std::string& v) { o.connections = std::stoi(v); }},
      {"--seconds", [&](const std::string& v) { o.seconds = std::stod(v); }},
      {"--warmup-seconds", [&](const std::string& v) { o.warmup_seconds = std::stod(v); }},
      {"--drain-seconds", [&](const std::string& v) { o.drain_seconds = std::stod(v); }},
      {"--group", [&](const std::string& v) { o.group = v; }},
      {"--batch", [&](const std::string& v) { o.batch = std::stoi(v); }},
  };
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (auto it = values.find(flag); it != values.end()) {
      it->second(next(i));
    } else if (flag == "--redis") {
      const std::string address = next(i);
      const size_t colon = address.rfind(':');
      if (colon == std::string::npos) Fail("--redis wants host:port");
      o.redis_host = address.substr(0, colon);
      o.redis_port = std::stoi(address.substr(colon + 1));
    } else if (flag == "--pid") {
      const std::string spec = next(i);
      const size_t eq = spec.find('=');
      if (eq == std::string::npos) Fail("--pid wants NAME=PID");
      o.pids.emplace_back(spec.substr(0, eq), std::stoi(spec.substr(eq + 1)));
    } else if (flag == "--help" || flag == "-h") {
      std::cout
          << "usage: pubsub_load --mode latency|rate|e2e --scenario redis|http|grpc\n"
             "  [--redis HOST:PORT] [--http-port N] [--grpc-port N]\n"
             "  [--app-port N --app-dump FILE]                      (e2e through daprd)\n"
             "  [--pubsub pubsub] [--topic bench] [--source pub] [--payload-bytes 1024]\n"
             "  [--requests 10000] [--warmup 1000]                 (latency)\n"
             "  [--rate R] [--connections 1] [--seconds 10] [--warmup-seconds 2]  (rate, e2e)\n"
             "  [--drain-seconds 10] [--group bench] [--batch 100]  (e2e)\n"
             "  [--pid NAME=PID]...\n";
      std::exit(0);
    } else {
      Fail("unknown argument " + flag);
    }
  }
  if (o.mode != "latency" && o.mode != "rate" && o.mode != "e2e") Fail("--mode latency|rate|e2e");
  if (o.scenario != "redis" && o.scenario != "http" && o.scenario != "grpc")
    Fail("--scenario redis|http|grpc");
  if (o.scenario == "http" && o.http_port <= 0) Fail("--scenario http needs --http-port");
  if (o.scenario == "grpc" && o.grpc_port <= 0) Fail("--scenario grpc needs --grpc-port");
  if (o.connections <= 0 || o.requests <= 0 || o.seconds <= 0)
    Fail("--connections, --requests, --seconds must be positive");
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  const Options options = Parse(argc, argv);
  if (options.mode == "latency")
    RunLatency(options);
  else if (options.mode == "rate")
    RunRate(options);
  else
    RunE2e(options);
  return 0;
}
