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

std::string SerializeHead(const HttpResponse& response, bool keep_alive) {
  std::string head;
  head.reserve(160);
  auto status = static_cast<bhttp::status>(response.status);
  head.append("HTTP/1.1 ").append(std::to_string(response.status)).append(" ");
  head.append(bhttp::obsolete_reason(status)).append("\r\n");
  if (!response.content_type.empty()) AppendHeader(head, "Content-Type", response.content_type);
  for (const auto& [name, value] : response.headers) AppendHeader(head, name, value);
  // Dapr sends no Content-Length on a 204.
  if (response.status != 204 && response.status != 304) {
    AppendHeader(head, "Content-Length", std::to_string(response.body.size()));
  }
  if (!keep_alive) AppendHeader(head, "Connection", "close");
  head.append("\r\n");
  return head;
}

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
    ReadRequest();
  }

 private:
  void ReadRequest() {
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
    auto expect = parser_->get()[bhttp::field::expect];
    if (beast::iequals(expect, "100-continue")) {
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      asio::async_write(stream_, asio::buffer(kContinue.data(), kContinue.size()),
                        [self = shared_from_this()](beast::error_code write_ec, size_t) {
                          if (write_ec) return self->Close();
                          self->ReadBody();
                        });
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    bhttp::async_read(stream_, buffer_, *parser_,
                      [self = shared_from_this()](beast::error_code ec, size_t) {
                        self->OnRead(ec);
                      });
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
    auto request = ToRequest(std::move(message));
    server_.in_flight_.fetch_add(1);
    Dispatch(std::move(request));
  }

  static std::shared_ptr<HttpRequest> ToRequest(bhttp::request<bhttp::string_body>&& message) {
    auto request = std::make_shared<HttpRequest>();
    request->method = std::string(message.method_string());
    std::string_view target = message.target();
    size_t question = target.find('?');
    request->path = std::string(target.substr(0, question));
    if (question != std::string_view::npos) request->query = std::string(target.substr(question + 1));
    for (const auto& field : message) {
      request->headers.emplace_back(Lower(field.name_string()), std::string(field.value()));
    }
    request->body = std::move(message.body());
    return request;
  }

  void Dispatch(std::shared_ptr<HttpRequest> request) {
    const auto& token = server_.options_.api_token;
    if (token.enabled() && !IsHealthPath(request->path)) {
      auto presented = request->Header("dapr-api-token");
      if (!presented || !token.Matches(*presented)) {
        Respond(HttpResponse{401, "text/plain", {}, "invalid api token"});
        return;
      }
    }
    bool bad_param = false;
    const Handler* handler = server_.router_->Match(*request, bad_param);
    if (bad_param) {
      Respond(HttpResponse{400, "text/plain", {}, "invalid URL parameter"});
      return;
    }
    Responder responder = [self = shared_from_this()](HttpResponse response) {
      self->Respond(std::move(response));
    };
    (handler ? *handler : server_.router_->Fallback())(std::move(request), std::move(responder));
  }

  // May run on any thread (a worker usually).
  void Respond(HttpResponse response) {
    server_.in_flight_.fetch_sub(1);
    Write(std::move(response));
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
    out->head = SerializeHead(response, keep_alive_);
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

  void AfterWrite(beast::error_code ec) {
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
    if (drain_before_close_) Drain(kDrainBytes);
  }

  void Drain(size_t budget) {
    if (budget == 0) return;
    SetDeadline(kDrainTime);
    stream_.async_read_some(asio::buffer(scratch_), [self = shared_from_this(), budget](
                                                        beast::error_code ec, size_t n) {
      if (!ec && n < budget) self->Drain(budget - n);
    });
  }

  Stream stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
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
