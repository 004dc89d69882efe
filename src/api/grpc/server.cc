#include "api/grpc/server.h"

#include <nghttp2/nghttp2.h>
#include <spdlog/spdlog.h>

#include <sys/types.h>

#include <array>
#include <cstring>
#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/container/small_vector.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <mutex>
#include <unordered_map>

#include "api/grpc/h2_session.h"
#include "api/listen.h"

namespace dapr::grpcapi {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using loop::Strand;
using loop::Timer;
using Socket = loop::TcpSocket;

namespace {

// How many calls one client may have in flight on one connection.
constexpr uint32_t kMaxConcurrentStreams = 1000;

nghttp2_nv Header(std::string_view name, std::string_view value) {
  return {reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
          reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), name.size(), value.size(),
          NGHTTP2_NV_FLAG_NONE};
}

bool EndsWith(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

}  // namespace

class Connection;

// A call: what the request headers and body said, and its answer once there is one.
class Call final : public ServerCall, public ServerStream, public std::enable_shared_from_this<Call> {
 public:
  Call(int32_t stream_id, std::weak_ptr<Connection> connection,
       std::shared_ptr<GrpcServer::Impl> server)
      : stream_id_(stream_id), connection_(std::move(connection)), server_(std::move(server)) {}

  std::string_view request() const override { return request_; }
  std::string_view Path() const override { return path_; }
  std::optional<std::string_view> Metadata(std::string_view key) const override {
    for (const auto& entry : metadata_) {
      if (Text(entry.name_at, entry.name_size) == key) {
        return Text(entry.value_at, entry.value_size);
      }
    }
    return std::nullopt;
  }
  std::vector<std::pair<std::string, std::string>> AllMetadata() const override {
    std::vector<std::pair<std::string, std::string>> all;
    all.reserve(metadata_.size());
    for (const auto& entry : metadata_) {
      all.emplace_back(Text(entry.name_at, entry.name_size), Text(entry.value_at, entry.value_size));
    }
    return all;
  }
  std::optional<std::chrono::nanoseconds> Timeout() const override { return timeout_; }
  void Finish(GrpcStatus status, std::string response) override;
  void FinishFramed(std::string framed_response) override;
  void OnRequest(std::function<void(std::string_view)> data, std::function<void()> end,
                 std::function<void()> cancelled) override;
  void SendHeaders(std::vector<std::pair<std::string, std::string>> headers) override;
  void SendData(std::string bytes) override;
  void End(GrpcStatus status, std::vector<std::pair<std::string, std::string>> trailers) override;
  void EndWith(std::string bytes, GrpcStatus status,
               std::vector<std::pair<std::string, std::string>> trailers) override;
  void HoldRequestWindow() override { hold_window_ = true; }
  void Consumed(size_t bytes) override;
  void WhenSent(std::function<void()> ready) override;
  void Defer(std::function<void()> fn) override;
  void AddResponseHeader(std::string name, std::string value) override {
    if (finished_.load()) return;
    if (EndsWith(name, "-bin")) value = Base64Encode(value);
    response_headers_.emplace_back(std::move(name), std::move(value));
  }
  void AddResponseTrailer(std::string name, std::string value) override {
    if (finished_.load()) return;
    if (EndsWith(name, "-bin")) value = Base64Encode(value);
    response_trailers_.emplace_back(std::move(name), std::move(value));
  }

 private:
  friend class Connection;
  // Hands the answer to the connection's strand.
  void Answered();
  // The call no longer counts as in flight (once, whichever way it ended).
  void Release();

  int32_t stream_id_;
  std::weak_ptr<Connection> connection_;
  std::shared_ptr<GrpcServer::Impl> server_;

  // Request side: written by the connection before the handler runs, read-only after.
  std::string method_, path_, content_type_, encoding_;
  std::optional<std::chrono::nanoseconds> timeout_;
  // The caller's metadata: names and values back to back in one string, found by offset,
  // so that a call's headers cost one allocation, not two per header.
  struct MetadataEntry {
    uint32_t name_at, name_size, value_at, value_size;
  };
  std::string_view Text(uint32_t at, uint32_t size) const {
    return std::string_view(metadata_text_).substr(at, size);
  }
  void AddMetadata(std::string_view name, std::string_view value) {
    if (metadata_text_.capacity() < 256) metadata_text_.reserve(256);
    auto name_at = static_cast<uint32_t>(metadata_text_.size());
    metadata_text_.append(name);
    auto value_at = static_cast<uint32_t>(metadata_text_.size());
    metadata_text_.append(value);
    metadata_.push_back({name_at, static_cast<uint32_t>(name.size()), value_at,
                         static_cast<uint32_t>(value.size())});
  }
  std::string metadata_text_;
  boost::container::small_vector<MetadataEntry, 8> metadata_;
  std::string body_;            // the request body as it arrived: frame header, message
  std::string_view request_;    // the message, inside body_
  bool rejected_ = false;  // answered before its body ended (too large)

