// The ExternalInvoker of service invocation: calls to non-Dapr HTTP services, by the name of
// an HTTPEndpoint resource (its base URL, fixed headers and client TLS), or by a URL given as
// the app id (/v1.0/invoke/https://host:port/method/...). Each target gets an HttpAppChannel
// (a keep-alive pool); URL targets are kept in a bounded cache.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "blocks/invocation/invocation_block.h"
#include "channel/http_app_channel.h"
#include "channel/tls_client.h"
#include "common/worker_pool.h"

namespace dapr::channel {

// scheme://host[:port][/path], as in an HTTPEndpoint's baseUrl.
struct BaseUrl {
  bool tls = false;
  std::string host;         // without brackets for IPv6
  uint16_t port = 0;        // 80 / 443 when not written
  std::string host_header;  // host[:port] as written
  std::string path;         // without a trailing '/'; empty for none
};
Result<BaseUrl> ParseBaseUrl(std::string_view url);

struct HttpEndpointSettings {
  std::string name;
  std::string base_url;
  HeaderList headers;
  ClientTlsSettings tls;  // used for https base URLs
};

class HttpEndpoints final : public blocks::ExternalInvoker {
 public:
  // The pool loads the system's trust store the first time an https URL is called (it
  // reads files; it is left unloaded, and OpenSSL uninitialised, until TLS is needed).
  HttpEndpoints(boost::asio::io_context& loop, WorkerPool& pool, size_t max_response_bytes);
  ~HttpEndpoints() override;

  // At start-up: a bad URL or unusable TLS material is an error naming the endpoint.
  Status Add(const HttpEndpointSettings& endpoint);
  std::vector<std::string> Names() const;

  bool Handles(std::string_view target) const override;
  void Invoke(std::string_view target, AppRequest request, AppCallback done) override;

 private:
  Result<std::unique_ptr<HttpAppChannel>> MakeChannel(std::string_view url, const HeaderList& headers,
                                                      std::shared_ptr<boost::asio::ssl::context> tls);
  HttpAppChannel* ChannelForUrl(std::string_view url, Status& error);
  void InvokeUrl(std::string_view url, AppRequest request, AppCallback done);
  // The system's trust store, loaded on first use (blocking: start-up or the worker pool).
  std::shared_ptr<boost::asio::ssl::context> SystemTrust();

  boost::asio::io_context& loop_;
  WorkerPool& pool_;
  size_t max_response_bytes_;
  std::map<std::string, std::unique_ptr<HttpAppChannel>, std::less<>> named_;  // fixed after start
  std::once_flag system_trust_loaded_;
  std::atomic<bool> system_trust_ready_{false};
  std::shared_ptr<boost::asio::ssl::context> system_trust_;  // null until loaded, or if it failed
  std::mutex url_mutex_;
  std::map<std::string, std::unique_ptr<HttpAppChannel>, std::less<>> by_url_;
};

}  // namespace dapr::channel
