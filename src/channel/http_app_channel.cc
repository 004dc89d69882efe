#include "channel/http_app_channel.h"

#include "common/loop_types.h"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <array>
#include <deque>
#include <optional>
#include <variant>
#include <vector>

namespace dapr::channel {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using loop::Strand;
using Stream = beast::basic_stream<tcp, Strand>;
using TlsStream = beast::ssl_stream<Stream>;
using Resolver = asio::ip::basic_resolver<tcp, Strand>;

namespace {

// An answer larger than this (or chunked, of unknown size) goes to a caller that can take a
// stream as it comes, in pieces of kPieceBytes.
constexpr uint64_t kStreamAbove = 64u << 10;
constexpr size_t kPieceBytes = 64u << 10;

// Headers that belong to one hop, or that the channel sets itself: never relayed.
bool IsHopHeader(std::string_view name) {
  return IsFramingHeader(name) || beast::iequals(name, "content-type") ||
         beast::iequals(name, "proxy-authenticate") || beast::iequals(name, "proxy-authorization");
}

// A numeric host is used as it is; a name is resolved when a connection is made.
std::optional<tcp::endpoint> NumericEndpoint(const std::string& host, uint16_t port) {
  boost::system::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  if (ec) return std::nullopt;
  return tcp::endpoint(address, port);
}

// One keep-alive connection, plain or TLS.
struct Connection {
  Connection(Strand strand, asio::ssl::context* tls) : stream(MakeStream(std::move(strand), tls)) {}
  static std::variant<Stream, TlsStream> MakeStream(Strand strand, asio::ssl::context* tls) {
    if (!tls) return std::variant<Stream, TlsStream>(std::in_place_index<0>, std::move(strand));
    return std::variant<Stream, TlsStream>(std::in_place_index<1>, Stream(std::move(strand)), *tls);
  }
  Stream& tcp_stream() {
    return std::visit([](auto& s) -> Stream& { return beast::get_lowest_layer(s); }, stream);
  }
  std::variant<Stream, TlsStream> stream;
  beast::flat_buffer buffer;
};

}  // namespace

class HttpAppChannel::Impl : public std::enable_shared_from_this<HttpAppChannel::Impl> {
 public:
  Impl(asio::io_context& loop, HttpAppChannelOptions options)
      : strand_(asio::make_strand(loop)),
        options_(std::move(options)),
        endpoint_(NumericEndpoint(options_.host, options_.port)) {}

  void Invoke(AppRequest request, AppCallback done) {
    asio::dispatch(strand_, [self = shared_from_this(), request = std::move(request),
                             done = std::move(done)]() mutable {
      self->Start(std::move(request), std::move(done));
    });
  }

  // On the strand: a call is over; its connection goes back to the pool if it may be reused.
  void Finished(std::unique_ptr<Connection> connection) {
    if (connection && idle_.size() < options_.max_idle_connections) {
      idle_.push_back(std::move(connection));
    }
  }

  std::unique_ptr<Connection> TakeIdle() {
    if (idle_.empty()) return nullptr;
    auto connection = std::move(idle_.back());
    idle_.pop_back();
    return connection;
  }

  Strand strand() const { return strand_; }
  const HttpAppChannelOptions& options() const { return options_; }
  const std::optional<tcp::endpoint>& endpoint() const { return endpoint_; }
  std::string_view scheme() const { return options_.tls ? "https" : "http"; }

 private:
  void Start(AppRequest request, AppCallback done);

  Strand strand_;
  HttpAppChannelOptions options_;
  std::optional<tcp::endpoint> endpoint_;
  std::vector<std::unique_ptr<Connection>> idle_;
};

namespace {

// One call: connect (or reuse), write the request, read the answer. A pooled connection the
// app has closed meanwhile fails before any answer arrives: the call then goes once more on
// a new connection, which is safe because the app never saw it.
class Exchange : public std::enable_shared_from_this<Exchange> {
 public:
  Exchange(std::shared_ptr<HttpAppChannel::Impl> channel, AppRequest request, AppCallback done)
      : channel_(std::move(channel)), done_(std::move(done)) {
    BuildRequest(std::move(request));
  }

  void Run() {
    // A streamed body cannot be sent twice, so it never risks a pooled connection the app
    // may have closed: it gets a new one.
    if (!request_body_) connection_ = channel_->TakeIdle();
    if (connection_) {
      reused_ = true;
      return Write();
    }
    Connect();
  }