  // Answer side.
  std::atomic<bool> finished_{false};
  std::atomic<bool> released_{false};
  bool dispatched_ = false;
  GrpcStatus status_;
  std::string framed_response_;
  std::vector<std::pair<std::string, std::string>> response_headers_;
  std::vector<std::pair<std::string, std::string>> response_trailers_;
  size_t sent_ = 0;
  std::unique_ptr<Timer> deadline_;

  // A streamed call (the fallback handler's): on the connection's strand only.
  bool streaming_ = false;
  std::function<void(std::string_view)> on_data_;
  std::function<void()> on_end_;
  std::function<void()> on_cancel_;
  bool request_ended_ = false;
  bool response_submitted_ = false;
  std::string out_;  // response bytes not yet taken by nghttp2, from out_at_
  size_t out_at_ = 0;
  bool out_finished_ = false;  // End came: the trailers follow out_
  // Flow control (HoldRequestWindow): request bytes received and not yet released to the
  // caller's window; and what runs once out_ has been taken for sending.
  bool hold_window_ = false;
  size_t held_ = 0;
  std::function<void()> when_sent_;
};

class GrpcServer::Impl : public std::enable_shared_from_this<GrpcServer::Impl> {
 public:
  Impl(asio::io_context& io, GrpcServerOptions options) : io_(io), options_(std::move(options)) {}

  Status Start();
  void StopAccepting();
  void Stop();
  uint16_t Port() const {
    if (acceptors_.empty()) return 0;
    boost::system::error_code ec;
    auto endpoint = acceptors_.front()->local_endpoint(ec);
    return ec ? 0 : endpoint.port();
  }

  const UnaryHandler* Find(const std::string& path) const {
    auto it = handlers_.find(path);
    return it == handlers_.end() ? nullptr : &it->second;
  }
  const GrpcServerOptions& options() const { return options_; }

  std::unordered_map<std::string, UnaryHandler> handlers_;
  std::unordered_map<std::string, StreamHandler> stream_handlers_;
  StreamHandler fallback_;

  // The stream handler of a path: its own, else the fallback (when no unary one has it).
  const StreamHandler* FindStream(const std::string& path) const {
    if (auto it = stream_handlers_.find(path); it != stream_handlers_.end()) return &it->second;
    if (handlers_.count(path) || !fallback_) return nullptr;
    return &fallback_;
  }
  std::atomic<size_t> in_flight_{0};

 private:
  void Accept(std::shared_ptr<tcp::acceptor> acceptor);
  void ForEachConnection(const std::function<void(Connection&)>& fn);

  asio::io_context& io_;
  GrpcServerOptions options_;
  api::Acceptors acceptors_;
  std::atomic<bool> accepting_{true};
  std::mutex connections_mutex_;
  std::vector<std::weak_ptr<Connection>> connections_;
};

// One HTTP/2 connection. Everything on it runs on its strand; nghttp2 parses what arrives
// and produces what to send, and this class moves bytes between it and the socket.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(Socket socket, std::shared_ptr<GrpcServer::Impl> server)
      : socket_(std::move(socket)), server_(std::move(server)) {}

  ~Connection() {
    if (session_) nghttp2_session_del(session_);
  }

  void Start() {
    boost::system::error_code ec;
    socket_.non_blocking(true, ec);  // Flush writes without waiting
    if (ec || !CreateSession()) return Close();
    Flush();
    Read();
  }

  // Called on the strand with an answered call. A handler that answers at once does so
  // from inside nghttp2's receive callbacks, where sending is not allowed: the answer is then
  // only queued, and goes out with the flush that follows the receive.
  void Respond(const std::shared_ptr<Call>& call) {
    if (call->deadline_) call->deadline_->cancel();
    if (closed_ || calls_.find(call->stream_id_) == calls_.end()) return;  // client left
    Submit(*call);
    if (!receiving_) Flush();
  }

  void ShutdownNotice() {
    if (closed_) return;
    nghttp2_submit_shutdown_notice(session_);
    Flush();
  }

