// A lean unary gRPC client over cleartext HTTP/2 for the benchmarks, on nghttp2.
//
// Why not gRPC's C++ library: it spends tens of µs of CPU per call on this machine, several
// times the raw HTTP/1.1 client's cost, and a benchmark of the sidecar should not mostly time
// its client. Three pieces:
// - UnaryCall: one request prepared once (headers, framed message), sent as often as needed;
// - GrpcH2Session: the HTTP/2 framing of one connection, without I/O, so one event loop can
//   drive many connections with many calls in flight (invoke_load);
// - GrpcH2Client: a session on one blocking socket, one call at a time (state_latency).
#pragma once

#include <nghttp2/nghttp2.h>

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace google::protobuf {
class MessageLite;
}

namespace bench {

// A unary request prepared once: its headers and its framed message (the 5-byte gRPC
// prefix, flag 0 and big-endian length, then the serialized message). nghttp2 does not copy
// the headers, so a call stays where it was built.
class UnaryCall {
 public:
  UnaryCall(std::string authority, std::string path, const google::protobuf::MessageLite& message);
  UnaryCall(const UnaryCall&) = delete;
  UnaryCall& operator=(const UnaryCall&) = delete;
  const std::string& path() const { return path_; }

 private:
  friend class GrpcH2Session;
  std::string authority_;
  std::string path_;
  std::string framed_request_;
  std::array<nghttp2_nv, 6> headers_{};
};

// How a call ended, as GrpcH2Session reports it.
struct UnaryOutcome {
  int32_t stream_id = 0;
  const char* error = nullptr;  // nullptr: grpc-status 0 and exactly one whole message
  std::string_view message;     // the response message after its prefix (valid in the callback)
};

// The client side of one HTTP/2 connection for unary calls, any number in flight. The caller
// moves bytes: what it reads goes to Receive, what TakeOutput gives goes to the socket.
class GrpcH2Session {
 public:
  // Called from inside Receive for each call that ended; it must not call Submit.
  using OnDone = std::function<void(const UnaryOutcome&)>;

  // Queues the connection preface (SETTINGS with large windows).
  explicit GrpcH2Session(OnDone on_done);
  ~GrpcH2Session();
  GrpcH2Session(const GrpcH2Session&) = delete;
  GrpcH2Session& operator=(const GrpcH2Session&) = delete;

  // Queues a call; its frames go out with the next TakeOutput. Returns its stream id.
  int32_t Submit(const UnaryCall& call);
  // Feeds bytes read from the socket. false on an HTTP/2 protocol error (see error()).
  bool Receive(const uint8_t* data, size_t length);
  // Appends what the session has to send (requests, SETTINGS acks, WINDOW_UPDATEs).
  bool TakeOutput(std::string& out);
  bool WantsWrite() const { return nghttp2_session_want_write(session_) != 0; }
  const std::string& error() const { return error_; }

 private:
  struct Stream;
  Stream* NewStream(const UnaryCall& call);
  static ssize_t ReadRequest(nghttp2_session*, int32_t, uint8_t*, size_t, uint32_t*,
                             nghttp2_data_source*, void*);
  static int OnHeader(nghttp2_session*, const nghttp2_frame*, const uint8_t*, size_t,
                      const uint8_t*, size_t, uint8_t, void*);
  static int OnDataChunk(nghttp2_session*, uint8_t, int32_t, const uint8_t*, size_t, void*);
  static int OnStreamClose(nghttp2_session*, int32_t, uint32_t, void*);

  nghttp2_session* session_ = nullptr;
  OnDone on_done_;
  std::vector<std::unique_ptr<Stream>> streams_;  // every one made; reused, buffers and all
  std::vector<Stream*> free_streams_;
  std::string error_;
};

// One blocking connection, one call at a time: submit, write everything in one send, read
// until the call ends. Fails the process on any error (a benchmark has nothing to retry).
class GrpcH2Client {
 public:
  explicit GrpcH2Client(int port);
  ~GrpcH2Client();
  GrpcH2Client(const GrpcH2Client&) = delete;
  GrpcH2Client& operator=(const GrpcH2Client&) = delete;

  const std::string& authority() const { return authority_; }
  // Runs one call; fails unless it ends with grpc-status 0 and one message, then in message().
  void RoundTrip(const UnaryCall& call);
  std::string_view message() const { return message_; }

 private:
  void Flush();

  int fd_ = -1;
  std::string authority_;
  GrpcH2Session session_;
  std::array<uint8_t, 64 << 10> read_buffer_;
  std::string write_buffer_;
  bool done_ = false;
  std::string error_;    // of the call just ended, empty when it succeeded
  std::string message_;  // of the call just ended
};

}  // namespace bench