 private:
  void BuildRequest(AppRequest request) {
    const auto& options = channel_->options();
    verb_text_ = request.verb;
    target_ = options.path_prefix + "/" + request.method;
    if (!request.query.empty()) target_ += "?" + request.query;
    request_.method_string(request.verb);
    request_.target(target_);
    request_.version(11);
    for (auto& [name, value] : request.headers) {
      if (!IsHopHeader(name)) request_.insert(name, value);
    }
    for (const auto& [name, value] : options.fixed_headers) request_.set(name, value);
    request_.set(bhttp::field::host, options.host_header.empty()
                                         ? options.host + ":" + std::to_string(options.port)
                                         : options.host_header);
    if (!options.app_api_token.empty()) request_.set("dapr-api-token", options.app_api_token);
    if (!request.content_type.empty()) request_.set(bhttp::field::content_type, request.content_type);
    request_.keep_alive(true);
    stream_response_ = request.stream_response;
    if (request.body_reader) {
      request_body_ = std::move(request.body_reader);
      request_sent_ = false;
      if (auto length = request_body_->Length()) {
        request_.content_length(*length);
      } else {
        request_.chunked(true);
      }
      return;
    }
    request_.body() = std::move(request.body);
    request_.prepare_payload();
  }

  void Connect() {
    connection_ = std::make_unique<Connection>(channel_->strand(), channel_->options().tls.get());
    if (const auto& endpoint = channel_->endpoint()) return ConnectTo(std::array{*endpoint});
    // A host name: looked up on Asio's resolver thread, never on the loop.
    resolver_.emplace(channel_->strand());
    const auto& options = channel_->options();
    resolver_->async_resolve(options.host, std::to_string(options.port),
                             [self = shared_from_this()](beast::error_code ec, auto results) {
                               if (ec) return self->Fail(ec);
                               self->ConnectTo(results);
                             });
  }

  template <class Endpoints>
  void ConnectTo(const Endpoints& endpoints) {
    connection_->tcp_stream().async_connect(
        endpoints, [self = shared_from_this()](beast::error_code ec, auto&&...) {
          if (ec) return self->Fail(ec);
          self->connection_->tcp_stream().socket().set_option(tcp::no_delay(true), ec);
          self->Handshake();
        });
  }

  void Handshake() {
    auto* tls = std::get_if<TlsStream>(&connection_->stream);
    if (!tls) return Write();
    const std::string& host = channel_->options().host;
    // SNI and the certificate's host name check (used when the context verifies).
    if (!NumericEndpoint(host, 0)) SSL_set_tlsext_host_name(tls->native_handle(), host.c_str());
    tls->set_verify_callback(asio::ssl::host_name_verification(host));
    tls->async_handshake(asio::ssl::stream_base::client,
                         [self = shared_from_this()](beast::error_code ec) {
                           if (ec) return self->Fail(ec);
                           self->Write();
                         });
  }

  // The head is written out here into one string and sent with the body in one gather
  // write: Beast's serializer walks the same fields through layers of buffer views, which
  // cost more than the rest of building the request.
  void Write() {
    if (request_body_) return WriteHead();
    head_ = HeadText(request_);
    std::array<asio::const_buffer, 2> buffers{asio::buffer(head_), asio::buffer(request_.body())};
    std::visit([&](auto& stream) {
      asio::async_write(stream, buffers, [self = shared_from_this()](beast::error_code ec, size_t) {
        if (ec) return self->RetryOrFail(ec);
        self->Read();
      });
    }, connection_->stream);
  }

  static std::string HeadText(const bhttp::request<bhttp::string_body>& request) {
    std::string head;
    head.reserve(256);
    head.append(request.method_string()).push_back(' ');
    head.append(request.target()).append(" HTTP/1.1\r\n");
    for (const auto& field : request) {
      head.append(field.name_string()).append(": ").append(field.value()).append("\r\n");
    }
    head.append("\r\n");
    return head;
  }

  void Read() {
    parser_.emplace();
    parser_->body_limit(channel_->options().max_response_bytes);
    // An answer to HEAD has no body, whatever its Content-Length says.
    if (verb_text_ == "HEAD") parser_->skip(true);
    // The header first: Beast 1.74's eager parse (async_read) loses the body_limit error for
    // a Content-Length body, so the announced length is checked here.
    std::visit([this](auto& stream) {
      bhttp::async_read_header(stream, connection_->buffer, *parser_,
                               [self = shared_from_this()](beast::error_code ec, size_t) {
                                 if (ec) return self->RetryOrFail(ec);
                                 self->ReadBody();
                               });
    }, connection_->stream);
  }

  void ReadBody() {
    if (!parser_->is_done() && ShouldStream()) return StreamAnswer();
    auto announced = parser_->content_length();
    if (announced && *announced > channel_->options().max_response_bytes) {
      return Fail(bhttp::error::body_limit);
    }
    if (parser_->is_done()) return Answer();
    std::visit([this](auto& stream) {
      bhttp::async_read(stream, connection_->buffer, *parser_,
                        [self = shared_from_this()](beast::error_code ec, size_t) {
                          if (ec) return self->Fail(ec);
                          self->Answer();
                        });
    }, connection_->stream);
  }