  void Terminate() {
    if (closed_) return;
    nghttp2_session_terminate_session(session_, NGHTTP2_NO_ERROR);
    Flush();
  }

  Strand strand() { return socket_.get_executor(); }

 private:
  bool CreateSession() {
    nghttp2_session_callbacks* callbacks = nullptr;
    if (nghttp2_session_callbacks_new(&callbacks) != 0) return false;
    nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks, &OnBeginHeaders);
    nghttp2_session_callbacks_set_on_header_callback(callbacks, &OnHeader);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, &OnDataChunk);
    nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, &OnFrameRecv);
    nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, &OnStreamClose);
    nghttp2_session_callbacks_set_on_frame_send_callback(callbacks, &OnFrameSend);
    int rv = NewSession(H2Side::kServer, &session_, callbacks, this);
    nghttp2_session_callbacks_del(callbacks);
    if (rv != 0) return false;
    return AnnounceSettings(session_, {{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, kMaxConcurrentStreams}});
  }

  void Read() {
    // The socket's executor is the strand, so its handlers run there.
    socket_.async_read_some(asio::buffer(read_buffer_), [self = shared_from_this()](
                                                            boost::system::error_code ec, size_t n) {
      if (ec || self->closed_) return self->Close();
      self->receiving_ = true;
      ssize_t used = nghttp2_session_mem_recv(self->session_, self->read_buffer_.data(), n);
      self->receiving_ = false;
      if (used < 0) return self->Close();  // not HTTP/2, or a protocol error: hang up
      self->Flush();
      if (!self->closed_) self->Read();
    });
  }

  // Sends what nghttp2 has queued; once nothing is left to read or write, closes.
  void Flush() {
    if (writing_ || closed_) return;
    boost::system::error_code ec;
    switch (FlushSession(session_, &socket_, write_buffer_, ec)) {
      case H2Flush::kSent: return;
      case H2Flush::kSessionDone:
      case H2Flush::kSessionError:
      case H2Flush::kSocketError: return Close();
      case H2Flush::kWaitForRoom: break;
    }
    writing_ = true;
    asio::async_write(socket_, asio::buffer(write_buffer_),
                      [self = shared_from_this()](boost::system::error_code ec, size_t) {
                        self->writing_ = false;
                        self->write_buffer_.clear();
                        if (ec) return self->Close();
                        self->Flush();
                      });
  }

  void Close() {
    if (closed_) return;
    closed_ = true;
    boost::system::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
    auto calls = std::move(calls_);
    calls_.clear();
    for (auto& [id, call] : calls) {
      if (call->deadline_) call->deadline_->cancel();
      if (call->streaming_) {
        StreamGone(*call);
      } else if (!call->dispatched_) {
        call->Release();
      }
    }
  }

  // --- nghttp2 callbacks (on the strand, inside mem_recv or mem_send) ---

  static Connection& Self(void* user_data) { return *static_cast<Connection*>(user_data); }

  static int OnBeginHeaders(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
    Connection& self = Self(user_data);
    // A call counts as in flight from its first header: a graceful stop waits for calls
    // whose body is still arriving too.
    self.server_->in_flight_.fetch_add(1);
    self.calls_[frame->hd.stream_id] =
        std::make_shared<Call>(frame->hd.stream_id, self.weak_from_this(), self.server_);
    return 0;
  }

  static int OnHeader(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                      size_t name_length, const uint8_t* value, size_t value_length, uint8_t,
                      void* user_data) {
    Call* call = Self(user_data).Find(frame->hd.stream_id);
    if (!call || call->dispatched_) return 0;  // trailers from the client carry nothing we use
    std::string_view key(reinterpret_cast<const char*>(name), name_length);
    std::string_view text(reinterpret_cast<const char*>(value), value_length);
    if (key == ":path") {
      call->path_ = text;
    } else if (key == ":method") {
      call->method_ = text;
    } else if (key == "content-type") {
      call->content_type_ = text;
    } else if (key == "grpc-encoding") {
      call->encoding_ = text;
    } else if (key == "grpc-timeout") {
      call->timeout_ = ParseTimeout(text);
    } else if (!key.empty() && key[0] != ':' && key != "te") {
      if (EndsWith(key, "-bin")) {
        auto decoded = Base64Decode(text);
        if (decoded) call->AddMetadata(key, *decoded);
      } else {
        call->AddMetadata(key, text);
      }
    }
    return 0;
  }

  static int OnDataChunk(nghttp2_session* session, uint8_t, int32_t stream_id, const uint8_t* data,
                         size_t length, void* user_data) {
    Connection& self = Self(user_data);
    Call* call = self.Find(stream_id);
    bool held = call && call->streaming_ && call->hold_window_ && !call->finished_.load();
    if (held) {
      call->held_ += length;
    } else {
      nghttp2_session_consume(session, stream_id, length);
    }
    if (!call || call->rejected_) return 0;
    if (call->streaming_) {
      std::string_view bytes(reinterpret_cast<const char*>(data), length);
      if (call->on_data_) {
        call->on_data_(bytes);
      } else if (call->body_.size() + length <= self.server_->options().max_message_bytes) {
        call->body_.append(bytes);  // until the handler takes the stream
      } else {
        nghttp2_submit_rst_stream(self.session_, NGHTTP2_FLAG_NONE, stream_id, NGHTTP2_ENHANCE_YOUR_CALM);
      }
      return 0;
    }
    call->body_.append(reinterpret_cast<const char*>(data), length);
    size_t limit = self.server_->options().max_message_bytes;
    // The first message's announced length, or the body itself (a later message, or bytes
    // that never end), may not pass the limit: the body is held in memory.
    bool announced_too_large =
        call->body_.size() >= kFrameHeaderBytes && FramedLength(call->body_) > limit;
    if (announced_too_large || call->body_.size() > limit + kFrameHeaderBytes) {
      // Answer now and ask the client to stop sending (RST_STREAM NO_ERROR after a whole
      // answer is HTTP/2's way to refuse the rest of a body).
      call->rejected_ = true;
      size_t size = announced_too_large ? FramedLength(call->body_) : call->body_.size();
      std::string message = "grpc: received message larger than max (" + std::to_string(size) +
                            " vs. " + std::to_string(limit) + ")";
      call->body_.clear();
      call->body_.shrink_to_fit();
      call->finished_ = true;
      call->status_ = {StatusCode::kResourceExhausted, std::move(message), {}};
      call->Release();
      self.Submit(*call);  // OnFrameSend resets the stream once this answer is out
    }
    return 0;
  }

  // A stream answered before its request ended is reset once the answer is sent: reset
  // earlier, nghttp2 would drop the queued answer.
  static int OnFrameSend(nghttp2_session* session, const nghttp2_frame* frame, void* user_data) {
    if (frame->hd.type != NGHTTP2_HEADERS || !(frame->hd.flags & NGHTTP2_FLAG_END_STREAM)) return 0;
    Call* call = Self(user_data).Find(frame->hd.stream_id);
    if (call && call->rejected_) {
      nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, frame->hd.stream_id, NGHTTP2_NO_ERROR);
    }
    return 0;
  }

  static int OnFrameRecv(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
    if (frame->hd.type != NGHTTP2_DATA && frame->hd.type != NGHTTP2_HEADERS) return 0;
    Connection& self = Self(user_data);
    auto it = self.calls_.find(frame->hd.stream_id);
    if (it == self.calls_.end()) return 0;
    Call& call = *it->second;
    // Refuse what is not a gRPC call as soon as its headers are in, before any body is read.
    if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
      if (call.content_type_.rfind("application/grpc", 0) != 0) {
        self.RejectHttp(call, "415");
      } else if (call.method_ != "POST") {
        self.RejectHttp(call, "405");
      } else if (const StreamHandler* handler = self.server_->FindStream(call.path_)) {
        self.StartStream(it->second, *handler);
      }
    }
    if (call.streaming_) {
      if (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) self.EndOfRequest(call);
      return 0;
    }
    if (!(frame->hd.flags & NGHTTP2_FLAG_END_STREAM)) return 0;
    if (call.rejected_ || call.dispatched_) return 0;
    self.Dispatch(it->second);
    return 0;
  }

  static int OnStreamClose(nghttp2_session*, int32_t stream_id, uint32_t, void* user_data) {
    Connection& self = Self(user_data);
    auto it = self.calls_.find(stream_id);
    if (it == self.calls_.end()) return 0;
    auto call = it->second;
    self.calls_.erase(it);
    self.ReleaseHeld(*call);
    if (call->deadline_) call->deadline_->cancel();
    if (call->streaming_) return self.StreamGone(*call), 0;
    // A call whose handler runs still counts until it is answered.
    if (!call->dispatched_) call->Release();
    return 0;
  }

 public:
  // --- streamed calls (the fallback handler's), on the strand ---

  void StartStream(const std::shared_ptr<Call>& call, const StreamHandler& handler) {
    call->streaming_ = true;
    call->dispatched_ = true;
    handler(call);
  }

  void EndOfRequest(Call& call) {
    call.request_ended_ = true;
    if (call.on_end_) call.on_end_();
  }

  // What a closing stream still held of the connection's window goes back to it.
  void ReleaseHeld(Call& call) {
    if (call.held_ == 0 || closed_) return;
    nghttp2_session_consume_connection(session_, call.held_);
    call.held_ = 0;
  }

  // The stream closed: after its answer, or because the caller reset it or the connection
  // ended first. What the handler gave (often holding the handler's object, which holds
  // the call) goes now.
  void StreamGone(Call& call) {
    call.when_sent_ = nullptr;
    auto cancelled = std::move(call.on_cancel_);
    call.on_cancel_ = nullptr;
    call.on_data_ = nullptr;
    call.on_end_ = nullptr;
    if (call.finished_.exchange(true)) return;
    call.Release();
    if (cancelled) cancelled();
  }

  void StreamHeaders(const std::shared_ptr<Call>& call, std::vector<std::pair<std::string, std::string>> headers) {
    if (closed_ || call->response_submitted_ || !calls_.count(call->stream_id_)) return;
    for (auto& [name, value] : headers) call->AddResponseHeader(std::move(name), std::move(value));
    SubmitStreamResponse(*call);
    if (!receiving_) Flush();
  }

  void StreamData(const std::shared_ptr<Call>& call, std::string bytes, bool flush = true) {
    if (closed_ || call->out_finished_ || !calls_.count(call->stream_id_)) return;
    if (!call->response_submitted_) SubmitStreamResponse(*call);
    call->out_.append(bytes);
    nghttp2_session_resume_data(session_, call->stream_id_);
    if (flush && !receiving_) Flush();
  }

  // Request bytes a held stream passed on go back to the caller's window.
  void StreamConsumed(const std::shared_ptr<Call>& call, size_t bytes) {
    if (closed_ || !calls_.count(call->stream_id_)) return;
    bytes = std::min(bytes, call->held_);
    call->held_ -= bytes;
    nghttp2_session_consume(session_, call->stream_id_, bytes);
    if (!receiving_) Flush();
  }

  void StreamWhenSent(const std::shared_ptr<Call>& call, std::function<void()> ready) {
    if (closed_ || call->out_finished_ || !calls_.count(call->stream_id_)) return;
    if (call->out_at_ < call->out_.size()) {
      call->when_sent_ = std::move(ready);
      return;
    }
    // Posted, not run here: `ready` usually queues more, which must not re-enter this.
    asio::post(strand(), std::move(ready));
  }

  void StreamEnd(const std::shared_ptr<Call>& call, GrpcStatus status,
                 std::vector<std::pair<std::string, std::string>> trailers) {
    if (closed_ || call->out_finished_ || !calls_.count(call->stream_id_)) return;
    call->status_ = std::move(status);
    for (auto& [name, value] : trailers) {
      if (EndsWith(name, "-bin")) value = Base64Encode(value);
      call->response_trailers_.emplace_back(std::move(name), std::move(value));
    }
    call->out_finished_ = true;
    if (!call->response_submitted_) {
      Submit(*call);  // nothing was sent: a whole (or trailers-only) answer
    } else {
      nghttp2_session_resume_data(session_, call->stream_id_);
    }
    if (!receiving_) Flush();
  }

 private:
  void SubmitStreamResponse(Call& call) {
    call.response_submitted_ = true;
    SubmitHeadersAndBody(call, &ReadStreamResponse);
  }

  // The answer's headers, then a body nghttp2 pulls from `read` (trailers after it).
  void SubmitHeadersAndBody(Call& call, nghttp2_data_source_read_callback read) {
    std::vector<nghttp2_nv> headers = {Header(":status", "200"),
                                       Header("content-type", "application/grpc")};
    for (const auto& [name, value] : call.response_headers_) headers.push_back(Header(name, value));
    nghttp2_data_provider body;
    body.source.ptr = &call;
    body.read_callback = read;
    nghttp2_submit_response(session_, call.stream_id_, headers.data(), headers.size(), &body);
  }

  // The answer's bytes as SendData queued them; deferred until more come or End does.
  static ssize_t ReadStreamResponse(nghttp2_session* session, int32_t stream_id, uint8_t* buffer,
                                    size_t length, uint32_t* flags, nghttp2_data_source* source,
                                    void* user_data) {
    auto& call = *static_cast<Call*>(source->ptr);
    size_t n = std::min(length, call.out_.size() - call.out_at_);
    std::memcpy(buffer, call.out_.data() + call.out_at_, n);
    call.out_at_ += n;
    if (call.out_at_ < call.out_.size()) return static_cast<ssize_t>(n);
    call.out_.clear();
    call.out_at_ = 0;
    if (call.when_sent_) asio::post(Self(user_data).strand(), std::move(call.when_sent_));
    call.when_sent_ = nullptr;
    if (!call.out_finished_) return n == 0 ? NGHTTP2_ERR_DEFERRED : static_cast<ssize_t>(n);
    *flags |= NGHTTP2_DATA_FLAG_EOF | NGHTTP2_DATA_FLAG_NO_END_STREAM;
    if (!SubmitTrailers(session, stream_id, call)) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    return static_cast<ssize_t>(n);
  }

  // grpc-status (and grpc-message, grpc-status-details-bin) with the call's trailers.
  static bool SubmitTrailers(nghttp2_session* session, int32_t stream_id, const Call& call) {
    std::string code = std::to_string(static_cast<int>(call.status_.code));
    std::string message = PercentEncode(call.status_.message);
    std::string details = Base64Encode(call.status_.details);
    std::vector<nghttp2_nv> trailers = {Header("grpc-status", code)};
    if (!message.empty()) trailers.push_back(Header("grpc-message", message));
    if (!details.empty()) trailers.push_back(Header("grpc-status-details-bin", details));
    for (const auto& [name, value] : call.response_trailers_) trailers.push_back(Header(name, value));
    return nghttp2_submit_trailer(session, stream_id, trailers.data(), trailers.size()) == 0;
  }

  Call* Find(int32_t stream_id) {
    auto it = calls_.find(stream_id);
    return it == calls_.end() ? nullptr : it->second.get();
  }

  // The request is whole: check it, then hand it to its method's handler.
  void Dispatch(const std::shared_ptr<Call>& call) {
    call->dispatched_ = true;
    const UnaryHandler* handler = server_->Find(call->path_);
    if (!handler) {
      return Answer(*call, {StatusCode::kUnimplemented, "unknown method " + call->path_, {}});
    }
    auto message = ParseUnaryBody(call->body_);
    if (!message.ok()) return Answer(*call, message.error());
    if (message->compressed) {
      bool identity = call->encoding_.empty() || call->encoding_ == "identity";
      return Answer(*call, identity ? GrpcStatus{StatusCode::kInternal,
                                                 "compressed message without grpc-encoding", {}}
                                    : GrpcStatus{StatusCode::kUnimplemented,
                                                 "message compression (" + call->encoding_ +
                                                     ") is not supported",
                                                 {}});
    }
    call->request_ = message->bytes;
    // A deadline of years is no deadline (and would overflow the clock).
    if (call->timeout_ && *call->timeout_ < std::chrono::hours(24 * 365)) StartDeadline(call);
    (*handler)(call);
  }

  void StartDeadline(const std::shared_ptr<Call>& call) {
    call->deadline_ = std::make_unique<Timer>(socket_.get_executor(), *call->timeout_);
    call->deadline_->async_wait([weak = std::weak_ptr<Call>(call)](boost::system::error_code ec) {
      if (ec) return;
      if (auto call = weak.lock()) {
        call->Finish({StatusCode::kDeadlineExceeded, "Deadline Exceeded", {}}, {});
      }
    });
  }

  // An answer decided by the server itself, before any handler ran.
  void Answer(Call& call, GrpcStatus status) {
    call.finished_ = true;
    call.status_ = std::move(status);
    call.Release();
    Submit(call);
  }

  // Not a gRPC call: an HTTP status only; OnFrameSend resets the stream if it is still open.
  void RejectHttp(Call& call, std::string_view http_status) {
    call.rejected_ = true;
    call.finished_ = true;
    call.Release();
    nghttp2_nv headers[] = {Header(":status", http_status)};
    nghttp2_submit_response(session_, call.stream_id_, headers, 1, nullptr);
  }

  // Queues the answer of a call: headers, then the message and trailers, or a
  // "trailers-only" answer for an error.
  void Submit(Call& call) {
    if (!call.status_.ok()) {
      std::string code = std::to_string(static_cast<int>(call.status_.code));
      std::string message = PercentEncode(call.status_.message);
      std::string details = Base64Encode(call.status_.details);
      std::vector<nghttp2_nv> headers = {Header(":status", "200"),
                                         Header("content-type", "application/grpc"),
                                         Header("grpc-status", code)};
      if (!message.empty()) headers.push_back(Header("grpc-message", message));
      if (!details.empty()) headers.push_back(Header("grpc-status-details-bin", details));
      for (const auto& [name, value] : call.response_headers_) headers.push_back(Header(name, value));
      for (const auto& [name, value] : call.response_trailers_) headers.push_back(Header(name, value));
      nghttp2_submit_response(session_, call.stream_id_, headers.data(), headers.size(), nullptr);
      return;
    }
    SubmitHeadersAndBody(call, &ReadResponse);
  }

  // nghttp2 pulls the framed message from here; after its last byte come the trailers.
  static ssize_t ReadResponse(nghttp2_session* session, int32_t stream_id, uint8_t* buffer,
                              size_t length, uint32_t* flags, nghttp2_data_source* source,
                              void*) {
    auto& call = *static_cast<Call*>(source->ptr);
    size_t n = std::min(length, call.framed_response_.size() - call.sent_);
    std::memcpy(buffer, call.framed_response_.data() + call.sent_, n);
    call.sent_ += n;
    if (call.sent_ == call.framed_response_.size()) {
      *flags |= NGHTTP2_DATA_FLAG_EOF | NGHTTP2_DATA_FLAG_NO_END_STREAM;
      if (!SubmitTrailers(session, stream_id, call)) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    }
    return static_cast<ssize_t>(n);
  }

  Socket socket_;
  std::shared_ptr<GrpcServer::Impl> server_;
  nghttp2_session* session_ = nullptr;
  std::array<uint8_t, 32 << 10> read_buffer_;
  std::string write_buffer_;
  bool writing_ = false;
  bool closed_ = false;
  bool receiving_ = false;  // inside nghttp2_session_mem_recv
  std::unordered_map<int32_t, std::shared_ptr<Call>> calls_;
};

