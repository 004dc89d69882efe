// Tests for HttpAppChannel against a small HTTP/1.1 server written here (Asio coroutines and
// Beast, on 127.0.0.1, on a port the kernel picks, on its own thread): the request as the app
// receives it, the answer as the caller gets it, the keep-alive pool and its one retry, the
// response size limit, and TLS with a certificate the test makes with OpenSSL's API.
#include "channel/http_app_channel.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "channel/tls_client.h"

namespace dapr::channel {
namespace {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

// ---- the test server ----------------------------------------------------------------------

// One request as the server received it.
struct SeenRequest {
  std::string method;
  std::string target;
  HeaderList headers;  // names as sent
  std::string body;
  size_t connection = 0;  // which accepted connection (1-based) it came on

  // Every value of a header, whatever the case of its name.
  std::vector<std::string> Values(std::string_view name) const {
    std::vector<std::string> values;
    for (const auto& [n, v] : headers) {
      if (beast::iequals(n, name)) values.push_back(v);
    }
    return values;
  }
  std::optional<std::string> Header(std::string_view name) const {
    auto values = Values(name);
    if (values.empty()) return std::nullopt;
    return values.front();
  }
};

// What the server does with a request: writes these bytes as they are (nothing when empty),
// then closes the connection or waits for the next request.
struct ServerReply {
  std::string bytes;
  bool close = false;
};

// A complete HTTP/1.1 answer with a Content-Length.
std::string HttpAnswer(int status, const HeaderList& headers, std::string_view body) {
  std::string out = "HTTP/1.1 " + std::to_string(status) + " Whatever\r\n";
  for (const auto& [name, value] : headers) out += name + ": " + value + "\r\n";
  out += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
  out += body;
  return out;
}

ServerReply Ok(std::string_view body) { return {HttpAnswer(200, {}, body)}; }

class TestServer {
 public:
  using Handler = std::function<ServerReply(const SeenRequest&)>;

  // tls: null for plain HTTP.
  explicit TestServer(Handler handler, std::shared_ptr<ssl::context> tls = nullptr)
      : handler_(std::move(handler)),
        tls_(std::move(tls)),
        acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)),
        port_(acceptor_.local_endpoint().port()) {
    asio::co_spawn(io_, Accept(), asio::detached);
    thread_ = std::thread([this] {
      io_.run();
      finished_.set_value();
    });
  }

  // Closes the acceptor and every connection, so each coroutine ends by itself.
  ~TestServer() {
    asio::post(io_, [this] {
      boost::system::error_code ignored;
      acceptor_.close(ignored);
      for (tcp::socket* socket : live_) socket->close(ignored);
    });
    if (finished_.get_future().wait_for(2s) != std::future_status::ready) io_.stop();
    thread_.join();
  }

  uint16_t port() const { return port_; }

