// Reads the state.redis metadata (see metadata.yaml in this folder). Errors name the field,
// and never quote redisPassword.
#include <algorithm>
#include <charconv>

#include "components/state/redis/redis_store.h"
#include "components/common/redis_unsupported.h"
#include "dapr/registry.h"  // ToLower

namespace dapr::state {
namespace {

using std::chrono::milliseconds;

// "host:port" or "[ipv6]:port", as Go's net.SplitHostPort accepts it.
Status ParseAddress(const std::string& text, RedisConnectOptions& out) {
  auto bad = [&] {
    return InvalidArgument("metadata redisHost: expected host:port, got \"" + text + "\"");
  };
  if (text.find(',') != std::string::npos) {
    return InvalidArgument(
        "metadata redisHost: several addresses (Redis Cluster) are not supported");
  }
  const size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) return bad();
  std::string host = text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  int port = 0;
  const char* begin = text.data() + colon + 1;
  const char* end = text.data() + text.size();
  auto [parsed_end, ec] = std::from_chars(begin, end, port);
  if (ec != std::errc() || parsed_end != end || port <= 0 || port > 65535) return bad();
  out.host = std::move(host);
  out.port = port;
  return Status::Ok();
}

// Zero or negative (go-redis uses -1 for "none") falls back to the default: this component
// never waits on a socket without a limit.
Status ReadTimeout(const ComponentMetadata& metadata, std::string_view key, milliseconds& out) {
  auto value = metadata.GetDuration(key, out);
  if (!value.ok()) return value.error();
  if (value.value() > milliseconds::zero()) out = value.value();
  return Status::Ok();
}

Status ParseConnection(const ComponentMetadata& metadata, RedisConnectOptions& out) {
  auto host = metadata.Get("redisHost");
  if (!host || host->empty()) return InvalidArgument("metadata redisHost is required (host:port)");
  if (Status status = ParseAddress(*host, out); !status.ok()) return status;
  out.username = metadata.GetOr("redisUsername", "");
  out.password = metadata.GetOr("redisPassword", "");
  auto db = metadata.GetInt("redisDB", 0);
  if (!db.ok()) return db.error();
  if (db.value() < 0) return InvalidArgument("metadata redisDB: must not be negative");
  out.db = db.value();
  for (auto [key, field] :
       {std::pair{"dialTimeout", &out.dial_timeout}, std::pair{"readTimeout", &out.read_timeout},
        std::pair{"writeTimeout", &out.write_timeout}}) {
    if (Status status = ReadTimeout(metadata, key, *field); !status.ok()) return status;
  }
  return Status::Ok();
}

Status ParseLimits(const ComponentMetadata& metadata, RedisStoreOptions& out) {
  auto pool_size = metadata.GetInt("poolSize", out.pool_size);
  if (!pool_size.ok()) return pool_size.error();
  if (pool_size.value() < 1 || pool_size.value() > 10000) {
    return InvalidArgument("metadata poolSize: must be between 1 and 10000");
  }
  out.pool_size = static_cast<int>(pool_size.value());
  auto retries = metadata.GetInt("maxRetries", out.max_retries);
  if (!retries.ok()) return retries.error();
  // go-redis reads -1 as "no retries".
  out.max_retries = static_cast<int>(std::clamp(retries.value(), 0LL, 100LL));
  auto ttl = metadata.GetInt("ttlInSeconds", 0);
  if (!ttl.ok()) return ttl.error();
  if (ttl.value() > 0) out.default_ttl = std::chrono::seconds(ttl.value());
  return Status::Ok();
}

}  // namespace

// actorStateStore and keyPrefix belong to the state block; unknown keys are ignored.
Result<RedisStoreOptions> ParseRedisStoreOptions(const ComponentMetadata& metadata) {
  RedisStoreOptions options;
  if (Status status = components::RejectUnsupportedRedis(metadata, "state.redis"); !status.ok()) return status;
  if (Status status = ParseConnection(metadata, options.connect); !status.ok()) return status;
  if (Status status = ParseLimits(metadata, options); !status.ok()) return status;
  return options;
}

}  // namespace dapr::state