void Call::Finish(GrpcStatus status, std::string response) {
  if (status.ok()) return FinishFramed(FrameMessage(response));
  if (finished_.exchange(true)) return;
  status_ = std::move(status);
  Answered();
}

void Call::FinishFramed(std::string framed_response) {
  if (finished_.exchange(true)) return;
  framed_response_ = std::move(framed_response);
  Answered();
}

void Call::OnRequest(std::function<void(std::string_view)> data, std::function<void()> end,
                     std::function<void()> cancelled) {
  on_data_ = std::move(data);
  on_end_ = std::move(end);
  on_cancel_ = std::move(cancelled);
  if (!body_.empty()) {
    std::string early = std::move(body_);
    body_.clear();
    on_data_(early);
  }
  if (request_ended_ && on_end_) on_end_();
}

// The answer's parts go to the connection's strand, in the order they were given.
void Call::SendHeaders(std::vector<std::pair<std::string, std::string>> headers) {
  auto connection = connection_.lock();
  if (!connection) return;
  asio::dispatch(connection->strand(), [connection, self = shared_from_this(), headers = std::move(headers)]() mutable {
    connection->StreamHeaders(self, std::move(headers));
  });
}

void Call::SendData(std::string bytes) {
  auto connection = connection_.lock();
  if (!connection) return;
  asio::dispatch(connection->strand(), [connection, self = shared_from_this(), bytes = std::move(bytes)]() mutable {
    connection->StreamData(self, std::move(bytes));
  });
}

