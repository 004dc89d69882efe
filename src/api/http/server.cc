#include "api/http/server.h"

#include <spdlog/spdlog.h>

#include <array>
#include <atomic>
#include <limits>
#include <mutex>
#include <optional>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/write.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <thread>

#include "api/http/error_response.h"
#include "api/listen.h"
#include "common/loop_types.h"
#include "blocks/errors.h"

namespace dapr::http {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using loop::Strand;
using Stream = beast::basic_stream<tcp, Strand>;  // concrete executor: see loop_types.h

namespace {

constexpr auto kIdleTimeout = std::chrono::seconds(60);
// How long, and how much, an over-limit request may still send after its error answer.
constexpr auto kDrainTime = std::chrono::milliseconds(500);
constexpr size_t kDrainBytes = 64u << 20;
constexpr auto kSweepInterval = std::chrono::seconds(1);
// A body larger than this (or chunked, of unknown size) on a route that takes streams is
// handed to the handler as it arrives, in pieces of kPieceBytes.
constexpr uint64_t kStreamAbove = 64u << 10;
constexpr size_t kPieceBytes = 64u << 10;

bool IsHealthPath(std::string_view path) {
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  while (path.size() > 1 && path[0] == '/' && path[1] == '/') path.remove_prefix(1);
  return path == "/v1.0/healthz" || path == "/v1.0/healthz/outbound";
}

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Header values come from components too; a CR or LF must never split the head.
void AppendHeader(std::string& out, std::string_view name, std::string_view value) {
  out.append(name).append(": ");
  for (char c : value) out.push_back(c == '\r' || c == '\n' ? ' ' : c);
  out.append("\r\n");
}

// body_length: nullopt for a body of unknown length, sent chunked.
std::string SerializeHead(const HttpResponse& response, bool keep_alive,
                          std::optional<uint64_t> body_length) {
  std::string head;
  head.reserve(160);
  auto status = static_cast<bhttp::status>(response.status);
  head.append("HTTP/1.1 ").append(std::to_string(response.status)).append(" ");
  head.append(bhttp::obsolete_reason(status)).append("\r\n");
  if (!response.content_type.empty()) AppendHeader(head, "Content-Type", response.content_type);
  for (const auto& [name, value] : response.headers) AppendHeader(head, name, value);
  // Dapr sends no Content-Length on a 204.
  if (response.status != 204 && response.status != 304) {
    if (body_length) {
      AppendHeader(head, "Content-Length", std::to_string(*body_length));
    } else {
      AppendHeader(head, "Transfer-Encoding", "chunked");
    }
  }
  if (!keep_alive) AppendHeader(head, "Connection", "close");
  head.append("\r\n");
  return head;
}

bool HasNoBody(int status) { return status == 204 || status == 304 || (status >= 100 && status < 200); }

}  // namespace

class HttpServer::Impl {
 public:
  Impl(asio::io_context& io, HttpServerOptions options, std::shared_ptr<const Router> router)
      : options_(std::move(options)), router_(std::move(router)), io_(io) {}

  Status Start();
  void StopAccepting();
  void Stop();
  size_t InFlight() const { return in_flight_.load(); }

 private:
  class Session;
  void Accept(std::shared_ptr<tcp::acceptor> acceptor);

  HttpServerOptions options_;
  std::shared_ptr<const Router> router_;
  asio::io_context& io_;
  // Keeps run() going while there are no sockets (components may still post to the loop).
  std::vector<std::shared_ptr<tcp::acceptor>> acceptors_;
  void Sweep();

  std::atomic<size_t> in_flight_{0};
  std::atomic<bool> accepting_{true};
  std::mutex sessions_mutex_;
  std::vector<std::weak_ptr<Session>> sessions_;
  std::unique_ptr<asio::steady_timer> sweep_timer_;