  // --- A streamed request body: the head, then each piece as the caller's reader gives
  // it, written before the next is asked for.

  void WriteHead() {
    serializer_.emplace(request_);
    std::visit([this](auto& stream) {
      bhttp::async_write_header(stream, *serializer_,
                                [self = shared_from_this()](beast::error_code ec, size_t) {
                                  if (ec) return self->Fail(ec);
                                  // Both ways at once: an app may answer as it reads (an
                                  // echo), and would stall if its answer were not read.
                                  self->PumpPiece();
                                  self->Read();
                                });
    }, connection_->stream);
  }

  void PumpPiece() {
    request_body_->Read([self = shared_from_this()](Status status, BodyPiece piece) {
      asio::dispatch(self->channel_->strand(), [self, status = std::move(status),
                                                piece = std::move(piece)]() mutable {
        if (!self->connection_) return;  // the exchange ended meanwhile
        if (!status.ok()) {
          if (self->completed_) return self->connection_.reset();  // cut the answer off too
          return self->Complete(nullptr, blocks::errors::InvokeCause(status.message()));
        }
        self->WritePiece(std::move(piece));
      });
    });
  }

  void WritePiece(BodyPiece piece) {
    bool last = piece.last;
    auto wire = std::make_shared<WirePiece>(ToWire(std::move(piece), request_.chunked()));
    std::array<asio::const_buffer, 3> buffers{asio::buffer(wire->size_line), asio::buffer(wire->bytes),
                                              asio::buffer(wire->after.data(), wire->after.size())};
    std::visit([&](auto& stream) {
      asio::async_write(stream, buffers, [self = shared_from_this(), wire, last](
                                             beast::error_code ec, size_t) {
        if (!self->connection_) return;
        if (ec) {
          if (self->completed_) return self->connection_.reset();
          return self->Fail(ec);
        }
        if (!last) return self->PumpPiece();
        self->request_body_.reset();
        self->request_sent_ = true;
      });
    }, connection_->stream);
  }

  // --- A large answer to a caller that takes streams: the head goes to the caller at once,
  // the body as the caller reads it (ResponseBody); the connection goes back to the pool
  // once the body is read to its end, and is closed if the caller gives up before.

  class ResponseBody final : public BodyReader {
   public:
    ResponseBody(std::shared_ptr<Exchange> exchange, std::optional<uint64_t> length)
        : exchange_(std::move(exchange)), length_(length) {}
    std::optional<uint64_t> Length() const override { return length_; }
    void Read(std::function<void(Status, BodyPiece)> got) override {
      asio::dispatch(exchange_->channel_->strand(),
                     [exchange = exchange_, got = std::move(got)]() mutable {
                       exchange->ReadPiece(std::move(got));
                     });
    }

   private:
    std::shared_ptr<Exchange> exchange_;
    std::optional<uint64_t> length_;
  };

  bool ShouldStream() const {
    if (!stream_response_ || verb_text_ == "HEAD") return false;
    auto length = parser_->content_length();
    return parser_->chunked() || (length && *length > kStreamAbove);
  }

  void StreamAnswer() {
    AppResponse response = HeadOf(parser_->get());
    stream_keep_alive_ = parser_->get().keep_alive();
    std::optional<uint64_t> length;
    if (auto announced = parser_->content_length()) length = *announced;
    stream_parser_.emplace(std::move(*parser_));
    stream_parser_->body_limit(boost::none);  // no limit: nothing is held
    parser_.reset();
    response.body_reader = std::make_shared<ResponseBody>(shared_from_this(), length);
    completed_ = true;
    done_(std::move(response));
  }

  void ReadPiece(std::function<void(Status, BodyPiece)> got) {
    if (stream_parser_->is_done()) return got(Status::Ok(), BodyPiece{{}, true});
    if (!connection_) return got(Status(StatusCode::kAborted, "the app's answer broke off"), {});
    std::string piece(kPieceBytes, '\0');
    auto& body = stream_parser_->get().body();
    body.data = piece.data();
    body.size = piece.size();
    body.more = true;
    std::visit([&](auto& stream) {
      bhttp::async_read_some(stream, connection_->buffer, *stream_parser_,
                             [self = shared_from_this(), piece = std::move(piece),
                              got = std::move(got)](beast::error_code ec, size_t) mutable {
                               self->OnPiece(ec, std::move(piece), std::move(got));
                             });
    }, connection_->stream);
  }