void Call::EndWith(std::string bytes, GrpcStatus status,
                   std::vector<std::pair<std::string, std::string>> trailers) {
  if (finished_.exchange(true)) return;
  Release();
  auto connection = connection_.lock();
  if (!connection) return;
  asio::dispatch(connection->strand(), [connection, self = shared_from_this(), bytes = std::move(bytes),
                                        status = std::move(status), trailers = std::move(trailers)]() mutable {
    connection->StreamData(self, std::move(bytes), false);
    connection->StreamEnd(self, std::move(status), std::move(trailers));
  });
}

void Call::End(GrpcStatus status, std::vector<std::pair<std::string, std::string>> trailers) {
  if (finished_.exchange(true)) return;
  Release();
  auto connection = connection_.lock();
  if (!connection) return;
  asio::dispatch(connection->strand(), [connection, self = shared_from_this(), status = std::move(status),
                                        trailers = std::move(trailers)]() mutable {
    connection->StreamEnd(self, std::move(status), std::move(trailers));
  });
}

void Call::Consumed(size_t bytes) {
  auto connection = connection_.lock();
  if (!connection) return;
  asio::dispatch(connection->strand(), [connection, self = shared_from_this(), bytes] {
    connection->StreamConsumed(self, bytes);
  });
}

void Call::WhenSent(std::function<void()> ready) {
  auto connection = connection_.lock();
  if (!connection) return;
  asio::dispatch(connection->strand(), [connection, self = shared_from_this(), ready = std::move(ready)]() mutable {
    connection->StreamWhenSent(self, std::move(ready));
  });
}