  friend class Session;
};

// One client connection: read a request, dispatch, write the answer, repeat (keep-alive).
class HttpServer::Impl::Session : public std::enable_shared_from_this<Session> {
 public:
  Session(Stream::socket_type socket, Impl& server) : stream_(std::move(socket)), server_(server) {}

  // Idle and slow connections are closed by the server's once-a-second sweep (Sweep), not
  // by a timer per read: re-arming a timer costs two system calls per request.
  void SetDeadline(std::optional<std::chrono::steady_clock::duration> after) {
    deadline_.store(after ? (std::chrono::steady_clock::now() + *after).time_since_epoch().count()
                          : kNoDeadline);
  }

  // Called by the sweep: closes the socket when its deadline has passed, which ends any
  // pending read or write with an error.
  void CloseIfExpired(std::chrono::steady_clock::time_point now) {
    if (deadline_.load() > now.time_since_epoch().count()) return;
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] {
      beast::error_code ignored;
      self->stream_.socket().close(ignored);
    });
  }

  void Start() {
    // Synchronous writes (see Write) must never wait; asynchronous ones are unaffected.
    beast::error_code ignored;
    stream_.socket().non_blocking(true, ignored);
    // Beast reads at most what the buffer has room for (512 bytes when it is new): a typical
    // request (headers and a small body) should come in one read, not three.
    buffer_.reserve(kReadBufferBytes);
    ReadRequest();
  }

 private:
  void ReadRequest() {
    stream_parser_.reset();
    body_streamed_ = body_error_ = body_too_large_ = false;
    parser_.emplace();
    parser_->body_limit(server_.options_.max_body_bytes);
    parser_->header_limit(static_cast<std::uint32_t>(server_.options_.max_header_bytes + 4096));
    SetDeadline(kIdleTimeout);
    bhttp::async_read_header(stream_, buffer_, *parser_,
                             [self = shared_from_this()](beast::error_code ec, size_t) {
                               self->OnHeader(ec);
                             });
  }

  // A client that sent "Expect: 100-continue" waits (curl: one second) for a go-ahead
  // before it sends the body; give it, as Go's server does.
  void OnHeader(beast::error_code ec) {
    if (ec || parser_->is_done()) {
      OnRead(ec);
      return;
    }
    if (MaybeStream()) return;
    AfterContinue([self = shared_from_this()] {
      if (!self->ParseBuffered()) self->ReadBody();
    });
  }

  // A small body usually came in the header's read: parse it here. async_read would find it
  // needs no read and post its completion, one more pass through the loop per request.
  // Returns false when the body is not all here yet (then it is read as usual).
  bool ParseBuffered() {
    parser_->eager(true);
    beast::error_code ec;
    while (buffer_.size() > 0 && !parser_->is_done()) {
      size_t used = parser_->put(buffer_.data(), ec);
      buffer_.consume(used);
      if (ec == bhttp::error::need_more) return false;
      if (ec) break;
      if (used == 0) return false;
    }
    if (!ec && !parser_->is_done()) return false;
    OnRead(ec);
    return true;
  }

  // Sends "100 Continue" when the client waits for it, then goes on.
  template <class Next>
  void AfterContinue(Next next) {
    auto expect = parser_ ? parser_->get()[bhttp::field::expect]
                          : stream_parser_->get()[bhttp::field::expect];
    if (!beast::iequals(expect, "100-continue")) return next();
    static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    asio::async_write(stream_, asio::buffer(kContinue.data(), kContinue.size()),
                      [self = shared_from_this(), next = std::move(next)](
                          beast::error_code write_ec, size_t) mutable {
                        if (write_ec) return self->Close();
                        next();
                      });
  }

  void ReadBody() {
    bhttp::async_read(stream_, buffer_, *parser_,
                      [self = shared_from_this()](beast::error_code ec, size_t) {
                        self->OnRead(ec);
                      });
  }

  // --- A large body on a route that takes streams: the handler runs after the header and
  // reads the body piece by piece (RequestBody). No next request is read before the answer.

  class RequestBody final : public BodyReader {
   public:
    RequestBody(std::shared_ptr<Session> session, std::optional<uint64_t> length)
        : session_(std::move(session)), length_(length) {}
    std::optional<uint64_t> Length() const override { return length_; }
    void Read(std::function<void(Status, BodyPiece)> got) override {
      asio::dispatch(session_->stream_.get_executor(),
                     [session = session_, got = std::move(got)]() mutable {
                       session->ReadPiece(std::move(got));
                     });
    }

   private:
    std::shared_ptr<Session> session_;
    std::optional<uint64_t> length_;
  };

  bool MaybeStream() {
    std::optional<uint64_t> length;
    if (auto announced = parser_->content_length()) length = *announced;
    if (!parser_->chunked() && !(length && *length > kStreamAbove)) return false;
    auto request = ToRequest(parser_->get());
    if (!Authorized(*request)) return false;  // answered once the body is read, as any other
    bool bad_param = false;
    Router::Target target = server_.router_->Find(*request, bad_param);
    if (bad_param || target.body_mode != BodyMode::kStream) return false;
    keep_alive_ = parser_->get().keep_alive() && server_.accepting_.load();
    head_request_ = parser_->get().method() == bhttp::verb::head;
    stream_parser_.emplace(std::move(*parser_));
    parser_.reset();
    body_streamed_ = true;
    request->body_reader = std::make_shared<RequestBody>(shared_from_this(), length);
    server_.in_flight_.fetch_add(1);
    SetDeadline(std::nullopt);
    AfterContinue([self = shared_from_this(), request = std::move(request), target]() mutable {
      self->Call(target, std::move(request));
    });
    return true;
  }

  // On the strand. Fills a new piece from the connection (parsing chunked framing, if any).
  void ReadPiece(std::function<void(Status, BodyPiece)> got) {
    if (body_error_) return got(Status(StatusCode::kAborted, "the request body broke off"), {});
    if (stream_parser_->is_done()) return got(Status::Ok(), BodyPiece{{}, true});
    std::string piece(kPieceBytes, '\0');
    auto& body = stream_parser_->get().body();
    body.data = piece.data();
    body.size = piece.size();
    body.more = true;
    body_reading_ = true;
    SetDeadline(kIdleTimeout);  // a client that stops sending is dropped by the sweep
    bhttp::async_read_some(stream_, buffer_, *stream_parser_,
                           [self = shared_from_this(), piece = std::move(piece),
                            got = std::move(got)](beast::error_code ec, size_t) mutable {
                             self->OnPiece(ec, std::move(piece), std::move(got));
                           });
  }

  void OnPiece(beast::error_code ec, std::string piece, std::function<void(Status, BodyPiece)> got) {
    body_reading_ = false;
    SetDeadline(std::nullopt);
    if (ec == bhttp::error::need_buffer) ec = {};  // the piece is full
    if (ec) {
      body_error_ = true;
      keep_alive_ = false;
      if (ec == bhttp::error::body_limit) {
        body_too_large_ = true;
        drain_before_close_ = true;
        return got(Status(StatusCode::kResourceExhausted, "the request body is too large"), {});
      }
      return got(Status(StatusCode::kAborted, "the request body broke off: " + ec.message()), {});
    }
    piece.resize(piece.size() - stream_parser_->get().body().size);
    bool last = stream_parser_->is_done();
    if (piece.empty() && !last) return ReadPiece(std::move(got));  // only framing came
    got(Status::Ok(), BodyPiece{std::move(piece), last});
  }

  void OnRead(beast::error_code ec) {
    if (ec == bhttp::error::body_limit) {
      keep_alive_ = false;
      drain_before_close_ = true;
      Write(ErrorResponse(blocks::errors::BodyTooLarge(server_.options_.max_body_bytes)));
      return;
    }
    if (ec == bhttp::error::header_limit) {
      keep_alive_ = false;
      drain_before_close_ = true;
      Write(HttpResponse{431, "text/plain", {}, "request header fields too large"});
      return;
    }
    if (ec) {
      Close();
      return;
    }
    SetDeadline(std::nullopt);  // no server-side limit while the request is being served
    auto message = parser_->release();
    keep_alive_ = message.keep_alive() && server_.accepting_.load();
    head_request_ = message.method() == bhttp::verb::head;
    auto request = ToRequest(message);
    request->body = std::move(message.body());
    server_.in_flight_.fetch_add(1);
    Dispatch(std::move(request));
  }

  // The request line and headers (the body is the caller's to add).
  template <class Header>
  static std::shared_ptr<HttpRequest> ToRequest(const Header& message) {
    auto request = std::make_shared<HttpRequest>();
    request->method = std::string(message.method_string());
    std::string_view target = message.target();
    size_t question = target.find('?');
    request->path = std::string(target.substr(0, question));
    if (question != std::string_view::npos) request->query = std::string(target.substr(question + 1));
    for (const auto& field : message) {
      request->headers.emplace_back(Lower(field.name_string()), std::string(field.value()));
    }
    return request;
  }

  bool Authorized(const HttpRequest& request) const {
    const auto& token = server_.options_.api_token;
    if (!token.enabled() || IsHealthPath(request.path)) return true;
    auto presented = request.Header("dapr-api-token");
    return presented && token.Matches(*presented);
  }

  void Dispatch(std::shared_ptr<HttpRequest> request) {
    if (!Authorized(*request)) {
      Respond(HttpResponse{401, "text/plain", {}, "invalid api token"});
      return;
    }
    bool bad_param = false;
    Router::Target target = server_.router_->Find(*request, bad_param);
    if (bad_param) {
      Respond(HttpResponse{400, "text/plain", {}, "invalid URL parameter"});
      return;
    }
    Call(target, std::move(request));
  }

  void Call(Router::Target target, std::shared_ptr<HttpRequest> request) {
    Responder responder = [self = shared_from_this()](HttpResponse response) {
      self->Respond(std::move(response));
    };
    (*target.handler)(std::move(request), std::move(responder));
  }

  // May run on any thread (a worker usually).
  void Respond(HttpResponse response) {
    if (body_streamed_ || response.body_reader) {
      // Streams touch the connection's state: on its strand.
      return asio::dispatch(stream_.get_executor(), [self = shared_from_this(),
                                                      response = std::move(response)]() mutable {
        self->RespondOnStrand(std::move(response));
      });
    }
    server_.in_flight_.fetch_sub(1);
    Write(std::move(response));
  }

  void RespondOnStrand(HttpResponse response) {
    // Whatever the handler made of it, an oversized body is answered as such.
    if (body_streamed_ && body_too_large_) {
      response = ErrorResponse(blocks::errors::BodyTooLarge(server_.options_.max_body_bytes));
    }
    bool streams = response.body_reader && !HasNoBody(response.status) && !head_request_;
    if (!streams) {
      server_.in_flight_.fetch_sub(1);
      if (response.body_reader) response.body_reader.reset();  // nothing to send: let it go
      return Write(std::move(response));
    }
    WriteStreamed(std::move(response));
  }

  // The answer as it goes on the wire: our own head, and the body moved in (not copied).
  struct Outgoing {
    std::string head;
    std::string body;
  };

  // Tries to send the whole answer at once without waiting, from whatever thread produced it:
  // for the usual small answer this saves a hand-off to the I/O thread on the hot path.
  // Whatever does not fit in the socket buffer is sent asynchronously from the I/O thread.
  // Nothing else touches the socket meanwhile: the next read starts only after this write.
  void Write(HttpResponse response) {
    auto out = std::make_shared<Outgoing>();
    out->head = SerializeHead(response, keep_alive_, response.body.size());
    out->body = std::move(response.body);
    beast::error_code ec;
    std::array<asio::const_buffer, 2> buffers{asio::buffer(out->head), asio::buffer(out->body)};
    size_t sent = stream_.socket().write_some(buffers, ec);
    if (ec) sent = 0;  // would block, or a dead peer that the async write will report
    asio::dispatch(stream_.get_executor(), [self = shared_from_this(), out, sent] {
      self->FinishWrite(out, sent);
    });
  }

  void FinishWrite(std::shared_ptr<Outgoing> out, size_t sent) {
    if (sent >= out->head.size() + out->body.size()) {
      AfterWrite(beast::error_code());
      return;
    }
    size_t head_sent = std::min(sent, out->head.size());
    size_t body_sent = sent - head_sent;
    std::array<asio::const_buffer, 2> rest{
        asio::buffer(out->head.data() + head_sent, out->head.size() - head_sent),
        asio::buffer(out->body.data() + body_sent, out->body.size() - body_sent)};
    SetDeadline(kIdleTimeout);
    asio::async_write(stream_, rest, [self = shared_from_this(), out](beast::error_code ec, size_t) {
      self->AfterWrite(ec);
    });
  }

  // On the strand: the head, then each piece as the reader gives it (chunked when the
  // length is unknown), each written before the next is asked for.
  void WriteStreamed(HttpResponse response) {
    auto reader = std::move(response.body_reader);
    auto length = reader->Length();
    auto head = std::make_shared<std::string>(SerializeHead(response, keep_alive_, length));
    SetDeadline(kIdleTimeout);
    asio::async_write(stream_, asio::buffer(*head),
                      [self = shared_from_this(), head, reader, chunked = !length](
                          beast::error_code ec, size_t) mutable {
                        if (ec) return self->EndStreamed(ec);
                        self->PumpPiece(std::move(reader), chunked);
                      });
  }

  void PumpPiece(std::shared_ptr<BodyReader> reader, bool chunked) {
    SetDeadline(std::nullopt);  // waiting for the source is not the client's fault
    auto* source = reader.get();
    source->Read([self = shared_from_this(), reader = std::move(reader), chunked](
                     Status status, BodyPiece piece) mutable {
      asio::dispatch(self->stream_.get_executor(), [self, reader = std::move(reader), chunked,
                                                    status = std::move(status),
                                                    piece = std::move(piece)]() mutable {
        if (!status.ok()) {
          // Too late for an error answer: cut the body short, which the client sees.
          self->keep_alive_ = false;
          return self->EndStreamed(asio::error::connection_aborted);
        }
        self->WritePiece(std::move(reader), chunked, std::move(piece));
      });
    });
  }

  void WritePiece(std::shared_ptr<BodyReader> reader, bool chunked, BodyPiece piece) {
    bool last = piece.last;
    auto wire = std::make_shared<WirePiece>(ToWire(std::move(piece), chunked));
    std::array<asio::const_buffer, 3> buffers{asio::buffer(wire->size_line), asio::buffer(wire->bytes),
                                              asio::buffer(wire->after.data(), wire->after.size())};
    SetDeadline(kIdleTimeout);  // a client that stops reading is dropped by the sweep
    asio::async_write(stream_, buffers,
                      [self = shared_from_this(), wire, reader = std::move(reader), chunked,
                       last](beast::error_code ec, size_t) mutable {
                        if (ec || last) return self->EndStreamed(ec);
                        self->PumpPiece(std::move(reader), chunked);
                      });
  }

  void EndStreamed(beast::error_code ec) {
    server_.in_flight_.fetch_sub(1);
    AfterWrite(ec);
  }

  void AfterWrite(beast::error_code ec) {
    // A streamed request body not read to its end (the answer came first) leaves the
    // connection unusable for another request.
    if (body_streamed_ && (body_error_ || !stream_parser_->is_done())) {
      keep_alive_ = false;
      drain_before_close_ = drain_before_close_ || !body_error_;
    }
    if (ec || !keep_alive_) {
      Close();
      return;
    }
    ReadRequest();
  }

  void Close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    // Closing with unread request bytes makes the kernel send a reset, which can destroy
    // the answer before the client reads it; so read and drop the rest for a while first.
    if (drain_before_close_ && !body_reading_) Drain(kDrainBytes);
  }

  void Drain(size_t budget) {
    if (budget == 0) return;
    SetDeadline(kDrainTime);
    stream_.async_read_some(asio::buffer(scratch_), [self = shared_from_this(), budget](
                                                        beast::error_code ec, size_t n) {
      if (!ec && n < budget) self->Drain(budget - n);
    });
  }

  static constexpr size_t kReadBufferBytes = 8192;
  Stream stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  // A streamed request body (MaybeStream): its parser, and how far it got.
  std::optional<bhttp::request_parser<bhttp::buffer_body>> stream_parser_;
  bool body_streamed_ = false;
  bool body_reading_ = false;  // a piece is being read
  bool body_error_ = false;
  bool body_too_large_ = false;
  bool head_request_ = false;
  Impl& server_;
  bool keep_alive_ = true;
  bool drain_before_close_ = false;
  static constexpr int64_t kNoDeadline = std::numeric_limits<int64_t>::max();
  std::atomic<int64_t> deadline_{kNoDeadline};
  std::array<char, 16384> scratch_;
};

