// pubsub_app: the subscriber app of the pub/sub benchmark (bench/pubsub.sh), behind a daprd
// started with --app-port. Over HTTP/1.1 on one thread and one event loop, as trivial as it
// can be, so that it is never the bottleneck:
//   GET  /dapr/subscribe  [{"pubsubname":P,"topic":T,"route":"/events"}, ...] for each topic
//   POST /events          a delivery: the stamp of pubsub_load's payload (bench_run,
//                         bench_seq, bench_t: the publish time on the steady clock, which every
//                         process on the machine shares) is recorded with the time it arrived;
//                         answered 200 {"status":"SUCCESS"}
//   GET  /count?run=R     {"records":N,"distinct":D,"unstamped":U} (D: of run R)
//   POST /dump            writes every record to --dump-file, as pubsub_load reads it (four
//                         int64 each: run, seq, sent_ns, recv_ns), and answers {"records":N}
//   POST /reset           forgets every record
//
//   pubsub_app --port N --topics a[,b...] --dump-file PATH [--pubsub pubsub]
#include <time.h>

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/write.hpp>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bench/http1.h"
#include "bench/support.h"

namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Socket = asio::basic_stream_socket<tcp, asio::io_context::executor_type>;
using Acceptor = asio::basic_socket_acceptor<tcp, asio::io_context::executor_type>;

struct Record {
  int64_t run, seq, sent_ns, recv_ns;
};

// What the app has seen; one thread touches it.
struct State {
  std::string subscribe_json;
  std::string dump_file;
  std::vector<Record> records;
  std::map<int64_t, std::vector<bool>> seen;  // per run, by sequence number
  std::map<int64_t, long> distinct;
  long unstamped = 0;
};
State state;

int64_t NowNs() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);  // what std::chrono::steady_clock reads
  return static_cast<int64_t>(now.tv_sec) * 1000000000 + now.tv_nsec;
}

std::optional<int64_t> NumberAfter(std::string_view text, std::string_view key) {
  const size_t at = text.find(key);
  if (at == std::string_view::npos) return std::nullopt;
  int64_t value = 0;
  bool any = false;
  for (size_t i = at + key.size(); i < text.size() && text[i] >= '0' && text[i] <= '9';
       ++i, any = true) {
    value = value * 10 + (text[i] - '0');
  }
  if (!any) return std::nullopt;
  return value;
}

// A delivery: the stamp is in the event's data, wherever in the request it sits.
void Note(std::string_view request) {
  const int64_t now = NowNs();
  auto run = NumberAfter(request, "\"bench_run\":");
  auto seq = NumberAfter(request, "\"bench_seq\":");
  auto sent = NumberAfter(request, "\"bench_t\":");
  if (!run || !seq || !sent || *seq < 0 || *seq > 100'000'000) {
    ++state.unstamped;
    return;
  }
  state.records.push_back({*run, *seq, *sent, now});
  auto& bits = state.seen[*run];
  const auto at = static_cast<size_t>(*seq);
  if (at >= bits.size()) bits.resize(std::max(at + 1, bits.size() * 2), false);
  if (!bits[at]) {
    bits[at] = true;
    ++state.distinct[*run];
  }
}

std::string Response(int status, std::string_view body, bool close) {
  std::string out = status == 200 ? "HTTP/1.1 200 OK\r\n" : "HTTP/1.1 404 Not Found\r\n";
  out +=
      "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  if (close) out += "Connection: close\r\n";
  out += "\r\n";
  out += body;
  return out;
}

std::string Answer(std::string_view request, bool close) {
  const size_t space = request.find(' ');
  const size_t path_end = request.find(' ', space + 1);
  if (space == std::string_view::npos || path_end == std::string_view::npos)
    return Response(404, "", close);
  const std::string_view method = request.substr(0, space);
  const std::string_view path = request.substr(space + 1, path_end - space - 1);
  if (method == "POST" && path == "/events") {
    Note(request);
    return Response(200, R"({"status":"SUCCESS"})", close);
  }
  if (method == "GET" && path == "/dapr/subscribe")
    return Response(200, state.subscribe_json, close);
  if (method == "GET" && path.starts_with("/count")) {
    const int64_t run = NumberAfter(path, "run=").value_or(0);
    const auto it = state.distinct.find(run);
    return Response(200,
                    "{\"records\":" + std::to_string(state.records.size()) + ",\"distinct\":" +
                        std::to_string(it == state.distinct.end() ? 0 : it->second) +
                        ",\"unstamped\":" + std::to_string(state.unstamped) + "}",
                    close);
  }
  if (method == "POST" && path == "/dump") {
    std::ofstream out(state.dump_file, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(state.records.data()),
              static_cast<std::streamsize>(state.records.size() * sizeof(Record)));
    out.close();
    if (!out) bench::Fail("cannot write " + state.dump_file);
    return Response(200, "{\"records\":" + std::to_string(state.records.size()) + "}", close);
  }
  if (method == "POST" && path == "/reset") {
    state.records.clear();
    state.seen.clear();
    state.distinct.clear();
    state.unstamped = 0;
    return Response(200, "{}", close);
  }
  return Response(404, "", close);
}