void Call::Defer(std::function<void()> fn) {
  auto connection = connection_.lock();
  if (!connection) return;
  asio::post(connection->strand(), std::move(fn));
}

void Call::Release() {
  if (!released_.exchange(true)) server_->in_flight_.fetch_sub(1);
}

void Call::Answered() {
  Release();
  auto connection = connection_.lock();
  if (!connection) return;
  asio::dispatch(connection->strand(), [connection, self = shared_from_this()] {
    connection->Respond(self);
  });
}

Status GrpcServer::Impl::Start() {
  auto acceptors = api::Listen(io_, options_.listen_addresses, options_.port);
  if (!acceptors.ok()) return acceptors.error();
  acceptors_ = std::move(acceptors).value();
  for (auto& acceptor : acceptors_) Accept(acceptor);
  return Status::Ok();
}

void GrpcServer::Impl::Accept(std::shared_ptr<tcp::acceptor> acceptor) {
  auto strand = asio::make_strand(io_);
  acceptor->async_accept(strand, [self = shared_from_this(), acceptor](
                                     boost::system::error_code ec, Socket socket) {
    if (!self->accepting_.load() || !acceptor->is_open()) return;
    if (ec) return api::AcceptAgainLater(self->io_, [self, acceptor] { self->Accept(acceptor); });
    socket.set_option(tcp::no_delay(true), ec);
    auto connection = std::make_shared<Connection>(std::move(socket), self);
    {
      std::lock_guard lock(self->connections_mutex_);
      std::erase_if(self->connections_, [](auto& weak) { return weak.expired(); });
      self->connections_.push_back(connection);
    }
    connection->Start();
    self->Accept(acceptor);
  });
}