Status HttpServer::Impl::Start() {
  auto acceptors = api::Listen(io_, options_.listen_addresses, options_.port);
  if (!acceptors.ok()) return acceptors.error();
  acceptors_ = std::move(acceptors).value();
  for (auto& acceptor : acceptors_) Accept(acceptor);
  sweep_timer_ = std::make_unique<asio::steady_timer>(io_);
  Sweep();
  return Status::Ok();
}

void HttpServer::Impl::Accept(std::shared_ptr<tcp::acceptor> acceptor) {
  acceptor->async_accept(asio::make_strand(io_), [this, acceptor](beast::error_code ec,
                                                                  Stream::socket_type socket) {
    if (!accepting_.load() || !acceptor->is_open()) return;
    if (ec) return api::AcceptAgainLater(io_, [this, acceptor] { Accept(acceptor); });
    socket.set_option(tcp::no_delay(true), ec);
    auto session = std::make_shared<Session>(std::move(socket), *this);
    {
      std::lock_guard lock(sessions_mutex_);
      sessions_.push_back(session);
    }
    session->Start();
    Accept(acceptor);
  });
}

void HttpServer::Impl::Sweep() {
  auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(sessions_mutex_);
    std::erase_if(sessions_, [now](std::weak_ptr<Session>& weak) {
      auto session = weak.lock();
      if (!session) return true;
      session->CloseIfExpired(now);
      return false;
    });
  }
  sweep_timer_->expires_after(kSweepInterval);
  sweep_timer_->async_wait([this](beast::error_code ec) {
    if (!ec) Sweep();
  });
}

void HttpServer::Impl::StopAccepting() {
  accepting_.store(false);
  asio::post(io_, [this] {
    for (auto& acceptor : acceptors_) {
      beast::error_code ignored;
      acceptor->close(ignored);
    }
  });
}

// Sessions still open end when the loop stops (the runtime stops it after this).
void HttpServer::Impl::Stop() {
  if (sweep_timer_) asio::post(io_, [this] { sweep_timer_->cancel(); });
  StopAccepting();
}

HttpServer::HttpServer(asio::io_context& loop, HttpServerOptions options,
                       std::shared_ptr<const Router> router)
    : impl_(std::make_unique<Impl>(loop, std::move(options), std::move(router))) {}
HttpServer::~HttpServer() { impl_->Stop(); }
Status HttpServer::Start() { return impl_->Start(); }
void HttpServer::StopAccepting() { impl_->StopAccepting(); }
size_t HttpServer::InFlight() const { return impl_->InFlight(); }
void HttpServer::Stop() { impl_->Stop(); }

}  // namespace dapr::http
