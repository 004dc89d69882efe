// RedisConnection and RedisConnectionPool: blocking hiredis connections shared by many worker
// threads. hiredis contexts are not thread-safe and block, so each call borrows one; a broken
// connection is thrown away instead of repaired, so a Redis restart costs one retried call.
#pragma once

#include <hiredis/hiredis.h>

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "dapr/status.h"

namespace dapr::state {

// How to reach and log in to one Redis server; filled from the component metadata.
struct RedisConnectOptions {
  std::string host;
  int port = 6379;
  std::string username;
  std::string password;  // never put into a message
  long long db = 0;
  std::chrono::milliseconds dial_timeout{5000};
  std::chrono::milliseconds read_timeout{3000};
  std::chrono::milliseconds write_timeout{3000};

  std::string Address() const { return host + ":" + std::to_string(port); }
};

struct ReplyDeleter {
  void operator()(redisReply* reply) const { freeReplyObject(reply); }
};
using ReplyPtr = std::unique_ptr<redisReply, ReplyDeleter>;

// One command line: binary-safe arguments.
using RedisArgs = std::vector<std::string>;

class RedisConnection {
 public:
  // Connects, applies the socket timeouts, then AUTH and SELECT as configured.
  static Result<std::unique_ptr<RedisConnection>> Open(const RedisConnectOptions& options);
  ~RedisConnection();
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;

  // The reply (which may be a Redis error reply); a Status only when the connection failed.
  Result<ReplyPtr> Command(const RedisArgs& args);
  // Sends every command before reading any reply: one round trip for many commands.
  Result<std::vector<ReplyPtr>> Pipeline(const std::vector<RedisArgs>& commands);

  // After an I/O error hiredis cannot use the context again.
  bool broken() const { return failed_ || context_->err != 0; }
  // The last failure was a socket timeout: the server is slow or hung, retrying would
  // only double the wait.
  bool timed_out() const { return timed_out_; }

 private:
  RedisConnection(redisContext* context, std::string address);
  Status Handshake(const RedisConnectOptions& options);
  Status ConnectionError();

  redisContext* context_;
  std::string address_;
  bool failed_ = false;  // also set when a pipeline was left half-written
  bool timed_out_ = false;
};

// Connections are created lazily up to a limit; when all are busy a caller waits for one.
// Connecting happens outside the lock, so a slow connect never blocks other callers.
class RedisConnectionPool {
 public:
  class Lease {
   public:
    Lease(RedisConnectionPool* pool, std::unique_ptr<RedisConnection> connection)
        : pool_(pool), connection_(std::move(connection)) {}
    Lease(Lease&&) = default;
    Lease& operator=(Lease&&) = delete;
    ~Lease();

    RedisConnection& operator*() const { return *connection_; }
    RedisConnection* operator->() const { return connection_.get(); }

   private:
    RedisConnectionPool* pool_;
    std::unique_ptr<RedisConnection> connection_;
  };

  RedisConnectionPool(RedisConnectOptions options, int max_size);
  ~RedisConnectionPool();

  // An idle connection, else a new one if under the limit, else waits. Fails with
  // kUnavailable when a new connection cannot be made.
  Result<Lease> Acquire();
  // Forgets every idle connection: after one broke, the others most likely did too.
  void DropIdle();
  // Frees idle connections now and busy ones when they are returned; Acquire then fails.
  void Close();

 private:
  void Release(std::unique_ptr<RedisConnection> connection);

  const RedisConnectOptions options_;
  const int max_size_;
  std::mutex mutex_;
  std::condition_variable available_;
  std::vector<std::unique_ptr<RedisConnection>> idle_;
  int open_count_ = 0;  // idle + borrowed + being connected
  bool closed_ = false;
};

}  // namespace dapr::state
