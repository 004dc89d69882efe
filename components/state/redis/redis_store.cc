#include "components/state/redis/redis_store.h"


#include <charconv>
#include <ctime>

#include "components/state/redis/redis_scripts.h"

namespace dapr::state {
namespace {

using std::chrono::system_clock;

std::string ReplyText(const redisReply& reply) {
  return reply.str == nullptr ? std::string() : std::string(reply.str, reply.len);
}

bool IsError(const redisReply& reply, std::string_view prefix) {
  return reply.type == REDIS_REPLY_ERROR && ReplyText(reply).starts_with(prefix);
}

// A Redis error reply that is not one of ours: transient states are kUnavailable so that
// the caller retries, the rest is an internal error.
Status ErrorReplyStatus(const redisReply& reply) {
  const std::string text = ReplyText(reply);
  for (std::string_view transient : {"LOADING", "BUSY", "MASTERDOWN", "TRYAGAIN"}) {
    if (text.starts_with(transient)) return Unavailable("redis: " + text);
  }
  if (text.starts_with("NOAUTH") || text.starts_with("WRONGPASS")) {
    return Status(StatusCode::kUnauthenticated, "redis: " + text);
  }
  if (text.starts_with("NOPERM")) return Status(StatusCode::kPermissionDenied, "redis: " + text);
  return Internal("redis: " + text);
}

// Dapr's Redis ETags are the integer "version" field. A non-integer can never match and is
// reported as malformed (400), not as a conflict (409). An empty ETag means none, as in Dapr.
Result<std::string> ExpectedVersion(const std::optional<std::string>& etag) {
  if (!etag || etag->empty()) return std::string();
  long long version = 0;
  const char* end = etag->data() + etag->size();
  auto [parsed_end, ec] = std::from_chars(etag->data(), end, version);
  if (ec != std::errc() || parsed_end != end) return InvalidEtag();
  return std::to_string(version);  // "007" and "7" name the same version
}

// Seconds to keep the key, 0 for no expiry. An explicit ttlInSeconds, even -1, wins over
// the component default, so a Set can clear the expiry the default would have applied.
Result<long long> TtlSeconds(const Metadata& metadata,
                             std::optional<std::chrono::seconds> fallback) {
  auto ttl = ParseTtl(metadata);
  if (!ttl.ok()) return ttl.error();
  if (ttl.value()) return ttl.value()->count();
  auto it = metadata.find("ttlInSeconds");
  const bool explicit_value = it != metadata.end() && !it->second.empty();
  return !explicit_value && fallback ? fallback->count() : 0LL;
}

// Operations in the write script's argument layout (see redis_scripts.h).
class WriteBatch {
 public:
  explicit WriteBatch(std::optional<std::chrono::seconds> default_ttl)
      : default_ttl_(default_ttl) {}

  Status AddUpsert(const SetRequest& request) {
    auto expected = ExpectedVersion(request.etag);
    if (!expected.ok()) return expected.error();
    auto ttl = TtlSeconds(request.metadata, default_ttl_);
    if (!ttl.ok()) return ttl.error();
    const bool first_write =
        expected->empty() && request.options.concurrency == Concurrency::kFirstWrite;
    Add(request.key,
        {"set", *expected, first_write ? "1" : "0", request.value, std::to_string(*ttl)});
    return Status::Ok();
  }

  Status AddDelete(const DeleteRequest& request) {
    auto expected = ExpectedVersion(request.etag);
    if (!expected.ok()) return expected.error();
    Add(request.key, {"del", *expected, "0", "", "0"});
    return Status::Ok();
  }

  RedisArgs& keys() { return keys_; }
  RedisArgs& args() { return args_; }

 private:
  void Add(const std::string& key, std::initializer_list<std::string> op_args) {
    keys_.push_back(key);
    args_.insert(args_.end(), op_args);
  }