// One connection: read, answer every whole request read so far in one write, repeat.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  explicit Connection(Socket socket) : socket_(std::move(socket)) {}

  void Read() {
    socket_.async_read_some(asio::buffer(chunk_),
                            [self = shared_from_this()](boost::system::error_code ec, size_t n) {
                              if (ec) return;
                              self->in_.append(self->chunk_.data(), n);
                              self->Serve();
                            });
  }

 private:
  void Serve() {
    out_.clear();
    bool close = false;
    size_t used = 0;
    while (!close) {
      const std::string_view rest = std::string_view(in_).substr(used);
      auto request = bench::FirstRequest(rest);
      if (!request) break;
      close = request->close;
      out_ += Answer(rest.substr(0, request->length), close);
      used += request->length;
    }
    in_.erase(0, used);
    if (out_.empty()) return Read();
    asio::async_write(socket_, asio::buffer(out_),
                      [self = shared_from_this(), close](boost::system::error_code ec, size_t) {
                        if (ec) return;
                        if (close) {
                          self->socket_.shutdown(tcp::socket::shutdown_send, ec);
                          return;
                        }
                        self->Read();
                      });
  }

  Socket socket_;
  std::array<char, 65536> chunk_;
  std::string in_;
  std::string out_;
};

void Accept(Acceptor& acceptor) {
  acceptor.async_accept([&acceptor](boost::system::error_code ec, Socket socket) {
    if (!acceptor.is_open()) return;
    if (!ec) {
      socket.set_option(tcp::no_delay(true), ec);
      std::make_shared<Connection>(std::move(socket))->Read();
    }
    Accept(acceptor);
  });
}

}  // namespace

int main(int argc, char** argv) {
  int port = 0;
  std::string pubsub = "pubsub";
  std::vector<std::string> topics;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (i + 1 < argc && flag == "--port") {
      port = std::atoi(argv[++i]);
    } else if (i + 1 < argc && flag == "--pubsub") {
      pubsub = argv[++i];
    } else if (i + 1 < argc && flag == "--dump-file") {
      state.dump_file = argv[++i];
    } else if (i + 1 < argc && flag == "--topics") {
      std::string list = argv[++i];
      for (size_t at = 0; at <= list.size();) {
        size_t comma = list.find(',', at);
        if (comma == std::string::npos) comma = list.size();
        if (comma > at) topics.push_back(list.substr(at, comma - at));
        at = comma + 1;
      }
    } else {
      std::cerr
          << "usage: pubsub_app --port N --topics a[,b...] --dump-file PATH [--pubsub pubsub]\n";
      return flag == "--help" || flag == "-h" ? 0 : 2;
    }
  }
  if (port <= 0 || port > 65535 || topics.empty() || state.dump_file.empty()) {
    bench::Fail("give --port, --topics and --dump-file");
  }
  state.subscribe_json = "[";
  for (const auto& topic : topics) {
    if (state.subscribe_json.size() > 1) state.subscribe_json += ",";
    state.subscribe_json +=
        "{\"pubsubname\":\"" + pubsub + "\",\"topic\":\"" + topic + "\",\"route\":\"/events\"}";
  }
  state.subscribe_json += "]";
  state.records.reserve(1 << 20);

  asio::io_context loop(1);
  Acceptor acceptor(loop);
  const tcp::endpoint at(asio::ip::make_address("127.0.0.1"), static_cast<uint16_t>(port));
  acceptor.open(at.protocol());
  acceptor.set_option(tcp::acceptor::reuse_address(true));
  acceptor.bind(at);
  acceptor.listen(1024);
  Accept(acceptor);
  asio::signal_set stop(loop, SIGINT, SIGTERM);
  stop.async_wait([&](boost::system::error_code, int) {
    boost::system::error_code ignored;
    acceptor.close(ignored);
    loop.stop();
  });
  loop.run();
  return 0;
}
