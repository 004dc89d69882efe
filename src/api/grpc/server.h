// The sidecar's gRPC API server: gRPC over cleartext HTTP/2 (nghttp2 does the HTTP/2),
// on the sidecar's own event loop, dispatching each call by its path to a handler.
//
// Why not gRPC's C++ server library: on this API it added ~100 µs and ~9 thread switches
// to every call (its completion queues hand a call from thread to thread), and its core
// was most of daprd's resident code. A unary call here costs one read, one handler call
// and one write on the event loop, like the HTTP API. What gRPC's library would give
// beyond that and daprd does not need yet (compression, TLS, server streaming) is left
// out on purpose: a compressed message is answered UNIMPLEMENTED, not misread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/grpc/wire.h"
#include "dapr/status.h"

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace dapr::grpcapi {

struct GrpcServerOptions {
  std::vector<std::string> listen_addresses;  // empty: all interfaces
  uint16_t port = 50001;
  size_t max_message_bytes = 4 << 20;  // larger requests get RESOURCE_EXHAUSTED
};

// One unary call as its handler sees it.
class ServerCall {
 public:
  virtual ~ServerCall() = default;
  // The serialized request message.
  virtual std::string_view request() const = 0;
  // The method's path, "/package.Service/Method".
  virtual std::string_view Path() const = 0;
  // The first value the caller sent for a metadata key (lower case); "-bin" keys decoded.
  virtual std::optional<std::string_view> Metadata(std::string_view key) const = 0;
  // Every metadata entry the caller sent, in order ("-bin" values decoded): for relaying.
  virtual std::vector<std::pair<std::string, std::string>> AllMetadata() const = 0;
  // The caller's grpc-timeout, when it sent one.
  virtual std::optional<std::chrono::nanoseconds> Timeout() const = 0;
  // Answers the call, from any thread; only the first answer counts (a deadline may have
  // answered already). The response is the serialized message, sent when status is OK.
  virtual void Finish(GrpcStatus status, std::string response = {}) = 0;
  // Finish with OK and a response already framed (FrameHeader, then the message): lets a
  // handler serialize straight into the buffer that goes out.
  virtual void FinishFramed(std::string framed_response) = 0;
  // Response metadata (lower-case name), sent with the answer's headers; call before
  // Finish, from the thread that will finish. "-bin" values are raw bytes (sent in base64).
  virtual void AddResponseHeader(std::string name, std::string value) = 0;
  // Trailing metadata (lower-case name), sent after the message with the status; same
  // rules as AddResponseHeader. "-bin" values are raw bytes (sent in base64).
  virtual void AddResponseTrailer(std::string name, std::string value) = 0;
};

// Runs on the event loop: it must not block (hand blocking work to the worker pool).
using UnaryHandler = std::function<void(std::shared_ptr<ServerCall>)>;

// A call taken as a stream of bytes (gRPC message frames, split anywhere) both ways, from
// its headers on: what gRPC proxying relays, whatever the method's shape.
class ServerStream {
 public:
  virtual ~ServerStream() = default;
  virtual std::string_view Path() const = 0;
  virtual std::optional<std::string_view> Metadata(std::string_view key) const = 0;
  virtual std::vector<std::pair<std::string, std::string>> AllMetadata() const = 0;
  virtual std::optional<std::chrono::nanoseconds> Timeout() const = 0;

  // The request bytes as they arrive, then their end; set once, on the loop (from the
  // handler). Bytes that came before are handed over at once. `cancelled` runs instead of
  // anything more if the caller resets the stream or the connection ends before End.
  virtual void OnRequest(std::function<void(std::string_view bytes)> data,
                         std::function<void()> end, std::function<void()> cancelled) = 0;
  // Flow control of the request, chosen by the handler before it returns: the bytes handed
  // to `data` count against the caller's HTTP/2 window until Consumed releases them, so the
  // caller gets at most one stream window (1 MiB) ahead of what was passed on. Without it,
  // bytes are released as they arrive.
  virtual void HoldRequestWindow() = 0;
  // From any thread: `bytes` more of what `data` was handed are passed on.
  virtual void Consumed(size_t bytes) = 0;
  // `ready` runs once, on the loop, when every byte SendData queued so far has been taken
  // for sending (the caller's window had room for it): the time to queue more. It does not
  // run if the call ends first, and a later WhenSent before it ran replaces it. From any
  // thread.
  virtual void WhenSent(std::function<void()> ready) = 0;
  // Runs `fn` on the loop after the bytes (and the end) that came with the current read
  // have been handed over: a handler can tell a request that ended with its first bytes
  // from one still arriving.
  virtual void Defer(std::function<void()> fn) = 0;
  // The answer, from any thread: headers (at most once, first), bytes, then End once.
  // "-bin" metadata values are raw bytes.
  virtual void SendHeaders(std::vector<std::pair<std::string, std::string>> headers) = 0;
  virtual void SendData(std::string bytes) = 0;
  virtual void End(GrpcStatus status, std::vector<std::pair<std::string, std::string>> trailers) = 0;
  // SendData, then End, in one step: a whole answer leaves in one write.
  virtual void EndWith(std::string bytes, GrpcStatus status,
                       std::vector<std::pair<std::string, std::string>> trailers) = 0;
};

using StreamHandler = std::function<void(std::shared_ptr<ServerStream>)>;

class GrpcServer {
 public:
  // The loop is the sidecar's; whoever owns it runs it.
  GrpcServer(boost::asio::io_context& loop, GrpcServerOptions options);
  ~GrpcServer();

  // Before Start. path is "/package.Service/Method".
  void AddUnary(std::string path, UnaryHandler handler);
  // Before Start. A streaming method: the handler takes the call from its headers on.
  void AddStream(std::string path, StreamHandler handler);
  // Before the loop runs: the handler of every path no AddUnary registered, taken as a
  // stream from its headers on (default: UNIMPLEMENTED "unknown method").
  void SetFallback(StreamHandler handler);

  // Whether some method of the service ("package.Service") was added.
  bool HasService(std::string_view service) const;

  Status Start();
  // The port it listens on (after Start; useful when options.port was 0: any free port).
  uint16_t Port() const;
  // Stops accepting connections and tells connected clients (GOAWAY) to take new calls
  // elsewhere; calls already received still get their answer.
  void StopAccepting();
  // Calls received and not yet answered.
  size_t InFlight() const;
  // Ends every connection.
  void Stop();

  class Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace dapr::grpcapi
