#include "api/grpc/client.h"

#include "api/grpc/h2_session.h"

#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <cctype>
#include <cstring>
#include <atomic>
#include <deque>
#include <optional>
#include <unordered_map>

namespace dapr::grpcapi {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

StatusCode GrpcCodeForHttpStatus(int http_status) {
  switch (http_status) {
    case 400:
      return StatusCode::kInternal;
    case 401:
      return StatusCode::kUnauthenticated;
    case 403:
      return StatusCode::kPermissionDenied;
    case 404:
      return StatusCode::kUnimplemented;
    case 429:
    case 502:
    case 503:
    case 504:
      return StatusCode::kUnavailable;
    default:
      return StatusCode::kUnknown;
  }
}

namespace {

using Clock = std::chrono::steady_clock;
using loop::Strand;
using loop::Timer;
using Socket = loop::TcpSocket;

// An address that does not answer at all would otherwise hold calls without a deadline for
// the kernel's SYN retries (minutes). gRPC's own minimum connect timeout.
constexpr auto kConnectTimeout = std::chrono::seconds(20);

nghttp2_nv Header(std::string_view name, std::string_view value) {
  return {reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
          reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), name.size(), value.size(),
          NGHTTP2_NV_FLAG_NONE};
}

bool EndsWith(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

// Headers the call writes itself, or that HTTP/2 forbids: never taken from metadata.
bool ReservedHeader(std::string_view key) {
  static constexpr std::string_view kReserved[] = {
      "content-type", "te",      "grpc-timeout",     "connection",       "host",
      "keep-alive",   "upgrade", "proxy-connection", "transfer-encoding"};
  return key.empty() || key[0] == ':' ||
         std::find(std::begin(kReserved), std::end(kReserved), key) != std::end(kReserved);
}

// grpc-timeout takes at most 8 digits: the finest unit that fits, rounded up.
std::string FormatTimeout(std::chrono::nanoseconds remaining) {
  constexpr int64_t kMaxDigits = 99'999'999;
  int64_t ms = std::max<int64_t>(1, (remaining.count() + 999'999) / 1'000'000);
  if (ms <= kMaxDigits) return std::to_string(ms) + "m";
  int64_t s = (ms + 999) / 1000;
  if (s <= kMaxDigits) return std::to_string(s) + "S";
  int64_t m = (s + 59) / 60;
  if (m <= kMaxDigits) return std::to_string(m) + "M";
  return std::to_string(std::min(kMaxDigits, (m + 59) / 60)) + "H";
}

GrpcStatus Unavailable(std::string message) {
  return {StatusCode::kUnavailable, std::move(message), {}};
}

// A stream reset by the server, as gRPC maps RST_STREAM codes (PROTOCOL-HTTP2.md).
GrpcStatus ResetStatus(uint32_t error_code) {
  std::string message =
      "grpc: stream reset by the server (" + std::string(nghttp2_http2_strerror(error_code)) + ")";
  switch (error_code) {
    case NGHTTP2_REFUSED_STREAM:
      return Unavailable(
          "grpc: the server refused the stream before processing it "
          "(REFUSED_STREAM or GOAWAY)");
    case NGHTTP2_CANCEL:
      return {StatusCode::kCancelled, std::move(message), {}};
    case NGHTTP2_ENHANCE_YOUR_CALM:
      return {StatusCode::kResourceExhausted, std::move(message), {}};
    case NGHTTP2_INADEQUATE_SECURITY:
      return {StatusCode::kPermissionDenied, std::move(message), {}};
    default:
      return {StatusCode::kInternal, std::move(message), {}};
  }
}

// grpc-status: a code 0..16; anything else is UNKNOWN, as gRPC reads it.
StatusCode ParseCode(std::string_view text) {
  int value = 0;
  if (text.empty() || text.size() > 2) return StatusCode::kUnknown;
  for (char c : text) {
    if (c < '0' || c > '9') return StatusCode::kUnknown;
    value = value * 10 + (c - '0');
  }
  return value <= 16 ? static_cast<StatusCode>(value) : StatusCode::kUnknown;
}

// A call from Call() until its answer. Owned by the channel's queue while it waits, then by
// its connection's stream table until nghttp2 closes the stream (nghttp2 may read the
// request from it until then).
struct ClientCall {
  std::string path;
  std::string request;
  GrpcCallOptions options;
  GrpcReplyCallback done;
  std::optional<Clock::time_point> deadline;
  std::unique_ptr<Timer> timer;

  // The request body is the frame header, then the message, read by nghttp2 from here.
  std::array<char, kFrameHeaderBytes> frame_header{};
  size_t sent = 0;
  // A plain HTTP/2 request (HttpRequest): its method and content type. Its body is sent
  // without a frame header (sent starts past it) and the answer is read as it is.
  std::optional<std::string> http_method;
  std::string content_type;

  // The response as it arrives.
  int http_status = 0;
  bool has_grpc_status = false;
  GrpcStatus server_status;
  std::string body;  // frame header, then the message
  GrpcReply reply;   // its metadata

  bool finished = false;

  // A streaming call (StartStream): request bytes queued by Write, response bytes handed on
  // as they arrive. Null for a unary call.
  struct Stream {
    GrpcStreamCallbacks callbacks;
    std::string out;  // request bytes not yet taken by nghttp2, from out_at
    size_t out_at = 0;
    bool send_closed = false;
    bool headers_delivered = false;
    std::atomic<size_t> unsent{0};  // Write's view of out, from any thread
    size_t held = 0;  // response bytes not yet released to the window (hold_response_window)
    std::function<void()> when_sent;  // runs once out has been taken for sending
  };
  std::unique_ptr<Stream> stream;
};

// How many request bytes a stream may have waiting to be sent.
constexpr size_t kMaxUnsentStreamBytes = 16u << 20;

void DeliverHeaders(ClientCall& call) {
  auto& stream = *call.stream;
  if (stream.headers_delivered) return;
  stream.headers_delivered = true;
  if (stream.callbacks.on_headers) stream.callbacks.on_headers(std::move(call.reply.headers));
}

void Complete(ClientCall& call, GrpcStatus status) {
  if (call.finished) return;
  call.finished = true;
  if (call.timer) call.timer->cancel();
  if (call.stream) {
    call.stream->when_sent = nullptr;
    // A trailers-only answer: what came with its status is trailing metadata.
    auto& trailers = call.reply.trailers;
    if (!call.stream->headers_delivered) {
      trailers.insert(trailers.begin(), std::make_move_iterator(call.reply.headers.begin()),
                      std::make_move_iterator(call.reply.headers.end()));
    }
    auto on_close = std::move(call.stream->callbacks.on_close);
    call.stream->callbacks = {};  // whatever they hold goes now, not with the stream table
    on_close(std::move(status), std::move(call.reply.trailers));
    return;
  }
  GrpcReply reply = std::move(call.reply);
  reply.status = std::move(status);
  reply.http_status = call.http_status;
  if (reply.status.ok()) {
    reply.message = std::move(call.body);
    if (!call.http_method) reply.message.erase(0, kFrameHeaderBytes);
  }
  call.body = {};
  auto done = std::move(call.done);
  done(std::move(reply));
}

// What a whole response says: grpc-status when there is one, else the HTTP status; an OK
// unary call must carry exactly one uncompressed message.
GrpcStatus ResponseStatus(const ClientCall& call) {
  if (call.http_method) return GrpcStatus::Ok();  // a plain answer: its status is data
  if (call.stream && call.has_grpc_status) return call.server_status;  // any number of messages
  if (!call.has_grpc_status) {
    if (call.http_status != 200) {
      return {
          GrpcCodeForHttpStatus(call.http_status),
          "grpc: unexpected HTTP status code from the server: " + std::to_string(call.http_status),
          {}};
    }
    return {StatusCode::kInternal, "grpc: the server ended the call without a grpc-status", {}};
  }
  if (!call.server_status.ok()) return call.server_status;
  const std::string& body = call.body;
  if (body.size() < kFrameHeaderBytes) {
    return {StatusCode::kInternal, "grpc: expected one response message, got none", {}};
  }
  uint32_t length = FramedLength(body);
  if (body.size() - kFrameHeaderBytes != length) {
    return {StatusCode::kInternal,
            "grpc: expected one response message of " + std::to_string(length) + " bytes, got " +
                std::to_string(body.size() - kFrameHeaderBytes),
            {}};
  }
  if (body[0] == 1) {
    return {StatusCode::kInternal,
            "grpc: compressed response message: compression is not supported",
            {}};
  }
  if (body[0] != 0) return {StatusCode::kInternal, "grpc: invalid message frame flag", {}};
  return GrpcStatus::Ok();
}

// Named apart from the server's Connection (one library, one namespace).
class ClientConnection;

class Http2Channel final : public GrpcChannel, public std::enable_shared_from_this<Http2Channel> {
 public:
  Http2Channel(asio::io_context& loop, std::string host, uint16_t port,
               std::shared_ptr<asio::ssl::context> tls);
  ~Http2Channel() override;

  void Call(std::string path, std::string request, GrpcCallOptions options,
            GrpcReplyCallback done) override;
  void HttpRequest(std::string method, std::string path, std::string content_type, std::string body,
                   GrpcCallOptions options, GrpcReplyCallback done) override;
  std::shared_ptr<GrpcClientStream> StartStream(std::string path, GrpcCallOptions options,
                                                GrpcStreamCallbacks callbacks) override;
  void Close() override;

  // On the strand: a stream has new bytes to send, or wants to end.
  void ResumeStream(const std::shared_ptr<ClientCall>& call);
  void StreamConsumed(const std::shared_ptr<ClientCall>& call, size_t bytes);
  void CancelStream(const std::shared_ptr<ClientCall>& call);

  // On the strand, from connections.
  // Puts waiting calls on streams while the current connection has room; opens one if needed.
  void Pump();
  // A connection ended. If it never connected, the calls waiting for it fail with `why`.
  void ConnectionClosed(ClientConnection* connection, bool was_ready, const GrpcStatus& why);

  Strand strand() const { return strand_; }
  const std::string& authority() const { return authority_; }

 private:
  void Start(std::shared_ptr<ClientCall> call);
  void Expire(const std::shared_ptr<ClientCall>& call);

  Strand strand_;
  std::optional<tcp::endpoint> endpoint_;  // none: the host is not a numeric address
  std::string authority_;
  std::string host_;
  std::shared_ptr<asio::ssl::context> tls_;                     // null: cleartext
  std::shared_ptr<ClientConnection> current_;                   // where new calls go
  std::vector<std::shared_ptr<ClientConnection>> connections_;  // current_ and those draining
  std::deque<std::shared_ptr<ClientCall>> waiting_;
};

// One HTTP/2 connection of a channel. Everything runs on the channel's strand; nghttp2
// parses what arrives and produces what to send, and this class moves bytes between it and
// the socket. nghttp2's callbacks only record and queue: bytes are sent after
// nghttp2_session_mem_recv returns.
class ClientConnection : public std::enable_shared_from_this<ClientConnection> {
 public:
  ClientConnection(std::weak_ptr<Http2Channel> channel, Strand strand, tcp::endpoint endpoint,
                   std::string authority, std::string host, asio::ssl::context* tls)
      : channel_(std::move(channel)),
        socket_(strand),
        connect_timer_(strand),
        endpoint_(endpoint),
        authority_(std::move(authority)),
        host_(std::move(host)) {
    if (tls) tls_.emplace(socket_, *tls);
  }

  ~ClientConnection() {
    if (session_) nghttp2_session_del(session_);
  }

  bool ready() const { return ready_; }
  // Takes new streams: connecting or connected, and not told to go away.
  bool usable() const { return !closed_ && !draining_; }

  bool HasRoom() const {
    return streams_.size() <
           nghttp2_session_get_remote_settings(session_, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
  }

  void Connect() {
    connect_timer_.expires_after(kConnectTimeout);
    connect_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (ec || self->ready_ || self->closed_) return;
      self->connect_timed_out_ = true;
      boost::system::error_code ignored;
      self->socket_.close(ignored);  // the connect completes with operation_aborted
    });
    socket_.async_connect(endpoint_, [self = shared_from_this()](boost::system::error_code ec) {
      self->connect_timer_.cancel();
      if (self->closed_) return;
      if (self->connect_timed_out_) ec = asio::error::timed_out;
      if (ec)
        return self->Close(
            Unavailable("grpc: failed to connect to " + self->authority_ + ": " + ec.message()));
      self->socket_.set_option(tcp::no_delay(true), ec);
      if (!ec && !self->tls_) self->socket_.non_blocking(true, ec);  // Flush writes without waiting
      if (ec) return self->Close(Unavailable("grpc: could not set up the connection to " + self->authority_));
      self->Handshake();
    });
  }

  // TLS: the handshake, offering only HTTP/2 (ALPN "h2"), as gRPC does.
  void Handshake() {
    if (!tls_) return Established();
    static constexpr unsigned char kAlpnH2[] = {2, 'h', '2'};
    SSL_set_alpn_protos(tls_->native_handle(), kAlpnH2, sizeof(kAlpnH2));
    boost::system::error_code not_numeric;
    asio::ip::make_address(host_, not_numeric);
    if (not_numeric) SSL_set_tlsext_host_name(tls_->native_handle(), host_.c_str());
    tls_->set_verify_callback(asio::ssl::host_name_verification(host_));
    connect_timer_.expires_after(kConnectTimeout);
    connect_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (ec || self->ready_ || self->closed_) return;
      boost::system::error_code ignored;
      self->socket_.close(ignored);  // the handshake completes with an error
    });
    tls_->async_handshake(asio::ssl::stream_base::client,
                          [self = shared_from_this()](boost::system::error_code ec) {
                            self->connect_timer_.cancel();
                            if (self->closed_) return;
                            if (ec) {
                              return self->Close(Unavailable("grpc: TLS handshake with " +
                                                             self->authority_ + " failed: " + ec.message()));
                            }
                            self->Established();
                          });
  }

  void Established() {
    if (!CreateSession()) {
      return Close(Unavailable("grpc: could not set up the connection to " + authority_));
    }
    ready_ = true;
    Read();
    if (auto channel = channel_.lock()) channel->Pump();
    Flush();  // the preface and SETTINGS, if Pump had no call to send
  }

  // Queues a call on a new stream; false when this connection can take no more streams
  // (stream ids used up), and the call stays the caller's.
  bool Submit(const std::shared_ptr<ClientCall>& call) {
    std::string timeout;
    if (call->deadline) {
      auto remaining = *call->deadline - Clock::now();
      if (remaining <= Clock::duration::zero()) {
        Complete(*call, {StatusCode::kDeadlineExceeded, "Deadline Exceeded", {}});
        return true;
      }
      timeout = FormatTimeout(remaining);
    }
    auto& metadata = call->options.metadata;
    std::vector<nghttp2_nv> headers;
    headers.reserve(8 + metadata.size());
    std::string_view method = call->http_method ? std::string_view(*call->http_method) : "POST";
    headers.push_back(Header(":method", method));
    headers.push_back(Header(":scheme", tls_ ? "https" : "http"));
    headers.push_back(Header(":path", call->path));
    headers.push_back(Header(":authority", authority_));
    if (call->http_method) {
      if (!call->content_type.empty()) headers.push_back(Header("content-type", call->content_type));
    } else {
      headers.push_back(Header("content-type", "application/grpc"));
      headers.push_back(Header("te", "trailers"));
      if (!timeout.empty()) headers.push_back(Header("grpc-timeout", timeout));
    }
    std::vector<std::string> encoded;  // base64 of "-bin" values, alive until submitted
    encoded.reserve(metadata.size());
    for (auto& [key, value] : metadata) {
      for (char& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (ReservedHeader(key)) continue;
      if (EndsWith(key, "-bin")) {
        headers.push_back(Header(key, encoded.emplace_back(Base64Encode(value))));
      } else {
        headers.push_back(Header(key, value));
      }
    }
    WriteFrameHeader(call->frame_header.data(), static_cast<uint32_t>(call->request.size()));
    nghttp2_data_provider body;
    body.source.ptr = call.get();
    body.read_callback = call->stream ? &ReadStreamRequest : &ReadRequest;
    // A plain request without a body ends with its headers.
    bool no_body = call->http_method && call->request.empty();
    int32_t stream_id = nghttp2_submit_request(session_, nullptr, headers.data(), headers.size(),
                                               no_body ? nullptr : &body, nullptr);
    if (stream_id == NGHTTP2_ERR_STREAM_ID_NOT_AVAILABLE) {
      draining_ = true;
      return false;
    }
    if (stream_id < 0) {
      Complete(*call,
               {StatusCode::kInternal,
                std::string("grpc: could not start the call: ") + nghttp2_strerror(stream_id),
                {}});
      return true;
    }
    streams_[stream_id] = call;
    call_streams_[call.get()] = stream_id;
    if (call->stream && call->stream->out.empty() && !call->stream->send_closed) {
      stream_awaits_bytes_ = true;
    }
    return true;
  }

  // After Submit: a stream started with nothing to send yet usually gets its first bytes from
  // a handler already queued (StartStream, then Write at once), so its HEADERS wait for them
  // and both leave in one write: one system call here, one wake-up at the server.
  void FlushSubmitted() {
    if (!std::exchange(stream_awaits_bytes_, false)) return Flush();
    if (flush_posted_) return;
    flush_posted_ = true;
    asio::post(socket_.get_executor(), [self = shared_from_this()] {
      self->flush_posted_ = false;
      self->Flush();
    });
  }

  // Ends a call before its answer (its deadline passed): the server is told with
  // RST_STREAM CANCEL, and the stream is forgotten when nghttp2 closes it.
  bool Cancel(ClientCall& call, GrpcStatus status) {
    auto it = call_streams_.find(&call);
    if (it == call_streams_.end()) return false;
    Complete(call, std::move(status));
    nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, it->second, NGHTTP2_CANCEL);
    Flush();
    if (auto channel = channel_.lock()) channel->Pump();  // its stream is free again
    return true;
  }

  // Says goodbye (GOAWAY) if it can, then ends the connection and its calls with `why`.
  void Terminate(const GrpcStatus& why) {
    if (closed_) return;
    auto self = shared_from_this();
    for (auto& [id, call] : streams_) Complete(*call, why);  // before Flush may close
    if (ready_) {
      nghttp2_session_terminate_session(session_, NGHTTP2_NO_ERROR);
      Flush();
    }
    Close(why);
  }

  // Sends what nghttp2 has queued (h2_flush.h).
  void Flush() {
    if (writing_ || closed_ || receiving_ || !ready_) return;
    boost::system::error_code ec;
    switch (FlushSession(session_, tls_ ? nullptr : &socket_, write_buffer_, ec)) {
      case H2Flush::kSent: return;
      case H2Flush::kSessionDone:
        return Close(
            Unavailable("grpc: connection to " + authority_ + " closed by the server (GOAWAY)"));
      case H2Flush::kSessionError:
        return Close(Unavailable("grpc: HTTP/2 error on the connection to " + authority_));
      case H2Flush::kSocketError: return Close(Lost(ec));
      case H2Flush::kWaitForRoom: break;
    }
    writing_ = true;
    auto written = [self = shared_from_this()](boost::system::error_code ec, size_t) {
      self->writing_ = false;
      self->write_buffer_.clear();
      if (self->closed_) return;
      if (ec) return self->Close(self->Lost(ec));
      self->Flush();
    };
    if (tls_) return asio::async_write(*tls_, asio::buffer(write_buffer_), std::move(written));
    asio::async_write(socket_, asio::buffer(write_buffer_), std::move(written));
  }

 private:
  bool CreateSession() {
    nghttp2_session_callbacks* callbacks = nullptr;
    if (nghttp2_session_callbacks_new(&callbacks) != 0) return false;
    nghttp2_session_callbacks_set_on_header_callback(callbacks, &OnHeader);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, &OnDataChunk);
    nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, &OnFrameRecv);
    nghttp2_session_callbacks_set_on_frame_not_send_callback(callbacks, &OnFrameNotSent);
    nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, &OnStreamClose);
    int rv = NewSession(H2Side::kClient, &session_, callbacks, this);
    nghttp2_session_callbacks_del(callbacks);
    if (rv != 0) return false;
    return AnnounceSettings(session_, {{NGHTTP2_SETTINGS_ENABLE_PUSH, 0}});
  }

  void Read() {
    auto arrived = [self = shared_from_this()](boost::system::error_code ec, size_t n) {
                              if (self->closed_) return;
                              if (ec) return self->Close(self->Lost(ec));
                              self->receiving_ = true;
                              ssize_t used = nghttp2_session_mem_recv(self->session_,
                                                                      self->read_buffer_.data(), n);
                              self->receiving_ = false;
                              if (used < 0) return self->Close(self->ProtocolError(used));
                              self->Flush();
                              if (self->closed_) return;
                              // Streams may have ended, SETTINGS or a GOAWAY arrived: waiting calls
                              // may move.
                              if (auto channel = self->channel_.lock()) channel->Pump();
                              if (!self->closed_) self->Read();
    };
    if (tls_) return tls_->async_read_some(asio::buffer(read_buffer_), std::move(arrived));
    socket_.async_read_some(asio::buffer(read_buffer_), std::move(arrived));
  }

  GrpcStatus Lost(const boost::system::error_code& ec) const {
    if (ec == asio::error::eof) {
      return Unavailable("grpc: connection to " + authority_ + " closed by the server");
    }
    return Unavailable("grpc: connection to " + authority_ + " lost: " + ec.message());
  }

  GrpcStatus ProtocolError(ssize_t code) const {
    return Unavailable("grpc: HTTP/2 error on the connection to " + authority_ + ": " +
                       nghttp2_strerror(static_cast<int>(code)));
  }

  // Ends the connection: its calls fail with `why`, and the channel forgets it.
  void Close(const GrpcStatus& why) {
    if (closed_) return;
    auto self = shared_from_this();  // the channel may drop the last other reference
    closed_ = true;
    bool was_ready = ready_;
    ready_ = false;
    boost::system::error_code ignored;
    connect_timer_.cancel();
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
    auto streams = std::move(streams_);
    streams_.clear();
    call_streams_.clear();
    for (auto& [id, call] : streams) Complete(*call, why);
    if (auto channel = channel_.lock()) channel->ConnectionClosed(this, was_ready, why);
  }

  // --- nghttp2 callbacks (on the strand, inside mem_recv or mem_send) ---

  static ClientConnection& Self(void* user_data) {
    return *static_cast<ClientConnection*>(user_data);
  }

  ClientCall* Find(int32_t stream_id) {
    auto it = streams_.find(stream_id);
    return it == streams_.end() || it->second->finished ? nullptr : it->second.get();
  }

  static ssize_t ReadRequest(nghttp2_session*, int32_t, uint8_t* buffer, size_t length,
                             uint32_t* flags, nghttp2_data_source* source, void*) {
    auto& call = *static_cast<ClientCall*>(source->ptr);
    size_t total = kFrameHeaderBytes + call.request.size();
    size_t n = std::min(length, total - call.sent);
    for (size_t copied = 0; copied < n;) {
      size_t at = call.sent + copied;
      std::string_view from =
          at < kFrameHeaderBytes
              ? std::string_view(call.frame_header.data(), kFrameHeaderBytes).substr(at)
              : std::string_view(call.request).substr(at - kFrameHeaderBytes);
      size_t take = std::min(n - copied, from.size());
      std::memcpy(buffer + copied, from.data(), take);
      copied += take;
    }
    call.sent += n;
    if (call.sent == total) *flags |= NGHTTP2_DATA_FLAG_EOF;
    return static_cast<ssize_t>(n);
  }

  // A stream's request bytes as Write queued them; deferred while none wait and the sender
  // has not closed (ResumeStream wakes it).
  static ssize_t ReadStreamRequest(nghttp2_session*, int32_t, uint8_t* buffer, size_t length,
                                   uint32_t* flags, nghttp2_data_source* source, void* user_data) {
    auto& stream = *static_cast<ClientCall*>(source->ptr)->stream;
    size_t n = std::min(length, stream.out.size() - stream.out_at);
    std::memcpy(buffer, stream.out.data() + stream.out_at, n);
    stream.out_at += n;
    stream.unsent.fetch_sub(n);
    if (stream.out_at == stream.out.size()) {
      stream.out.clear();
      stream.out_at = 0;
      // Posted, not run here: `when_sent` usually writes more, which must not re-enter this.
      if (stream.when_sent) asio::post(Self(user_data).socket_.get_executor(), std::move(stream.when_sent));
      stream.when_sent = nullptr;
      if (stream.send_closed) *flags |= NGHTTP2_DATA_FLAG_EOF;
      else if (n == 0) return NGHTTP2_ERR_DEFERRED;
    }
    return static_cast<ssize_t>(n);
  }

 public:
  // On the strand: new request bytes, or the end of them, for a deferred stream.
  bool ResumeStream(ClientCall& call) {
    auto it = call_streams_.find(&call);
    if (it == call_streams_.end()) return false;
    nghttp2_session_resume_data(session_, it->second);
    Flush();
    return true;
  }

  // On the strand: a held stream passed `bytes` of its response on.
  bool StreamConsumed(ClientCall& call, size_t bytes) {
    auto it = call_streams_.find(&call);
    if (it == call_streams_.end()) return false;
    bytes = std::min(bytes, call.stream->held);
    call.stream->held -= bytes;
    nghttp2_session_consume(session_, it->second, bytes);
    Flush();
    return true;
  }

 private:
  static int OnHeader(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                      size_t name_length, const uint8_t* value, size_t value_length, uint8_t,
                      void* user_data) {
    if (frame->hd.type != NGHTTP2_HEADERS) return 0;
    ClientCall* call = Self(user_data).Find(frame->hd.stream_id);
    if (!call) return 0;
    std::string_view key(reinterpret_cast<const char*>(name), name_length);
    std::string_view text(reinterpret_cast<const char*>(value), value_length);
    if (key == ":status") {
      call->http_status = 0;
      for (char c : text) call->http_status = call->http_status * 10 + (c - '0');
    } else if (call->http_method) {
      if (!key.empty() && key[0] != ':') call->reply.headers.emplace_back(key, text);
    } else if (key == "grpc-status") {
      call->has_grpc_status = true;
      call->server_status.code = ParseCode(text);
    } else if (key == "grpc-message") {
      call->server_status.message = PercentDecode(text);
    } else if (key == "grpc-status-details-bin") {
      call->server_status.details = Base64Decode(text).value_or(std::string());
    } else if (!key.empty() && key[0] != ':') {
      auto& into =
          frame->headers.cat == NGHTTP2_HCAT_HEADERS ? call->reply.trailers : call->reply.headers;
      if (!EndsWith(key, "-bin")) {
        into.emplace_back(key, text);
      } else if (auto decoded = Base64Decode(text)) {
        into.emplace_back(key, std::move(*decoded));
      }
    }
    return 0;
  }

  static int OnDataChunk(nghttp2_session* session, uint8_t, int32_t stream_id, const uint8_t* data,
                         size_t length, void* user_data) {
    ClientConnection& self = Self(user_data);
    ClientCall* call = self.Find(stream_id);
    if (call && call->stream && call->options.hold_response_window) {
      call->stream->held += length;
    } else {
      nghttp2_session_consume(session, stream_id, length);
    }
    if (!call) return 0;
    if (call->stream) {
      DeliverHeaders(*call);
      if (call->stream->callbacks.on_data) {
        call->stream->callbacks.on_data(std::string_view(reinterpret_cast<const char*>(data), length));
      }
      return 0;
    }
    std::string& body = call->body;
    if (call->http_method) {
      body.append(reinterpret_cast<const char*>(data), length);
      if (body.size() > call->options.max_response_bytes) {
        Complete(*call, {StatusCode::kResourceExhausted,
                         "the response is larger than " + std::to_string(call->options.max_response_bytes) + " bytes", {}});
        nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, stream_id, NGHTTP2_CANCEL);
      }
      return 0;
    }
    size_t before = body.size();
    body.append(reinterpret_cast<const char*>(data), length);
    size_t limit = call->options.max_response_bytes;
    if (before < kFrameHeaderBytes && body.size() >= kFrameHeaderBytes) {
      size_t announced = FramedLength(body);
      if (announced <= limit) body.reserve(kFrameHeaderBytes + announced);
    }
    // The announced length, or the body itself (a second message), may not pass the limit:
    // the body is held in memory.
    size_t size = body.size() >= kFrameHeaderBytes ? FramedLength(body) : 0;
    if (size > limit || body.size() > limit + kFrameHeaderBytes) {
      size = std::max(size, body.size() - kFrameHeaderBytes);
      Complete(*call, {StatusCode::kResourceExhausted,
                       "grpc: received message larger than max (" + std::to_string(size) + " vs. " +
                           std::to_string(limit) + ")",
                       {}});
      nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, stream_id, NGHTTP2_CANCEL);
    }
    return 0;
  }

  static int OnFrameRecv(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
    ClientConnection& self = Self(user_data);
    if (frame->hd.type == NGHTTP2_GOAWAY) {
      // Streams the server will not process are closed by nghttp2 (REFUSED_STREAM); new
      // calls go to a new connection.
      self.draining_ = true;
      return 0;
    }
    if (frame->hd.type != NGHTTP2_DATA && frame->hd.type != NGHTTP2_HEADERS) return 0;
    if (!(frame->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
      // A stream's response headers go on as soon as they are in.
      ClientCall* call = self.Find(frame->hd.stream_id);
      if (call && call->stream && frame->hd.type == NGHTTP2_HEADERS &&
          frame->headers.cat == NGHTTP2_HCAT_RESPONSE) {
        DeliverHeaders(*call);
      }
      return 0;
    }
    // The answer is whole. The stream stays in the table until nghttp2 closes it: the
    // request may still be in nghttp2's hands if the server answered early.
    if (ClientCall* call = self.Find(frame->hd.stream_id)) Complete(*call, ResponseStatus(*call));
    return 0;
  }

  // A request nghttp2 could not start (after a GOAWAY, or out of stream ids).
  static int OnFrameNotSent(nghttp2_session*, const nghttp2_frame* frame, int error,
                            void* user_data) {
    if (frame->hd.type != NGHTTP2_HEADERS) return 0;
    ClientConnection& self = Self(user_data);
    if (ClientCall* call = self.Find(frame->hd.stream_id)) {
      Complete(*call,
               Unavailable(std::string("grpc: the call could not start on the connection to ") +
                           self.authority_ + ": " + nghttp2_strerror(error)));
    }
    self.Forget(frame->hd.stream_id);
    return 0;
  }

  static int OnStreamClose(nghttp2_session*, int32_t stream_id, uint32_t error_code,
                           void* user_data) {
    ClientConnection& self = Self(user_data);
    if (ClientCall* call = self.Find(stream_id)) Complete(*call, ResetStatus(error_code));
    self.Forget(stream_id);
    return 0;
  }

  void Forget(int32_t stream_id) {
    auto it = streams_.find(stream_id);
    if (it == streams_.end()) return;
    // What the stream still held of the connection's window goes back to it.
    if (auto& stream = it->second->stream; stream && stream->held > 0) {
      nghttp2_session_consume_connection(session_, stream->held);
      stream->held = 0;
    }
    call_streams_.erase(it->second.get());
    streams_.erase(it);
  }

  std::weak_ptr<Http2Channel> channel_;
  Socket socket_;
  std::optional<asio::ssl::stream<Socket&>> tls_;  // over socket_, for a TLS channel
  Timer connect_timer_;
  tcp::endpoint endpoint_;
  std::string authority_;
  std::string host_;  // for SNI and the certificate check
  nghttp2_session* session_ = nullptr;
  std::array<uint8_t, 32 << 10> read_buffer_;
  std::string write_buffer_;
  bool ready_ = false;  // connected, the session exists
  bool closed_ = false;
  bool draining_ = false;  // GOAWAY received, or stream ids used up
  bool writing_ = false;
  bool stream_awaits_bytes_ = false;  // see FlushSubmitted
  bool flush_posted_ = false;
  bool receiving_ = false;  // inside nghttp2_session_mem_recv
  bool connect_timed_out_ = false;
  std::unordered_map<int32_t, std::shared_ptr<ClientCall>> streams_;
  std::unordered_map<const ClientCall*, int32_t> call_streams_;
};