  std::optional<std::chrono::seconds> default_ttl_;
  RedisArgs keys_;
  RedisArgs args_;
};

RedisArgs ScriptCommand(const RedisScript& script, RedisArgs keys, RedisArgs args) {
  RedisArgs command;
  command.reserve(3 + keys.size() + args.size());
  command.push_back("EVALSHA");
  command.push_back(script.sha);
  command.push_back(std::to_string(keys.size()));
  std::move(keys.begin(), keys.end(), std::back_inserter(command));
  std::move(args.begin(), args.end(), std::back_inserter(command));
  return command;
}

// EVALSHA spares sending the script every time; a server that lost its script cache
// (restart, SCRIPT FLUSH) answers NOSCRIPT and then gets the source, which EVAL caches.
Result<ReplyPtr> RunScriptOn(RedisConnection& connection, const RedisScript& script,
                             RedisArgs& command) {
  auto reply = connection.Command(command);
  if (!reply.ok() || !IsError(**reply, "NOSCRIPT")) return reply;
  command[0] = "EVAL";
  command[1] = std::string(script.source);
  return connection.Command(command);
}

// The pipelined form: on NOSCRIPT, load the script and send the whole pipeline again.
Result<std::vector<ReplyPtr>> PipelineScriptOn(RedisConnection& connection,
                                               const RedisScript& script,
                                               const std::vector<RedisArgs>& commands) {
  auto replies = connection.Pipeline(commands);
  if (!replies.ok()) return replies;
  bool lost_script = false;
  for (const auto& reply : replies.value()) lost_script |= IsError(*reply, "NOSCRIPT");
  if (!lost_script) return replies;
  auto loaded = connection.Command({"SCRIPT", "LOAD", std::string(script.source)});
  if (!loaded.ok()) return loaded.error();
  return connection.Pipeline(commands);
}

// Dapr formats ttlExpireTime with Go's time.RFC3339, in UTC, to the second.
std::string FormatRfc3339(system_clock::time_point instant) {
  const std::time_t seconds = system_clock::to_time_t(instant);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

// The get script answers nil, or {data, version or nil, pttl}.
Result<GetResponse> ParseGetReply(const redisReply& reply, system_clock::time_point now) {
  if (reply.type == REDIS_REPLY_NIL) return GetResponse{};
  if (reply.type == REDIS_REPLY_ERROR) return ErrorReplyStatus(reply);
  if (reply.type != REDIS_REPLY_ARRAY || reply.elements != 3) {
    return Internal("redis: unexpected reply to the get script");
  }
  const redisReply& data = *reply.element[0];
  const redisReply& version = *reply.element[1];
  const redisReply& pttl = *reply.element[2];
  GetResponse response;
  response.found = true;
  response.data = ReplyText(data);
  if (version.type == REDIS_REPLY_STRING) response.etag = ReplyText(version);
  if (pttl.type == REDIS_REPLY_INTEGER && pttl.integer > 0) {
    auto expiry = now + std::chrono::milliseconds(pttl.integer);
    response.metadata["ttlExpireTime"] = FormatRfc3339(expiry);
  }
  return response;
}

// Redis 7 may put "ERR " before a script's error text, so look for the marker anywhere.
bool IsScriptError(const redisReply& reply, std::string_view marker) {
  return reply.type == REDIS_REPLY_ERROR && ReplyText(reply).find(marker) != std::string::npos;
}

Status ParseWriteReply(const redisReply& reply) {
  if (IsScriptError(reply, redis_scripts::kEtagMismatch)) return EtagMismatch();
  if (reply.type == REDIS_REPLY_ERROR) return ErrorReplyStatus(reply);
  return Status::Ok();
}

}  // namespace

RedisStore::RedisStore(Clock clock)
    : clock_(std::move(clock)),
      get_script_{redis_scripts::kGet, {}},
      write_script_{redis_scripts::kWrite, {}} {}

RedisStore::~RedisStore() { Close(); }

Status RedisStore::Init(const ComponentMetadata& metadata) {
  auto options = ParseRedisStoreOptions(metadata);
  if (!options.ok()) return options.error();
  Close();
  options_ = std::move(options).value();
  pool_ = std::make_unique<RedisConnectionPool>(options_.connect, options_.pool_size);
  if (Status status = Ping(); !status.ok()) return status;
  if (Status status = LoadScripts(); !status.ok()) return status;
  StartAsyncClient();
  return Status::Ok();
}

bool RedisStore::AttachEventLoop(boost::asio::io_context& loop) {
  loop_ = &loop;
  return true;
}

void RedisStore::StartAsyncClient() {
  if (loop_) async_ = MakeRedisAsyncClient(*loop_, options_.connect);
}

void RedisStore::RunScriptAsync(const RedisScript& script, RedisArgs command,
                                RedisAsyncClient::Callback done) {
  auto client = async_;
  client->Command(command, [client, source = script.source, command, done = std::move(done)](
                               const redisReply* reply, const Status& status) mutable {
    if (reply && IsError(*reply, "NOSCRIPT")) {
      command[0] = "EVAL";
      command[1] = std::string(source);
      client->Command(std::move(command), std::move(done));
      return;
    }
    done(reply, status);
  });
}

void RedisStore::GetAsync(GetRequest request, std::function<void(Result<GetResponse>)> done) {
  RunScriptAsync(get_script_, ScriptCommand(get_script_, {std::move(request.key)}, {}),
                 [clock = clock_, done = std::move(done)](const redisReply* reply,
                                                          const Status& status) {
                   if (!reply) return done(status);
                   done(ParseGetReply(*reply, clock()));
                 });
}

void RedisStore::SetAsync(SetRequest request, std::function<void(Status)> done) {
  WriteBatch batch(options_.default_ttl);
  if (Status status = batch.AddUpsert(request); !status.ok()) return done(status);
  RunScriptAsync(write_script_,
                 ScriptCommand(write_script_, std::move(batch.keys()), std::move(batch.args())),
                 [done = std::move(done)](const redisReply* reply, const Status& status) {
                   if (!reply) return done(status);
                   done(ParseWriteReply(*reply));
                 });
}

Features RedisStore::GetFeatures() const {
  Features features;
  features.etag = true;
  features.transactional = true;
  features.ttl = true;
  return features;
}

template <class Action>
auto RedisStore::WithConnection(Action&& action)
    -> decltype(action(std::declval<RedisConnection&>())) {
  if (!pool_) return FailedPrecondition("redis state store is not initialized");
  for (int attempt = 0;; ++attempt) {
    auto lease = pool_->Acquire();
    if (!lease.ok()) return lease.error();  // not even a fresh connection: Redis is down
    RedisConnection& connection = **lease;
    auto result = action(connection);
    if (!connection.broken()) return result;
    // The server closed or reset the connection (a restart, most likely), so the idle ones
    // are stale too. A timeout is not retried: the server is up but slow or hung.
    // A write retried here may already have been applied; Dapr's go-redis does the same.
    pool_->DropIdle();
    if (connection.timed_out() || attempt >= options_.max_retries) return result;
  }  // the broken connection is discarded when its lease ends, before the next Acquire
}

Status RedisStore::LoadScripts() {
  for (RedisScript* script : {&get_script_, &write_script_}) {
    auto reply = WithConnection([&](RedisConnection& connection) {
      return connection.Command({"SCRIPT", "LOAD", std::string(script->source)});
    });
    if (!reply.ok()) return reply.error();
    if ((*reply)->type != REDIS_REPLY_STRING) return ErrorReplyStatus(**reply);
    script->sha = ReplyText(**reply);
  }
  return Status::Ok();
}

Result<ReplyPtr> RedisStore::RunScript(const RedisScript& script, RedisArgs command) {
  return WithConnection(
      [&](RedisConnection& connection) { return RunScriptOn(connection, script, command); });
}

Status RedisStore::RunWrites(RedisArgs keys, RedisArgs args) {
  if (keys.empty()) return Status::Ok();
  auto reply =
      RunScript(write_script_, ScriptCommand(write_script_, std::move(keys), std::move(args)));
  if (!reply.ok()) return reply.error();
  return ParseWriteReply(**reply);
}

Result<GetResponse> RedisStore::Get(const GetRequest& request) {
  auto reply = RunScript(get_script_, ScriptCommand(get_script_, {request.key}, {}));
  if (!reply.ok()) return reply.error();
  return ParseGetReply(**reply, clock_());
}

Status RedisStore::Set(const SetRequest& request) {
  WriteBatch batch(options_.default_ttl);
  if (Status status = batch.AddUpsert(request); !status.ok()) return status;
  return RunWrites(std::move(batch.keys()), std::move(batch.args()));
}

Status RedisStore::Delete(const DeleteRequest& request) {
  WriteBatch batch(options_.default_ttl);
  if (Status status = batch.AddDelete(request); !status.ok()) return status;
  return RunWrites(std::move(batch.keys()), std::move(batch.args()));
}

// One pipeline: every read is sent before the first reply is awaited.
Result<std::vector<BulkGetItem>> RedisStore::BulkGet(const std::vector<GetRequest>& requests) {
  std::vector<BulkGetItem> items;
  if (requests.empty()) return items;
  std::vector<RedisArgs> commands;
  commands.reserve(requests.size());
  for (const auto& request : requests) {
    commands.push_back(ScriptCommand(get_script_, {request.key}, {}));
  }
  auto replies = WithConnection([&](RedisConnection& connection) {
    return PipelineScriptOn(connection, get_script_, commands);
  });
  if (!replies.ok()) return replies.error();
  const auto now = clock_();
  items.reserve(requests.size());
  for (size_t i = 0; i < requests.size(); ++i) {
    BulkGetItem item{requests[i].key, {}, {}};
    auto response = ParseGetReply(*replies.value()[i], now);
    if (response.ok()) {
      item.response = std::move(response).value();
    } else {
      item.error = response.error().message();
    }
    items.push_back(std::move(item));
  }
  return items;
}

// All operations go to one script run: every condition is checked before anything is
// written, so a failed ETag leaves the store as it was.
Status RedisStore::Multi(const std::vector<TransactionOperation>& operations) {
  WriteBatch batch(options_.default_ttl);
  for (const auto& operation : operations) {
    Status status = operation.kind == TransactionOperation::Kind::kUpsert
                        ? batch.AddUpsert(operation.upsert)
                        : batch.AddDelete(operation.remove);
    if (!status.ok()) return status;
  }
  return RunWrites(std::move(batch.keys()), std::move(batch.args()));
}

Status RedisStore::Ping() {
  auto reply =
      WithConnection([](RedisConnection& connection) { return connection.Command({"PING"}); });
  if (!reply.ok()) return reply.error();
  if ((*reply)->type == REDIS_REPLY_ERROR) return ErrorReplyStatus(**reply);
  return Status::Ok();
}

void RedisStore::Close() {
  if (pool_) pool_->Close();
  if (async_) async_->Close();
  async_.reset();
}

}  // namespace dapr::state
