// invoke_app: the trivial app behind the service invocation benchmark, as in Dapr's own
// method. Over HTTP/1.1 it answers every request 200 with an empty body and keeps the
// connection; over gRPC it answers AppCallback/OnInvoke with an empty InvokeResponse
// (through the sidecar's own gRPC server, src/api/grpc/server.h). Both on one thread and one
// event loop, so that the app costs as little as it can and is never the bottleneck.
//
//   invoke_app [--http-port N] [--grpc-port N]     (127.0.0.1; at least one of them)
#include <signal.h>
#include <strings.h>

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/write.hpp>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "api/grpc/server.h"
#include "bench/http1.h"
#include "bench/support.h"

namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
// The loop's own executor type, not Asio's type-erased default, which allocates per operation.
using Socket = asio::basic_stream_socket<tcp, asio::io_context::executor_type>;
using Acceptor = asio::basic_socket_acceptor<tcp, asio::io_context::executor_type>;

constexpr std::string_view kOk = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
constexpr std::string_view kOkClose =
    "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

// One client connection: read, answer every whole request read so far in one write, repeat.
class HttpConnection : public std::enable_shared_from_this<HttpConnection> {
 public:
  explicit HttpConnection(Socket socket) : socket_(std::move(socket)) {
    in_.reserve(sizeof(chunk_));
  }

  void Read() {
    socket_.async_read_some(asio::buffer(chunk_), [self = shared_from_this()](
                                                      boost::system::error_code ec, size_t n) {
      if (ec) return;
      self->in_.append(self->chunk_.data(), n);
      self->Answer();
    });
  }

 private:
  void Answer() {
    out_.clear();
    bool close = false;
    size_t used = 0;
    while (!close) {
      auto request = bench::FirstRequest(std::string_view(in_).substr(used));
      if (!request) break;
      used += request->length;
      close = request->close;
      out_ += close ? kOkClose : kOk;
    }
    in_.erase(0, used);
    if (out_.empty()) return Read();
    asio::async_write(socket_, asio::buffer(out_), [self = shared_from_this(), close](
                                                       boost::system::error_code ec, size_t) {
      if (ec) return;
      if (close) {
        self->socket_.shutdown(tcp::socket::shutdown_send, ec);
        return;
      }
      self->Read();
    });
  }

  Socket socket_;
  std::array<char, 16384> chunk_;
  std::string in_;
  std::string out_;
};

void Accept(Acceptor& acceptor) {
  acceptor.async_accept([&acceptor](boost::system::error_code ec, Socket socket) {
    if (!acceptor.is_open()) return;
    if (!ec) {
      socket.set_option(tcp::no_delay(true), ec);
      std::make_shared<HttpConnection>(std::move(socket))->Read();
    }
    Accept(acceptor);
  });
}

int ParsePort(const char* text) {
  char* end = nullptr;
  const long port = std::strtol(text, &end, 10);
  if (!end || *end || port < 0 || port > 65535) bench::Fail(std::string("bad port ") + text);
  return static_cast<int>(port);
}

}  // namespace

int main(int argc, char** argv) {
  std::optional<int> http_port, grpc_port;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if ((flag == "--http-port" || flag == "--grpc-port") && i + 1 < argc) {
      (flag == "--http-port" ? http_port : grpc_port) = ParsePort(argv[++i]);
    } else {
      std::cerr << "usage: invoke_app [--http-port N] [--grpc-port N]\n";
      return flag == "--help" || flag == "-h" ? 0 : 2;
    }
  }
  if (!http_port && !grpc_port) bench::Fail("give --http-port, --grpc-port or both");

  asio::io_context loop(1);
  Acceptor acceptor(loop);
  if (http_port) {
    const tcp::endpoint at(asio::ip::make_address("127.0.0.1"), static_cast<uint16_t>(*http_port));
    acceptor.open(at.protocol());
    acceptor.set_option(tcp::acceptor::reuse_address(true));
    acceptor.bind(at);
    acceptor.listen(1024);
    Accept(acceptor);
  }
  std::optional<dapr::grpcapi::GrpcServer> grpc;
  if (grpc_port) {
    grpc.emplace(loop, dapr::grpcapi::GrpcServerOptions{{"127.0.0.1"}, static_cast<uint16_t>(*grpc_port)});
    // An empty InvokeResponse serializes to no bytes: the answer is the 5-byte prefix alone.
    grpc->AddUnary("/dapr.proto.runtime.v1.AppCallback/OnInvoke",
                   [](std::shared_ptr<dapr::grpcapi::ServerCall> call) {
                     call->FinishFramed(std::string(dapr::grpcapi::kFrameHeaderBytes, '\0'));
                   });
    if (auto status = grpc->Start(); !status.ok()) bench::Fail("grpc: " + status.message());
  }
  asio::signal_set stop(loop, SIGINT, SIGTERM);
  stop.async_wait([&](boost::system::error_code, int) {
    boost::system::error_code ignored;
    acceptor.close(ignored);
    if (grpc) grpc->Stop();
    loop.stop();
  });
  loop.run();
  return 0;
}
