// The gRPC client daprd calls other sidecars (ServiceInvocation/CallLocal) and gRPC apps
// (AppCallback/OnInvoke) with: unary calls over cleartext HTTP/2 (h2c, prior knowledge) or
// TLS (a grpcs app), on
// the sidecar's event loop, without blocking. nghttp2 does the HTTP/2; wire.h the gRPC
// conventions, shared with our server (server.h).
//
// Why not gRPC's C++ client: the reasons that kept its server out of daprd (thread
// switches per call, most of the resident code) apply to its client too, and a channel
// here is one connection driven by the loop that already serves the caller's request.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "api/grpc/wire.h"
#include "dapr/status.h"

namespace boost::asio {
class io_context;
namespace ssl {
class context;
}  // namespace ssl
}  // namespace boost::asio

namespace dapr::grpcapi {

using GrpcMetadata = std::vector<std::pair<std::string, std::string>>;

struct GrpcCallOptions {
  // 0: none. Sent as grpc-timeout and enforced here too (from the moment Call is made,
  // connecting and queueing included): the call ends DEADLINE_EXCEEDED and its stream is
  // cancelled (RST_STREAM CANCEL).
  std::chrono::milliseconds timeout{0};
  // Request metadata. Keys lower case; the values of "-bin" keys are raw bytes (sent in
  // base64). Pseudo-headers and the headers the call sets itself are left out.
  GrpcMetadata metadata;
  // A larger response message ends the call RESOURCE_EXHAUSTED (gRPC's default limit).
  size_t max_response_bytes = 4 << 20;
  // Streams only: the response bytes handed to on_data count against the server's HTTP/2
  // window until GrpcClientStream::Consumed releases them, so the server gets at most one
  // stream window (1 MiB) ahead of what was passed on. Off: released as they arrive.
  bool hold_response_window = false;
};

// What came back: the status, the response message (unframed; empty unless the status is
// OK), and the response metadata for relaying ("-bin" values decoded; pseudo-headers and
// grpc-status, grpc-message, grpc-status-details-bin left out: they are in `status`).
struct GrpcReply {
  GrpcStatus status;
  std::string message;
  GrpcMetadata headers;
  GrpcMetadata trailers;
  int http_status = 0;  // the answer's :status (what a plain HTTP/2 request is answered with)
};

using GrpcReplyCallback = std::function<void(GrpcReply)>;

// A streaming call, relayed as bytes (gRPC message frames, split anywhere): what gRPC
// proxying needs, whatever the method's shape (unary, client, server or bidi streaming).
// The callbacks run on the loop, in this order: on_headers at most once, on_data any number of
// times, on_close exactly once.
struct GrpcStreamCallbacks {
  std::function<void(GrpcMetadata headers)> on_headers;
  std::function<void(std::string_view bytes)> on_data;
  std::function<void(GrpcStatus status, GrpcMetadata trailers)> on_close;
};

class GrpcClientStream {
 public:
  virtual ~GrpcClientStream() = default;
  // Request bytes, sent in order; false (and nothing queued) once more than 16 MiB wait
  // unsent: the peer does not keep up, and the caller should cancel. From any thread.
  virtual bool Write(std::string bytes) = 0;
  // No more request bytes (END_STREAM after those queued). From any thread.
  virtual void CloseSend() = 0;
  // Write, then CloseSend, in one step: a whole request leaves in one DATA frame that ends
  // the stream.
  virtual void WriteLast(std::string bytes) = 0;
  // Ends the call (RST_STREAM CANCEL); on_close follows with CANCELLED. From any thread.
  virtual void Cancel() = 0;
  // With options.hold_response_window: `bytes` more of what on_data was handed are passed
  // on. From any thread.
  virtual void Consumed(size_t bytes) = 0;
  // `ready` runs once, on the loop, when every byte Write queued so far has been taken for
  // sending (the server's window had room for it): the time to write more. It does not run
  // if the call ends first, and a later WhenSent before it ran replaces it. From any thread.
  virtual void WhenSent(std::function<void()> ready) = 0;
  // Runs `fn` on the loop after the bytes (and the end) that came with the current read
  // have been handed over: a caller can tell an answer that ended with its first bytes
  // from one still arriving.
  virtual void Defer(std::function<void()> fn) = 0;
};

// One HTTP/2 connection to host:port, opened on the first call and again on the next call
// after it failed. Calls share it as concurrent streams; calls beyond the server's
// MAX_CONCURRENT_STREAMS wait for a free stream. A transport failure (connection refused
// or reset, a stream refused or dropped by GOAWAY) ends the call UNAVAILABLE: retrying is
// the caller's policy, not the channel's.
class GrpcChannel {
 public:
  virtual ~GrpcChannel() = default;

  // host is a numeric IPv4/IPv6 address ("localhost" is taken as 127.0.0.1): no name is
  // resolved on the loop. Other names fail every call INVALID_ARGUMENT.
  static std::shared_ptr<GrpcChannel> Create(boost::asio::io_context& loop, std::string host,
                                             uint16_t port);
  // The same over TLS (ALPN h2; SNI and the certificate's name check use host when the
  // context verifies): a grpcs app.
  static std::shared_ptr<GrpcChannel> Create(boost::asio::io_context& loop, std::string host,
                                             uint16_t port,
                                             std::shared_ptr<boost::asio::ssl::context> tls);

  // Starts a unary call of the method at `path` ("/package.Service/Method") with one
  // serialized request message. From any thread; `done` runs on the loop, exactly once.
  virtual void Call(std::string path, std::string request, GrpcCallOptions options,
                    GrpcReplyCallback done) = 0;

  // A plain HTTP/2 request on the same connection (an h2c app): method, path with its query,
  // body as it is. The reply's status is OK whatever the HTTP status (that is http_status);
  // its message is the response body (up to options.max_response_bytes), headers its headers.
  virtual void HttpRequest(std::string method, std::string path, std::string content_type,
                           std::string body, GrpcCallOptions options, GrpcReplyCallback done) = 0;

  // Starts a streaming call; options.max_response_bytes does not apply (bytes are relayed
  // as they come, nothing is held whole). The timeout does.
  virtual std::shared_ptr<GrpcClientStream> StartStream(std::string path, GrpcCallOptions options,
                                                        GrpcStreamCallbacks callbacks) = 0;

  // Ends the connection; calls in flight or waiting end UNAVAILABLE. A later call
  // connects again.
  virtual void Close() = 0;
};

// The code gRPC gives a response whose HTTP status is not 200 and that carries no
// grpc-status (gRPC's http-grpc-status-mapping table): 404 -> UNIMPLEMENTED, 503 ->
// UNAVAILABLE...
StatusCode GrpcCodeForHttpStatus(int http_status);

}  // namespace dapr::grpcapi