  void OnPiece(beast::error_code ec, std::string piece, std::function<void(Status, BodyPiece)> got) {
    if (ec == bhttp::error::need_buffer) ec = {};
    if (!connection_ && !ec) ec = asio::error::operation_aborted;
    if (ec) {
      connection_.reset();
      return got(Status(StatusCode::kAborted, "the app's answer broke off: " + ec.message()), {});
    }
    piece.resize(piece.size() - stream_parser_->get().body().size);
    bool last = stream_parser_->is_done();
    if (piece.empty() && !last) return ReadPiece(std::move(got));
    if (last) {
      // Reused only once the request went out whole too; else the app stopped reading it.
      channel_->Finished(stream_keep_alive_ && request_sent_ ? std::move(connection_) : nullptr);
      connection_.reset();
    }
    got(Status::Ok(), BodyPiece{std::move(piece), last});
  }

  void RetryOrFail(beast::error_code ec) {
    bool nothing_received = !parser_ || !parser_->got_some();
    if (reused_ && nothing_received) {
      reused_ = false;
      connection_.reset();
      parser_.reset();
      return Connect();
    }
    Fail(ec);
  }

  // The status and the headers to relay (content-type apart).
  template <class Message>
  static AppResponse HeadOf(const Message& message) {
    AppResponse response;
    response.status = static_cast<int>(message.result_int());
    for (const auto& field : message) {
      std::string_view name(field.name_string().data(), field.name_string().size());
      if (beast::iequals(name, "content-type")) {
        response.content_type = std::string(field.value());
      } else if (!IsHopHeader(name)) {
        response.headers.emplace_back(std::string(name), std::string(field.value()));
      }
    }
    return response;
  }

  void Answer() {
    auto message = parser_->release();
    AppResponse response = HeadOf(message);
    response.body = std::move(message.body());
    bool reusable = message.keep_alive() && request_sent_;  // an early answer ends the upload
    Complete(reusable ? std::move(connection_) : nullptr, std::move(response));
  }

  void Fail(beast::error_code ec) {
    std::string cause = "error invoking app channel: " + verb_text_ + " " +
                        std::string(channel_->scheme()) + "://" + channel_->options().host + ":" +
                        std::to_string(channel_->options().port) + target_ + ": " + ec.message();
    if (ec == bhttp::error::body_limit) {
      cause = "error invoking app channel: the app's response is larger than " +
              std::to_string(channel_->options().max_response_bytes) + " bytes";
    }
    Complete(nullptr, blocks::errors::InvokeCause(std::move(cause)));
  }

  // Once: a streamed request's failure may race its answer's.
  void Complete(std::unique_ptr<Connection> reusable, blocks::ApiResult<AppResponse> result) {
    if (completed_) return;
    completed_ = true;
    connection_.reset();
    channel_->Finished(std::move(reusable));
    done_(std::move(result));
  }

  std::shared_ptr<HttpAppChannel::Impl> channel_;
  AppCallback done_;
  std::string verb_text_;
  std::string target_;
  bhttp::request<bhttp::string_body> request_;
  std::string head_;  // request_'s head as sent (Write)
  std::optional<bhttp::response_parser<bhttp::string_body>> parser_;
  // Streamed bodies: the caller's request body, and a large answer's parser.
  std::shared_ptr<BodyReader> request_body_;
  std::optional<bhttp::request_serializer<bhttp::string_body>> serializer_;
  bool stream_response_ = false;
  std::optional<bhttp::response_parser<bhttp::buffer_body>> stream_parser_;
  bool stream_keep_alive_ = false;
  bool request_sent_ = true;  // false while a streamed request body is still going out
  bool completed_ = false;    // done_ ran
  std::unique_ptr<Connection> connection_;
  std::optional<Resolver> resolver_;
  bool reused_ = false;
};

}  // namespace

void HttpAppChannel::Impl::Start(AppRequest request, AppCallback done) {
  std::make_shared<Exchange>(shared_from_this(), std::move(request), std::move(done))->Run();
}

HttpAppChannel::HttpAppChannel(asio::io_context& loop, HttpAppChannelOptions options)
    : impl_(std::make_shared<Impl>(loop, std::move(options))) {}
HttpAppChannel::~HttpAppChannel() = default;

void HttpAppChannel::Invoke(AppRequest request, AppCallback done) {
  impl_->Invoke(std::move(request), std::move(done));
}

bool HttpAppChannel::StreamsBodies() const { return true; }

void HttpAppChannel::CheckHealth(AppRequest probe, std::function<void(bool)> done) {
  impl_->Invoke(std::move(probe), [done = std::move(done)](blocks::ApiResult<AppResponse> result) {
    done(result.ok() && result->status >= 200 && result->status <= 299);
  });
}

}  // namespace dapr::channel
