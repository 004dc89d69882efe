// Reads the pubsub.redis metadata (see metadata.yaml in this folder). Errors name the key
// and never quote redisPassword. Keys of Dapr's that need what this hiredis build lacks
// (TLS, Cluster, Sentinel) are refused, not ignored: connecting in a way the user did not
// ask for would be worse than not starting.
#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdint>

#include "components/pubsub/redis/redis_pubsub.h"
#include "components/common/redis_unsupported.h"
#include "dapr/registry.h"  // ToLower

namespace dapr::components::pubsub {
namespace {

using std::chrono::milliseconds;

Status ParsePort(std::string_view text, int& port) {
  int value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value <= 0 || value > 65535) {
    return InvalidArgument("metadata redisHost: invalid port \"" + std::string(text) + "\"");
  }
  port = value;
  return Status::Ok();
}

// "host:port", "[ipv6]:port", or a bare host or "[ipv6]" (port 6379, as Dapr now allows).
Status ParseAddress(const std::string& text, state::RedisConnectOptions& out) {
  auto bad = [&] {
    return InvalidArgument("metadata redisHost: expected host:port, got \"" + text + "\"");
  };
  if (text.find(',') != std::string::npos) {
    return InvalidArgument("metadata redisHost: several addresses (Redis Cluster) are not supported");
  }
  std::string_view rest = text;
  std::string host;
  if (!rest.empty() && rest.front() == '[') {
    const size_t close = rest.find(']');
    if (close == std::string_view::npos) return bad();
    host = std::string(rest.substr(1, close - 1));
    rest.remove_prefix(close + 1);
  } else {
    const size_t colon = rest.find(':');
    if (colon != rest.rfind(':')) return bad();  // an IPv6 address needs brackets
    host = std::string(rest.substr(0, colon));
    rest.remove_prefix(colon == std::string_view::npos ? rest.size() : colon);
  }
  if (host.empty()) return bad();
  out.port = 6379;
  if (!rest.empty()) {
    if (rest.front() != ':') return bad();
    if (Status status = ParsePort(rest.substr(1), out.port); !status.ok()) return status;
  }
  out.host = std::move(host);
  return Status::Ok();
}

bool IsInteger(std::string_view text) {
  if (!text.empty() && text.front() == '-') text.remove_prefix(1);
  return !text.empty() &&
         std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c); });
}

// Dapr's Redis durations: a Go duration ("30s", "250ms") or a bare number of milliseconds
// (the project's GetDuration reads a bare number as seconds, hence this wrapper).
Result<milliseconds> RedisDuration(const ComponentMetadata& metadata, std::string_view key,
                                   milliseconds fallback) {
  auto text = metadata.Get(key);
  if (!text || text->empty()) return fallback;
  if (IsInteger(*text)) {
    long long ms = 0;
    auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), ms);
    if (ec != std::errc()) return InvalidArgument("metadata " + std::string(key) + ": out of range");
    return milliseconds(ms);
  }
  return metadata.GetDuration(key, fallback);
}

// Zero or negative (go-redis's "none") keeps the default: no socket wait without a limit.
Status ReadTimeout(const ComponentMetadata& metadata, std::string_view key, milliseconds& out) {
  auto value = RedisDuration(metadata, key, out);
  if (!value.ok()) return value.error();
  if (value.value() > milliseconds::zero()) out = value.value();
  return Status::Ok();
}

Status ParseConnection(const ComponentMetadata& metadata, state::RedisConnectOptions& out) {
  auto host = metadata.Get("redisHost");
  if (!host || host->empty()) return InvalidArgument("metadata redisHost is required (host:port)");
  if (Status status = ParseAddress(*host, out); !status.ok()) return status;
  out.username = metadata.GetOr("redisUsername", "");
  out.password = metadata.GetOr("redisPassword", "");
  auto db = metadata.GetInt("redisDB", 0);
  if (!db.ok()) return db.error();
  if (db.value() < 0) return InvalidArgument("metadata redisDB: must not be negative");
  out.db = db.value();
  if (Status s = ReadTimeout(metadata, "dialTimeout", out.dial_timeout); !s.ok()) return s;
  if (Status s = ReadTimeout(metadata, "readTimeout", out.read_timeout); !s.ok()) return s;
  // Dapr: writeTimeout defaults to readTimeout.
  out.write_timeout = out.read_timeout;
  return ReadTimeout(metadata, "writeTimeout", out.write_timeout);
}

Status NonNegativeDuration(const ComponentMetadata& metadata, std::string_view key,
                           milliseconds& out) {
  auto value = RedisDuration(metadata, key, out);
  if (!value.ok()) return value.error();
  if (value.value() < milliseconds::zero()) {
    return InvalidArgument("metadata " + std::string(key) + ": must not be negative");
  }
  out = value.value();
  return Status::Ok();
}

Status ParseDelivery(const ComponentMetadata& metadata, RedisPubSubOptions& out) {
  auto group = metadata.Get("consumerID");
  if (!group || group->empty()) return InvalidArgument("metadata consumerID is required");
  out.consumer_group = *group;
  if (Status s = NonNegativeDuration(metadata, "processingTimeout", out.processing_timeout); !s.ok()) return s;
  if (Status s = NonNegativeDuration(metadata, "redeliverInterval", out.redeliver_interval); !s.ok()) return s;
  long long depth = static_cast<long long>(out.queue_depth);
  if (Status s = metadata.ReadIntInRange("queueDepth", 1, 100000, depth); !s.ok()) return s;
  out.queue_depth = static_cast<size_t>(depth);
  long long concurrency = static_cast<long long>(out.concurrency);
  if (Status s = metadata.ReadIntInRange("concurrency", 1, 100000, concurrency); !s.ok()) return s;
  out.concurrency = static_cast<size_t>(concurrency);
  return Status::Ok();
}

Status ParseStreams(const ComponentMetadata& metadata, RedisPubSubOptions& out) {
  if (Status s = metadata.ReadIntInRange("maxLenApprox", 0, INT64_MAX, out.max_len_approx); !s.ok()) return s;
  // A plain duration here (a bare number is seconds): Dapr decodes it as a time.Duration.
  auto ttl = metadata.GetDuration("streamTTL", out.stream_ttl);
  if (!ttl.ok()) return ttl.error();
  if (ttl.value() < milliseconds::zero()) return InvalidArgument("metadata streamTTL: must not be negative");
  out.stream_ttl = ttl.value();
  long long pool = out.pool_size;
  if (Status s = metadata.ReadIntInRange("poolSize", 1, 10000, pool); !s.ok()) return s;
  out.pool_size = static_cast<int>(pool);
  return Status::Ok();
}

}  // namespace

// Keys of Dapr's not listed in metadata.yaml (retries, idle reaping...) are go-redis
// tuning with no counterpart here, and are ignored.
Result<RedisPubSubOptions> ParseRedisPubSubOptions(const ComponentMetadata& metadata) {
  RedisPubSubOptions options;
  if (Status status = components::RejectUnsupportedRedis(metadata, "pubsub.redis"); !status.ok()) return status;
  if (Status status = ParseConnection(metadata, options.connect); !status.ok()) return status;
  if (Status status = ParseDelivery(metadata, options); !status.ok()) return status;
  if (Status status = ParseStreams(metadata, options); !status.ok()) return status;
  return options;
}

}  // namespace dapr::components::pubsub
