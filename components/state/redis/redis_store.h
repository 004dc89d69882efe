// RedisStore: the state.redis component. It keeps Dapr's data layout (one hash per key with
// "data" and an integer "version" that is the ETag) so a Redis written by Dapr stays readable,
// and makes every conditional write a single Lua script so the ETag check and write are atomic.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "components/state/redis/redis_async_client.h"
#include "components/state/redis/redis_connection.h"
#include "dapr/state/store.h"

namespace dapr::state {

// Everything the component metadata configures.
struct RedisStoreOptions {
  RedisConnectOptions connect;
  int pool_size = 16;
  int max_retries = 3;  // extra attempts after a connection error, never after a reply
  std::optional<std::chrono::seconds> default_ttl;  // for a Set without ttlInSeconds
};

// A Lua script and its SHA1 for EVALSHA (from SCRIPT LOAD at Init).
struct RedisScript {
  std::string_view source;
  std::string sha;
};

// Parses and checks the metadata; an error names the field at fault.
Result<RedisStoreOptions> ParseRedisStoreOptions(const ComponentMetadata& metadata);

class RedisStore final : public Store {
 public:
  using Clock = std::function<std::chrono::system_clock::time_point()>;

  // The clock only turns a key's remaining TTL into ttlExpireTime; tests may pin it.
  explicit RedisStore(Clock clock = &std::chrono::system_clock::now);
  ~RedisStore() override;

  Status Init(const ComponentMetadata& metadata) override;
  Features GetFeatures() const override;

  Result<GetResponse> Get(const GetRequest& request) override;
  Status Set(const SetRequest& request) override;
  Status Delete(const DeleteRequest& request) override;
  Result<std::vector<BulkGetItem>> BulkGet(const std::vector<GetRequest>& requests) override;
  Status Multi(const std::vector<TransactionOperation>& operations) override;

  bool AttachEventLoop(boost::asio::io_context& loop) override;
  bool SupportsAsync() const override { return async_ != nullptr; }
  void GetAsync(GetRequest request, std::function<void(Result<GetResponse>)> done) override;
  void SetAsync(SetRequest request, std::function<void(Status)> done) override;

  Status Ping() override;
  void Close() override;

 private:
  // Runs action(connection) on a pooled connection; when the connection turns out to be
  // broken, discards it and the idle ones and tries again on a fresh one (max_retries).
  template <class Action>
  auto WithConnection(Action&& action) -> decltype(action(std::declval<RedisConnection&>()));

  Status LoadScripts();
  // command is EVALSHA sha numkeys keys... args...
  Result<ReplyPtr> RunScript(const RedisScript& script, RedisArgs command);
  Status RunWrites(RedisArgs keys, RedisArgs args);
  void StartAsyncClient();
  void RunScriptAsync(const RedisScript& script, RedisArgs command,
                      RedisAsyncClient::Callback done);

  Clock clock_;
  RedisStoreOptions options_;
  std::unique_ptr<RedisConnectionPool> pool_;
  RedisScript get_script_;
  RedisScript write_script_;
  boost::asio::io_context* loop_ = nullptr;
  std::shared_ptr<RedisAsyncClient> async_;  // set when a loop was attached
};

}  // namespace dapr::state