  size_t connections() {
    std::lock_guard lock(mutex_);
    return connections_;
  }
  size_t closed() {
    std::lock_guard lock(mutex_);
    return closed_;
  }
  std::vector<SeenRequest> requests() {
    std::lock_guard lock(mutex_);
    return requests_;
  }
  // Waits until the server has closed `count` connections (its side), at most `timeout`.
  bool WaitForClosed(size_t count, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return closed_ >= count; });
  }

 private:
  asio::awaitable<void> Accept() {
    for (;;) {
      boost::system::error_code ec;
      tcp::socket socket =
          co_await acceptor_.async_accept(asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return;
      size_t connection;
      {
        std::lock_guard lock(mutex_);
        connection = ++connections_;
      }
      asio::co_spawn(io_, Serve(std::move(socket), connection), asio::detached);
    }
  }

  asio::awaitable<void> Serve(tcp::socket socket, size_t connection) {
    boost::system::error_code ec;
    if (!tls_) {
      live_.insert(&socket);
      co_await Session(socket, connection);
      live_.erase(&socket);
      socket.shutdown(tcp::socket::shutdown_both, ec);
      socket.close(ec);
    } else {
      ssl::stream<tcp::socket> stream(std::move(socket), *tls_);
      live_.insert(&stream.next_layer());
      co_await stream.async_handshake(ssl::stream_base::server,
                                      asio::redirect_error(asio::use_awaitable, ec));
      if (!ec) co_await Session(stream, connection);
      live_.erase(&stream.next_layer());
      stream.next_layer().close(ec);
    }
    std::lock_guard lock(mutex_);
    ++closed_;
    changed_.notify_all();
  }

  template <class Stream>
  asio::awaitable<void> Session(Stream& stream, size_t connection) {
    beast::flat_buffer buffer;
    for (;;) {
      bhttp::request<bhttp::string_body> request;
      boost::system::error_code ec;
      co_await bhttp::async_read(stream, buffer, request,
                                 asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return;
      SeenRequest seen;
      seen.method = std::string(request.method_string());
      seen.target = std::string(request.target());
      for (const auto& field : request) {
        seen.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
      }
      seen.body = request.body();
      seen.connection = connection;
      {
        std::lock_guard lock(mutex_);
        requests_.push_back(seen);
      }
      ServerReply reply = handler_(seen);
      if (!reply.bytes.empty()) {
        co_await asio::async_write(stream, asio::buffer(reply.bytes),
                                   asio::redirect_error(asio::use_awaitable, ec));
        if (ec) co_return;
      }
      if (reply.close) co_return;
    }
  }

  Handler handler_;
  std::shared_ptr<ssl::context> tls_;
  asio::io_context io_;
  tcp::acceptor acceptor_;
  uint16_t port_;
  std::set<tcp::socket*> live_;  // on the server's thread only
  std::thread thread_;
  std::promise<void> finished_;
  std::mutex mutex_;
  std::condition_variable changed_;
  size_t connections_ = 0;
  size_t closed_ = 0;
  std::vector<SeenRequest> requests_;
};

// ---- certificates -------------------------------------------------------------------------

struct TestCertificate {
  std::string cert_pem;
  std::string key_pem;
};

std::string ToPem(const std::function<int(BIO*)>& write) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  if (!bio || write(bio.get()) != 1) return {};
  char* data = nullptr;
  long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(size));
}

// A self-signed certificate (its own root) for `subject_alt_name`, e.g. "IP:127.0.0.1", with
// a new P-256 key. Empty PEMs when OpenSSL fails.
TestCertificate SelfSigned(const char* subject_alt_name) {
  static std::atomic<long> serial{1};
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_EC_gen("P-256"), EVP_PKEY_free);
  std::unique_ptr<X509, decltype(&X509_free)> cert(X509_new(), X509_free);
  if (!key || !cert) return {};
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial++);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("dapr-cpp test"), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, cert.get(), cert.get(), nullptr, nullptr, 0);
  const std::pair<int, const char*> extensions[] = {{NID_basic_constraints, "critical,CA:TRUE"},
                                                    {NID_subject_alt_name, subject_alt_name}};
  for (const auto& [nid, value] : extensions) {
    X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &context, nid, value);
    if (!extension) return {};
    X509_add_ext(cert.get(), extension, -1);
    X509_EXTENSION_free(extension);
  }
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) return {};
  TestCertificate out;
  out.cert_pem = ToPem([&](BIO* bio) { return PEM_write_bio_X509(bio, cert.get()); });
  out.key_pem = ToPem([&](BIO* bio) {
    return PEM_write_bio_PrivateKey(bio, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  });
  return out;
}

std::shared_ptr<ssl::context> ServerTls(const TestCertificate& certificate) {
  auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
  context->use_certificate_chain(asio::buffer(certificate.cert_pem));
  context->use_private_key(asio::buffer(certificate.key_pem), ssl::context::pem);
  return context;
}

std::shared_ptr<ssl::context> ClientTls(ClientTlsSettings settings) {
  auto context = MakeClientTls(settings);
  EXPECT_TRUE(context.ok()) << context.error().message();
  return context.ok() ? *context : nullptr;
}

