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
    connection_ = channel_->TakeIdle();
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

  void Write() {
    std::visit([this](auto& stream) {
      bhttp::async_write(stream, request_, [self = shared_from_this()](beast::error_code ec, size_t) {
        if (ec) return self->RetryOrFail(ec);
        self->Read();
      });
    }, connection_->stream);
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

  void Answer() {
    auto message = parser_->release();
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
    response.body = std::move(message.body());
    bool reusable = message.keep_alive();
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

  void Complete(std::unique_ptr<Connection> reusable, blocks::ApiResult<AppResponse> result) {
    channel_->Finished(std::move(reusable));
    done_(std::move(result));
  }

  std::shared_ptr<HttpAppChannel::Impl> channel_;
  AppCallback done_;
  std::string verb_text_;
  std::string target_;
  bhttp::request<bhttp::string_body> request_;
  std::optional<bhttp::response_parser<bhttp::string_body>> parser_;
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

void HttpAppChannel::CheckHealth(AppRequest probe, std::function<void(bool)> done) {
  impl_->Invoke(std::move(probe), [done = std::move(done)](blocks::ApiResult<AppResponse> result) {
    done(result.ok() && result->status >= 200 && result->status <= 299);
  });
}

}  // namespace dapr::channel
