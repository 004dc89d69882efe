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
#include <grpcpp/grpcpp.h>
#include <hiredis/hiredis.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <iostream>
#include <memory>
#include <numeric>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "bench/grpc_h2.h"
#include "bench/support.h"
#include "components/state/redis/redis_scripts.h"
#include "dapr/proto/runtime/v1/dapr.grpc.pb.h"

namespace {

using Clock = std::chrono::steady_clock;
using bench::ProcSample;
using bench::SampleProcess;
using bench::SelfCpuSeconds;
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

[[noreturn]] void Die(const std::string& message) { bench::Fail(message); }

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
  explicit HttpClient(int port) : fd_(bench::ConnectLoopback(port)) {}
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

// ---- the measuring loop -------------------------------------------------------------------

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
  bench::AppendProcJson(out, "sidecar", result.sidecar_before, result.sidecar_after, options.requests);
  bench::AppendProcJson(out, "redis", result.redis_before, result.redis_after, options.requests);
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
  bench::GrpcH2Client client(o.grpc_port);
  const GrpcRequests requests(o);
  const rt::SaveStateRequest& save_request = requests.save;
  const rt::GetStateRequest& get_request = requests.get;
  // Serialized and framed once, outside the timed loop, like the HTTP scenarios' requests.
  const bench::UnaryCall save(client.authority(), "/dapr.proto.runtime.v1.Dapr/SaveState", save_request);
  const bench::UnaryCall get(client.authority(), "/dapr.proto.runtime.v1.Dapr/GetState", get_request);
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