// ---- the channel under test ---------------------------------------------------------------

// A port nothing listens on: bound, then closed.
uint16_t ClosedPort() {
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  return acceptor.local_endpoint().port();
}

AppRequest Get(std::string method) {
  AppRequest request;
  request.verb = "GET";
  request.method = std::move(method);
  return request;
}

class HttpAppChannelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    loop_thread_ = std::thread([this] { loop_.run(); });
  }

  void TearDown() override {
    channel_.reset();
    work_.reset();
    loop_.stop();
    loop_thread_.join();
    server_.reset();
  }

  void Serve(TestServer::Handler handler, std::shared_ptr<ssl::context> tls = nullptr) {
    server_ = std::make_unique<TestServer>(std::move(handler), std::move(tls));
  }

  // A channel to the test server, with `options` otherwise.
  HttpAppChannel& Channel(HttpAppChannelOptions options = {}) {
    if (options.port == 0) options.port = server_->port();
    channel_ = std::make_unique<HttpAppChannel>(loop_, std::move(options));
    return *channel_;
  }

  blocks::ApiResult<AppResponse> Call(AppRequest request) {
    auto answer = std::make_shared<std::promise<blocks::ApiResult<AppResponse>>>();
    auto future = answer->get_future();
    channel_->Invoke(std::move(request), [answer](blocks::ApiResult<AppResponse> result) {
      answer->set_value(std::move(result));
    });
    if (future.wait_for(3s) != std::future_status::ready) {
      ADD_FAILURE() << "no answer within 3 s";
      return blocks::errors::InvokeCause("test: no answer");
    }
    return future.get();
  }

  bool Healthy(AppRequest probe) {
    auto answer = std::make_shared<std::promise<bool>>();
    auto future = answer->get_future();
    channel_->CheckHealth(std::move(probe), [answer](bool ok) { answer->set_value(ok); });
    if (future.wait_for(3s) != std::future_status::ready) {
      ADD_FAILURE() << "no health answer within 3 s";
      return false;
    }
    return future.get();
  }

  asio::io_context loop_;
  asio::executor_work_guard<asio::io_context::executor_type> work_ = asio::make_work_guard(loop_);
  std::thread loop_thread_;
  std::unique_ptr<TestServer> server_;
  std::unique_ptr<HttpAppChannel> channel_;
};

// ---- the request and the answer ------------------------------------------------------------

TEST_F(HttpAppChannelTest, SendsTheRequestAsTheAppShouldSeeIt) {
  Serve([](const SeenRequest&) { return Ok("done"); });
  HttpAppChannelOptions options;
  options.path_prefix = "/v2";
  options.fixed_headers = {{"x-fixed", "from-endpoint"}, {"x-overridden", "by-endpoint"}};
  options.app_api_token = "app-secret";
  Channel(options);

  AppRequest request;
  request.verb = "PUT";
  request.method = "orders/42";
  request.query = "a=1&b=two";
  request.content_type = "application/json";
  request.body = R"({"id":42})";
  request.headers = {{"x-caller", "checkout"},
                     {"x-overridden", "by-caller"},
                     {"connection", "close"},
                     {"keep-alive", "timeout=1"},
                     {"transfer-encoding", "chunked"},
                     {"te", "trailers"},
                     {"upgrade", "h2c"},
                     {"host", "elsewhere:1"},
                     {"content-length", "999"},
                     {"content-type", "text/plain"},
                     {"proxy-authorization", "Basic x"}};
  auto result = Call(request);
  ASSERT_TRUE(result.ok()) << result.error().message;

  auto seen = server_->requests();
  ASSERT_EQ(seen.size(), 1u);
  const SeenRequest& got = seen.front();
  EXPECT_EQ(got.method, "PUT");
  EXPECT_EQ(got.target, "/v2/orders/42?a=1&b=two");
  EXPECT_EQ(got.body, R"({"id":42})");
  EXPECT_EQ(got.Values("x-caller"), (std::vector<std::string>{"checkout"}));
  EXPECT_EQ(got.Values("x-fixed"), (std::vector<std::string>{"from-endpoint"}));
  EXPECT_EQ(got.Values("x-overridden"), (std::vector<std::string>{"by-endpoint"}));
  EXPECT_EQ(got.Values("dapr-api-token"), (std::vector<std::string>{"app-secret"}));
  EXPECT_EQ(got.Values("host"),
            (std::vector<std::string>{"127.0.0.1:" + std::to_string(server_->port())}));
  EXPECT_EQ(got.Values("content-type"), (std::vector<std::string>{"application/json"}));
  EXPECT_EQ(got.Values("content-length"), (std::vector<std::string>{"9"}));
  // The caller's hop-by-hop headers stay behind.
  for (const char* hop :
       {"connection", "keep-alive", "transfer-encoding", "te", "upgrade", "proxy-authorization"}) {
    EXPECT_FALSE(got.Header(hop).has_value()) << hop << ": " << got.Header(hop).value_or("");
  }
}