void GrpcServer::Impl::ForEachConnection(const std::function<void(Connection&)>& fn) {
  std::lock_guard lock(connections_mutex_);
  for (auto& weak : connections_) {
    if (auto connection = weak.lock()) {
      asio::dispatch(connection->strand(), [connection, fn] { fn(*connection); });
    }
  }
}

void GrpcServer::Impl::StopAccepting() {
  if (!accepting_.exchange(false)) return;
  asio::dispatch(io_, [self = shared_from_this()] {
    for (auto& acceptor : self->acceptors_) {
      boost::system::error_code ignored;
      acceptor->close(ignored);
    }
  });
  ForEachConnection([](Connection& c) { c.ShutdownNotice(); });
}

void GrpcServer::Impl::Stop() {
  StopAccepting();
  ForEachConnection([](Connection& c) { c.Terminate(); });
}

GrpcServer::GrpcServer(asio::io_context& loop, GrpcServerOptions options)
    : impl_(std::make_shared<Impl>(loop, std::move(options))) {}
GrpcServer::~GrpcServer() { impl_->Stop(); }
void GrpcServer::AddUnary(std::string path, UnaryHandler handler) {
  impl_->handlers_[std::move(path)] = std::move(handler);
}
void GrpcServer::SetFallback(StreamHandler handler) { impl_->fallback_ = std::move(handler); }
void GrpcServer::AddStream(std::string path, StreamHandler handler) {
  impl_->stream_handlers_[std::move(path)] = std::move(handler);
}
bool GrpcServer::HasService(std::string_view service) const {
  std::vector<std::string_view> paths;
  for (const auto& [path, handler] : impl_->handlers_) paths.push_back(path);
  for (const auto& [path, handler] : impl_->stream_handlers_) paths.push_back(path);
  for (std::string_view p : paths) {
    if (p.size() > service.size() + 2 && p[0] == '/' && p.substr(1, service.size()) == service &&
        p[service.size() + 1] == '/') {
      return true;
    }
  }
  return false;
}
Status GrpcServer::Start() { return impl_->Start(); }
uint16_t GrpcServer::Port() const { return impl_->Port(); }
void GrpcServer::StopAccepting() { impl_->StopAccepting(); }
size_t GrpcServer::InFlight() const { return impl_->in_flight_.load(); }
void GrpcServer::Stop() { impl_->Stop(); }

}  // namespace dapr::grpcapi
