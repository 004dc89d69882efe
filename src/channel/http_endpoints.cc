#include "channel/http_endpoints.h"

#include <charconv>

namespace dapr::channel {
namespace {

// URL targets kept at once; past that the cache starts over (calls in flight keep their
// connections: the channel's state outlives it).
constexpr size_t kMaxUrlTargets = 128;

bool IsUrl(std::string_view target) {
  return target.rfind("http://", 0) == 0 || target.rfind("https://", 0) == 0;
}

}  // namespace

Result<BaseUrl> ParseBaseUrl(std::string_view url) {
  BaseUrl out;
  if (url.rfind("https://", 0) == 0) {
    out.tls = true;
    url.remove_prefix(8);
  } else if (url.rfind("http://", 0) == 0) {
    url.remove_prefix(7);
  } else {
    return InvalidArgument("the URL must start with http:// or https://");
  }
  size_t slash = url.find('/');
  std::string_view authority = url.substr(0, slash);
  if (slash != std::string_view::npos) out.path = std::string(url.substr(slash));
  while (!out.path.empty() && out.path.back() == '/') out.path.pop_back();
  if (authority.empty() || authority.find('@') != std::string_view::npos ||
      out.path.find_first_of("?# ") != std::string::npos) {
    return InvalidArgument("the URL needs a host, and no user, query or fragment");
  }
  out.host_header = std::string(authority);
  std::string_view port_text;
  if (authority.front() == '[') {  // [IPv6]:port
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return InvalidArgument("unclosed [ in the URL's host");
    out.host = std::string(authority.substr(1, close - 1));
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') return InvalidArgument("bad text after the URL's host");
      port_text = authority.substr(close + 2);
    }
  } else {
    size_t colon = authority.rfind(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
  }
  out.port = out.tls ? 443 : 80;
  if (!port_text.empty()) {
    unsigned port = 0;
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || port == 0 || port > 65535) {
      return InvalidArgument("bad port in the URL");
    }
    out.port = static_cast<uint16_t>(port);
  }
  if (out.host.empty()) return InvalidArgument("the URL has no host");
  return out;
}

HttpEndpoints::HttpEndpoints(boost::asio::io_context& loop, WorkerPool& pool,
                             size_t max_response_bytes)
    : loop_(loop), pool_(pool), max_response_bytes_(max_response_bytes) {}

std::shared_ptr<boost::asio::ssl::context> HttpEndpoints::SystemTrust() {
  std::call_once(system_trust_loaded_, [this] {
    if (auto trust = MakeClientTls({}); trust.ok()) system_trust_ = std::move(trust).value();
    system_trust_ready_.store(true);
  });
  return system_trust_;
}

HttpEndpoints::~HttpEndpoints() = default;

Result<std::unique_ptr<HttpAppChannel>> HttpEndpoints::MakeChannel(
    std::string_view url, const HeaderList& headers, std::shared_ptr<boost::asio::ssl::context> tls) {
  auto base = ParseBaseUrl(url);
  if (!base.ok()) return base.error();
  HttpAppChannelOptions options;
  options.host = base->host;
  options.port = base->port;
  options.host_header = base->host_header;
  options.path_prefix = base->path;
  options.fixed_headers = headers;
  options.max_response_bytes = max_response_bytes_;
  if (base->tls) {
    if (!tls) return Unavailable("no TLS trust store could be loaded");
    options.tls = std::move(tls);
  }
  return std::make_unique<HttpAppChannel>(loop_, std::move(options));
}

Status HttpEndpoints::Add(const HttpEndpointSettings& endpoint) {
  std::shared_ptr<boost::asio::ssl::context> tls;
  const ClientTlsSettings& settings = endpoint.tls;
  if (!settings.root_ca_pem.empty() || !settings.certificate_pem.empty() ||
      !settings.private_key_pem.empty()) {
    auto own = MakeClientTls(settings);
    if (!own.ok()) return InvalidArgument("HTTPEndpoint " + endpoint.name + ": clientTLS." + own.error().message());
    tls = std::move(own).value();
  } else if (endpoint.base_url.rfind("https://", 0) == 0) {
    tls = SystemTrust();  // at start-up, where reading files is fine
  }
  auto channel = MakeChannel(endpoint.base_url, endpoint.headers, std::move(tls));
  if (!channel.ok()) {
    return InvalidArgument("HTTPEndpoint " + endpoint.name + ": baseUrl " + endpoint.base_url + ": " +
                           channel.error().message());
  }
  named_[endpoint.name] = std::move(channel).value();
  return Status::Ok();
}

std::vector<std::string> HttpEndpoints::Names() const {
  std::vector<std::string> names;
  for (const auto& [name, channel] : named_) names.push_back(name);
  return names;
}

bool HttpEndpoints::Handles(std::string_view target) const {
  return IsUrl(target) || named_.find(target) != named_.end();
}

HttpAppChannel* HttpEndpoints::ChannelForUrl(std::string_view url, Status& error) {
  std::lock_guard lock(url_mutex_);
  if (auto found = by_url_.find(url); found != by_url_.end()) return found->second.get();
  auto channel = MakeChannel(url, {}, url.rfind("https://", 0) == 0 ? system_trust_ : nullptr);
  if (!channel.ok()) {
    error = channel.error();
    return nullptr;
  }
  if (by_url_.size() >= kMaxUrlTargets) by_url_.clear();
  return by_url_.emplace(std::string(url), std::move(channel).value()).first->second.get();
}

void HttpEndpoints::Invoke(std::string_view target, AppRequest request, AppCallback done) {
  if (auto named = named_.find(target); named != named_.end()) {
    return named->second->Invoke(std::move(request), std::move(done));
  }
  bool needs_trust = target.rfind("https://", 0) == 0 && !system_trust_ready_.load();
  if (!needs_trust) return InvokeUrl(target, std::move(request), std::move(done));
  // The first https URL: the trust store is read on the pool, not on the event loop.
  pool_.Post([this, url = std::string(target), request = std::move(request),
              done = std::move(done)]() mutable {
    SystemTrust();
    InvokeUrl(url, std::move(request), std::move(done));
  });
}

void HttpEndpoints::InvokeUrl(std::string_view url, AppRequest request, AppCallback done) {
  Status error;
  HttpAppChannel* channel = ChannelForUrl(url, error);
  if (!channel) return done(blocks::errors::InvokeCause("invalid URL: " + error.message()));
  channel->Invoke(std::move(request), std::move(done));
}

}  // namespace dapr::channel