TEST_F(HttpAppChannelTest, AnEmptyMethodAndNoOptionsSendTheRoot) {
  Serve([](const SeenRequest&) { return Ok(""); });
  Channel();
  ASSERT_TRUE(Call(Get("")).ok());
  auto seen = server_->requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].target, "/");
  EXPECT_FALSE(seen[0].Header("dapr-api-token").has_value());
  EXPECT_FALSE(seen[0].Header("content-type").has_value());
}

TEST_F(HttpAppChannelTest, TheHostHeaderOptionReplacesHostAndPort) {
  Serve([](const SeenRequest&) { return Ok(""); });
  HttpAppChannelOptions options;
  options.host_header = "api.example.com";
  Channel(options);
  ASSERT_TRUE(Call(Get("x")).ok());
  EXPECT_EQ(server_->requests().at(0).Values("host"),
            (std::vector<std::string>{"api.example.com"}));
}

TEST_F(HttpAppChannelTest, RelaysTheAppsAnswer) {
  Serve([](const SeenRequest&) {
    return ServerReply{HttpAnswer(201,
                                  {{"Content-Type", "text/plain; charset=utf-8"},
                                   {"X-Answer", "forty-two"},
                                   {"Set-Cookie", "a=1"},
                                   {"Set-Cookie", "b=2"},
                                   {"Connection", "keep-alive"},
                                   {"Keep-Alive", "timeout=5"}},
                                  "created")};
  });
  Channel();

  auto result = Call(Get("things"));

  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result->status, 201);
  EXPECT_EQ(result->content_type, "text/plain; charset=utf-8");
  EXPECT_EQ(result->body, "created");
  EXPECT_EQ(result->headers,
            (HeaderList{{"X-Answer", "forty-two"}, {"Set-Cookie", "a=1"}, {"Set-Cookie", "b=2"}}));
}

TEST_F(HttpAppChannelTest, AnAppErrorIsAnAnswerNotAFailure) {
  Serve([](const SeenRequest&) { return ServerReply{HttpAnswer(503, {}, "try later")}; });
  Channel();
  auto result = Call(Get("x"));
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result->status, 503);
  EXPECT_EQ(result->body, "try later");
}

TEST_F(HttpAppChannelTest, CheckHealthIsTrueOnlyForA2xx) {
  Serve([](const SeenRequest& request) {
    if (request.target == "/healthz") return ServerReply{HttpAnswer(204, {}, "")};
    if (request.target == "/redirect") return ServerReply{HttpAnswer(302, {}, "")};
    return ServerReply{HttpAnswer(500, {}, "down")};
  });
  Channel();
  EXPECT_TRUE(Healthy(Get("healthz")));
  EXPECT_FALSE(Healthy(Get("redirect")));
  EXPECT_FALSE(Healthy(Get("broken")));
  EXPECT_EQ(server_->requests().at(0).method, "GET");
}