Http2Channel::Http2Channel(asio::io_context& loop, std::string host, uint16_t port,
                           std::shared_ptr<asio::ssl::context> tls)
    : strand_(asio::make_strand(loop)), host_(host), tls_(std::move(tls)) {
  boost::system::error_code ec;
  auto address = asio::ip::make_address(host == "localhost" ? "127.0.0.1" : host, ec);
  if (!ec) endpoint_ = tcp::endpoint(address, port);
  bool v6 = !ec && address.is_v6();
  authority_ = (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

// Whoever drops the last reference may be on any thread: what is left ends on the strand.
Http2Channel::~Http2Channel() {
  asio::post(strand_, [waiting = std::move(waiting_), connections = std::move(connections_)] {
    GrpcStatus why = Unavailable("grpc: channel closed");
    for (auto& call : waiting) Complete(*call, why);
    for (auto& connection : connections) connection->Terminate(why);
  });
}

void Http2Channel::Call(std::string path, std::string request, GrpcCallOptions options,
                        GrpcReplyCallback done) {
  auto call = std::make_shared<ClientCall>();
  if (options.timeout.count() > 0) call->deadline = Clock::now() + options.timeout;
  call->path = std::move(path);
  call->request = std::move(request);
  call->options = std::move(options);
  call->done = std::move(done);
  // Posted even from the strand: a `done` that calls again never re-enters nghttp2.
  asio::post(strand_, [self = shared_from_this(), call = std::move(call)]() mutable {
    self->Start(std::move(call));
  });
}

namespace {

// The caller's handle on a streaming call: each action goes to the channel's strand.
class StreamHandle final : public GrpcClientStream {
 public:
  StreamHandle(std::shared_ptr<Http2Channel> channel, std::shared_ptr<ClientCall> call)
      : channel_(std::move(channel)), call_(std::move(call)) {}

  bool Write(std::string bytes) override {
    auto& stream = *call_->stream;
    if (stream.unsent.load() > kMaxUnsentStreamBytes) return false;
    stream.unsent.fetch_add(bytes.size());
    asio::post(channel_->strand(), [channel = channel_, call = call_, bytes = std::move(bytes)]() mutable {
      if (call->finished) return;
      call->stream->out.append(bytes);
      channel->ResumeStream(call);
    });
    return true;
  }
  void WriteLast(std::string bytes) override {
    call_->stream->unsent.fetch_add(bytes.size());
    asio::post(channel_->strand(), [channel = channel_, call = call_, bytes = std::move(bytes)]() mutable {
      if (call->finished) return;
      call->stream->out.append(bytes);
      call->stream->send_closed = true;
      channel->ResumeStream(call);
    });
  }
  void CloseSend() override {
    asio::post(channel_->strand(), [channel = channel_, call = call_] {
      if (call->finished) return;
      call->stream->send_closed = true;
      channel->ResumeStream(call);
    });
  }
  void Cancel() override {
    asio::post(channel_->strand(), [channel = channel_, call = call_] { channel->CancelStream(call); });
  }
  void Consumed(size_t bytes) override {
    asio::post(channel_->strand(), [channel = channel_, call = call_, bytes] {
      channel->StreamConsumed(call, bytes);
    });
  }
  void Defer(std::function<void()> fn) override { asio::post(channel_->strand(), std::move(fn)); }
  void WhenSent(std::function<void()> ready) override {
    asio::post(channel_->strand(), [call = call_, ready = std::move(ready)]() mutable {
      if (call->finished) return;
      auto& stream = *call->stream;
      if (stream.out_at < stream.out.size()) {
        stream.when_sent = std::move(ready);
      } else {
        ready();
      }
    });
  }

 private:
  std::shared_ptr<Http2Channel> channel_;
  std::shared_ptr<ClientCall> call_;
};

}  // namespace

void Http2Channel::HttpRequest(std::string method, std::string path, std::string content_type,
                               std::string body, GrpcCallOptions options, GrpcReplyCallback done) {
  auto call = std::make_shared<ClientCall>();
  if (options.timeout.count() > 0) call->deadline = Clock::now() + options.timeout;
  call->http_method = std::move(method);
  call->content_type = std::move(content_type);
  call->path = std::move(path);
  call->request = std::move(body);
  call->sent = kFrameHeaderBytes;  // no frame header on a plain body
  call->options = std::move(options);
  call->done = std::move(done);
  asio::post(strand_, [self = shared_from_this(), call = std::move(call)]() mutable {
    self->Start(std::move(call));
  });
}

std::shared_ptr<GrpcClientStream> Http2Channel::StartStream(std::string path, GrpcCallOptions options,
                                                            GrpcStreamCallbacks callbacks) {
  auto call = std::make_shared<ClientCall>();
  if (options.timeout.count() > 0) call->deadline = Clock::now() + options.timeout;
  call->path = std::move(path);
  call->options = std::move(options);
  call->stream = std::make_unique<ClientCall::Stream>();
  call->stream->callbacks = std::move(callbacks);
  call->done = [](GrpcReply) {};  // streams end through callbacks.on_close
  asio::post(strand_, [self = shared_from_this(), call] { self->Start(call); });
  return std::make_shared<StreamHandle>(shared_from_this(), std::move(call));
}

void Http2Channel::ResumeStream(const std::shared_ptr<ClientCall>& call) {
  for (auto& connection : connections_) {
    if (connection->ResumeStream(*call)) return;
  }
  // Not on a stream yet: it will read what is queued once it is.
}

void Http2Channel::StreamConsumed(const std::shared_ptr<ClientCall>& call, size_t bytes) {
  for (auto& connection : connections_) {
    if (connection->StreamConsumed(*call, bytes)) return;
  }
}

void Http2Channel::CancelStream(const std::shared_ptr<ClientCall>& call) {
  if (call->finished) return;
  GrpcStatus status{StatusCode::kCancelled, "grpc: the call was cancelled", {}};
  auto connections = connections_;  // Cancel may close a connection
  for (auto& connection : connections) {
    if (connection->Cancel(*call, status)) return;
  }
  std::erase(waiting_, call);
  Complete(*call, std::move(status));
}

void Http2Channel::Start(std::shared_ptr<ClientCall> call) {
  if (!endpoint_) {
    return Complete(
        *call,
        {StatusCode::kInvalidArgument, "grpc: " + authority_ + " is not a numeric address", {}});
  }
  if (call->deadline) {
    call->timer = std::make_unique<Timer>(strand_, *call->deadline);
    call->timer->async_wait([weak_self = weak_from_this(),
                             weak_call = std::weak_ptr(call)](boost::system::error_code ec) {
      auto self = weak_self.lock();
      auto call = weak_call.lock();
      if (ec || !self || !call || call->finished) return;
      self->Expire(call);
    });
  }
  waiting_.push_back(std::move(call));
  Pump();
}

void Http2Channel::Expire(const std::shared_ptr<ClientCall>& call) {
  GrpcStatus status{StatusCode::kDeadlineExceeded, "Deadline Exceeded", {}};
  auto connections = connections_;  // Cancel may close a connection, which leaves the list
  for (auto& connection : connections) {
    if (connection->Cancel(*call, status)) return;
  }
  std::erase(waiting_, call);
  Complete(*call, std::move(status));
}

void Http2Channel::Pump() {
  while (!waiting_.empty()) {
    if (current_ && !current_->usable()) current_.reset();
    if (!current_) {
      current_ =
          std::make_shared<ClientConnection>(weak_from_this(), strand_, *endpoint_, authority_,
                                             host_, tls_.get());
      connections_.push_back(current_);
      current_->Connect();
      return;
    }
    if (!current_->ready() || !current_->HasRoom()) break;
    auto call = std::move(waiting_.front());
    waiting_.pop_front();
    if (call->finished) continue;
    if (!current_->Submit(call)) waiting_.push_front(std::move(call));  // out of stream ids
  }
  // Kept alive across Flush, which may close it.
  if (auto connection = current_; connection && connection->ready()) connection->FlushSubmitted();
}

void Http2Channel::ConnectionClosed(ClientConnection* connection, bool was_ready,
                                    const GrpcStatus& why) {
  std::erase_if(connections_, [&](auto& c) { return c.get() == connection; });
  if (current_.get() != connection) return;
  current_.reset();
  if (!was_ready) {
    // The calls waiting were waiting for this connection: they fail, and the next call
    // tries again.
    auto waiting = std::move(waiting_);
    waiting_.clear();
    for (auto& call : waiting) Complete(*call, why);
    return;
  }
  Pump();  // calls waiting for room get a new connection
}

void Http2Channel::Close() {
  asio::post(strand_, [self = shared_from_this()] {
    GrpcStatus why = Unavailable("grpc: channel closed");
    auto waiting = std::move(self->waiting_);
    self->waiting_.clear();
    for (auto& call : waiting) Complete(*call, why);
    self->current_.reset();
    auto connections = self->connections_;  // Terminate removes each from connections_
    for (auto& connection : connections) connection->Terminate(why);
  });
}

}  // namespace

std::shared_ptr<GrpcChannel> GrpcChannel::Create(asio::io_context& loop, std::string host,
                                                 uint16_t port) {
  return std::make_shared<Http2Channel>(loop, std::move(host), port, nullptr);
}

std::shared_ptr<GrpcChannel> GrpcChannel::Create(asio::io_context& loop, std::string host,
                                                 uint16_t port,
                                                 std::shared_ptr<asio::ssl::context> tls) {
  return std::make_shared<Http2Channel>(loop, std::move(host), port, std::move(tls));
}

}  // namespace dapr::grpcapi