TEST_F(HttpAppChannelTest, CheckHealthIsFalseWhenTheAppIsUnreachable) {
  HttpAppChannelOptions options;
  options.port = ClosedPort();
  channel_ = std::make_unique<HttpAppChannel>(loop_, options);
  EXPECT_FALSE(Healthy(Get("healthz")));
}

TEST_F(HttpAppChannelTest, AHeadAnswerHasNoBodyWhateverItsLength) {
  Serve([](const SeenRequest& request) {
    if (request.method == "HEAD") {
      // The length the body would have, and no body.
      return ServerReply{"HTTP/1.1 200 OK\r\nContent-Length: 100\r\nX-Head: yes\r\n\r\n"};
    }
    return Ok("after-head");
  });
  Channel();
  AppRequest head = Get("resource");
  head.verb = "HEAD";

  auto result = Call(head);
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result->status, 200);
  EXPECT_EQ(result->body, "");
  EXPECT_EQ(result->headers, (HeaderList{{"X-Head", "yes"}}));

  // The connection is still in step: the next answer is read whole, on the same connection.
  auto next = Call(Get("resource"));
  ASSERT_TRUE(next.ok()) << next.error().message;
  EXPECT_EQ(next->body, "after-head");
  EXPECT_EQ(server_->connections(), 1u);
}

// ---- the connection pool ------------------------------------------------------------------

TEST_F(HttpAppChannelTest, ReusesAKeptConnection) {
  Serve([](const SeenRequest& request) { return Ok(request.target); });
  Channel();
  for (int i = 0; i < 3; ++i) {
    auto result = Call(Get("call/" + std::to_string(i)));
    ASSERT_TRUE(result.ok()) << result.error().message;
    EXPECT_EQ(result->body, "/call/" + std::to_string(i));
  }
  EXPECT_EQ(server_->connections(), 1u);
  for (const auto& seen : server_->requests()) EXPECT_EQ(seen.connection, 1u);
}

TEST_F(HttpAppChannelTest, ConcurrentCallsGetTheirOwnAnswers) {
  Serve([](const SeenRequest& request) { return Ok(request.target); });
  Channel();
  constexpr int kCalls = 10;
  std::vector<std::future<blocks::ApiResult<AppResponse>>> answers;
  for (int i = 0; i < kCalls; ++i) {
    auto answer = std::make_shared<std::promise<blocks::ApiResult<AppResponse>>>();
    answers.push_back(answer->get_future());
    channel_->Invoke(Get(std::to_string(i)), [answer](blocks::ApiResult<AppResponse> result) {
      answer->set_value(std::move(result));
    });
  }
  for (int i = 0; i < kCalls; ++i) {
    ASSERT_EQ(answers[i].wait_for(3s), std::future_status::ready);
    auto result = answers[i].get();
    ASSERT_TRUE(result.ok()) << result.error().message;
    EXPECT_EQ(result->body, "/" + std::to_string(i));
  }
  size_t opened = server_->connections();
  EXPECT_GE(opened, 1u);
  EXPECT_LE(opened, static_cast<size_t>(kCalls));
  // Every connection went back to the pool: more calls open none.
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(Call(Get("again")).ok());
  EXPECT_EQ(server_->connections(), opened);
}

TEST_F(HttpAppChannelTest, AConnectionTheAppSaidItClosesIsNotReused) {
  Serve([](const SeenRequest&) {
    return ServerReply{HttpAnswer(200, {{"Connection", "close"}}, "bye"), true};
  });
  Channel();
  for (int i = 0; i < 2; ++i) {
    auto result = Call(Get("x"));
    ASSERT_TRUE(result.ok()) << result.error().message;
    EXPECT_EQ(result->body, "bye");
  }
  EXPECT_EQ(server_->connections(), 2u);
  EXPECT_EQ(server_->requests().size(), 2u);
}

TEST_F(HttpAppChannelTest, APooledConnectionTheAppClosedIsRetriedOnANewOne) {
  // Each connection answers one call with keep-alive, then the app closes it anyway (an idle
  // timeout in a real app).
  Serve([](const SeenRequest& request) { return ServerReply{Ok(request.target).bytes, true}; });
  Channel();
  ASSERT_TRUE(Call(Get("first")).ok());
  ASSERT_TRUE(server_->WaitForClosed(1, 1s));

  auto result = Call(Get("second"));

  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result->body, "/second");
  EXPECT_EQ(server_->connections(), 2u);
  auto seen = server_->requests();
  ASSERT_EQ(seen.size(), 2u);  // the app saw the second call once
  EXPECT_EQ(seen[1].target, "/second");
  EXPECT_EQ(seen[1].connection, 2u);
}

TEST_F(HttpAppChannelTest, AFreshConnectionThatFailsIsNotRetried) {
  // The app reads the request and hangs up without an answer.
  Serve([](const SeenRequest&) { return ServerReply{"", true}; });
  Channel();

  auto result = Call(Get("dropped"));

  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().error_code, "ERR_DIRECT_INVOKE");
  EXPECT_NE(result.error().message.find("GET http://127.0.0.1:" + std::to_string(server_->port()) +
                                        "/dropped"),
            std::string::npos)
      << result.error().message;
  EXPECT_EQ(server_->connections(), 1u);
  EXPECT_EQ(server_->requests().size(), 1u);
}

TEST_F(HttpAppChannelTest, AStaleConnectionIsRetriedOnlyOnce) {
  // The first call is answered and its connection closed; later ones are read and dropped.
  std::atomic<int> calls{0};
  Serve([&calls](const SeenRequest&) {
    if (calls++ == 0) return ServerReply{Ok("first").bytes, true};
    return ServerReply{"", true};
  });
  Channel();
  ASSERT_TRUE(Call(Get("first")).ok());
  ASSERT_TRUE(server_->WaitForClosed(1, 1s));

  auto result = Call(Get("second"));

  EXPECT_FALSE(result.ok());
  EXPECT_EQ(server_->connections(), 2u);  // the stale one, and one retry
  EXPECT_EQ(server_->requests().size(), 2u);
}

TEST_F(HttpAppChannelTest, AnAnswerAtTheLimitIsRead) {
  Serve([](const SeenRequest&) { return Ok(std::string(1000, 'x')); });
  HttpAppChannelOptions options;
  options.max_response_bytes = 1000;
  Channel(options);
  auto result = Call(Get("at-limit"));
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result->body.size(), 1000u);
}

TEST_F(HttpAppChannelTest, AChunkedAnswerOverTheLimitIsAnErrorNamingTheLimit) {
  Serve([](const SeenRequest&) {
    return ServerReply{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3e9\r\n" +
                       std::string(1001, 'x') + "\r\n0\r\n\r\n"};
  });
  HttpAppChannelOptions options;
  options.max_response_bytes = 1000;
  Channel(options);

  auto result = Call(Get("chunked"));

  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().error_code, "ERR_DIRECT_INVOKE");
  EXPECT_EQ(result.error().message,
            "error invoking app channel: the app's response is larger than 1000 bytes");
}

// An answer whose Content-Length passes max_response_bytes is refused from its header (Boost
// 1.74's eager parse would lose Beast's own body_limit error for it: the channel checks).
TEST_F(HttpAppChannelTest, AnAnswerOverTheLimitIsAnErrorNamingTheLimit) {
  Serve([](const SeenRequest& request) {
    return Ok(std::string(request.target == "/just-over" ? 1001 : 64 * 1024, 'x'));
  });
  HttpAppChannelOptions options;
  options.max_response_bytes = 1000;
  Channel(options);

  for (const char* method : {"just-over", "far-over"}) {
    auto result = Call(Get(method));
    if (result.ok()) {
      ADD_FAILURE() << method << ": " << result->body.size() << " bytes relayed";
      continue;
    }
    EXPECT_EQ(result.error().error_code, "ERR_DIRECT_INVOKE");
    EXPECT_NE(result.error().message.find("larger than 1000 bytes"), std::string::npos)
        << result.error().message;
  }
}

TEST_F(HttpAppChannelTest, ConnectionRefusedNamesTheTarget) {
  HttpAppChannelOptions options;
  options.port = ClosedPort();
  options.path_prefix = "/base";
  channel_ = std::make_unique<HttpAppChannel>(loop_, options);
  AppRequest request = Get("orders/7");
  request.verb = "POST";

  auto result = Call(request);

  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().error_code, "ERR_DIRECT_INVOKE");
  const std::string& message = result.error().message;
  EXPECT_NE(
      message.find("POST http://127.0.0.1:" + std::to_string(options.port) + "/base/orders/7"),
      std::string::npos)
      << message;
  EXPECT_NE(message.find("refused"), std::string::npos) << message;
}

// ---- TLS ----------------------------------------------------------------------------------

class HttpAppChannelTlsTest : public HttpAppChannelTest {
 protected:
  void SetUp() override {
    HttpAppChannelTest::SetUp();
    certificate_ = SelfSigned("IP:127.0.0.1");
    ASSERT_FALSE(certificate_.cert_pem.empty());
    ASSERT_FALSE(certificate_.key_pem.empty());
  }

  void ServeTls(const TestCertificate& certificate) {
    Serve([](const SeenRequest& request) { return Ok("secure " + request.target); },
          ServerTls(certificate));
  }

  HttpAppChannel& TlsChannel(ClientTlsSettings settings) {
    HttpAppChannelOptions options;
    options.tls = ClientTls(std::move(settings));
    return Channel(options);
  }

  TestCertificate certificate_;
};

TEST_F(HttpAppChannelTlsTest, AVerifyingContextRefusesAnUnknownSelfSignedCertificate) {
  ServeTls(certificate_);
  TlsChannel({});  // verifies against the system's trust store

  auto result = Call(Get("secret"));

  ASSERT_FALSE(result.ok());
  const std::string& message = result.error().message;
  EXPECT_NE(message.find("GET https://127.0.0.1:" + std::to_string(server_->port()) + "/secret"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("certificate verify failed"), std::string::npos) << message;
  EXPECT_TRUE(server_->requests().empty());
}

TEST_F(HttpAppChannelTlsTest, AnUnverifiedContextAcceptsASelfSignedCertificate) {
  ServeTls(certificate_);
  ClientTlsSettings settings;
  settings.verify_peer = false;
  TlsChannel(settings);

  auto result = Call(Get("secret"));

  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result->body, "secure /secret");
}

TEST_F(HttpAppChannelTlsTest, TheRightRootCaIsTrustedAndTheConnectionKept) {
  ServeTls(certificate_);
  ClientTlsSettings settings;
  settings.root_ca_pem = certificate_.cert_pem;
  TlsChannel(settings);

  for (const char* method : {"one", "two"}) {
    auto result = Call(Get(method));
    ASSERT_TRUE(result.ok()) << result.error().message;
    EXPECT_EQ(result->body, std::string("secure /") + method);
  }
  EXPECT_EQ(server_->connections(), 1u);
}

TEST_F(HttpAppChannelTlsTest, ATrustedCertificateForAnotherHostIsRefused) {
  TestCertificate other = SelfSigned("DNS:other.example");
  ASSERT_FALSE(other.cert_pem.empty());
  ServeTls(other);
  ClientTlsSettings settings;
  settings.root_ca_pem = other.cert_pem;
  TlsChannel(settings);

  auto result = Call(Get("secret"));

  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.error().message.find("certificate verify failed"), std::string::npos)
      << result.error().message;
  EXPECT_TRUE(server_->requests().empty());
}

TEST_F(HttpAppChannelTlsTest, AnotherRootCaIsNotTrusted) {
  ServeTls(certificate_);
  TestCertificate stranger = SelfSigned("IP:127.0.0.1");
  ClientTlsSettings settings;
  settings.root_ca_pem = stranger.cert_pem;
  TlsChannel(settings);

  auto result = Call(Get("secret"));

  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.error().message.find("certificate verify failed"), std::string::npos)
      << result.error().message;
}

}  // namespace
}  // namespace dapr::channel
