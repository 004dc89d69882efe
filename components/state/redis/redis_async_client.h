// RedisAsyncClient: one pipelined hiredis connection driven by the sidecar's Asio event loop,
// so a state call on the HTTP hot path goes request -> Redis -> answer on one thread, with
// no hand-off to a worker (each cross-thread wake-up costs tens of µs on a VM). hiredis 0.14
// ships no Asio adapter; the small one here (hand-written for that reason) follows hiredis'
// add/del read/write hooks: it reads the socket itself into hiredis' reader, and waits for
// writability with stream_descriptor::async_wait.
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include "common/loop_types.h"
#include "components/state/redis/redis_connection.h"

struct redisAsyncContext;

namespace dapr::state {

class RedisAsyncClient : public std::enable_shared_from_this<RedisAsyncClient> {
 public:
  // reply is null when the command failed before a reply (status says why); a reply is only
  // valid during the callback.
  using Callback = std::function<void(const redisReply* reply, const Status& status)>;

  // host must be a numeric address: resolving a name could block the event loop.
  RedisAsyncClient(boost::asio::io_context& loop, RedisConnectOptions options);
  ~RedisAsyncClient();

  // Safe from any thread; done runs on the client's strand of the event loop.
  void Command(RedisArgs args, Callback done);
  // Fails what is in flight and drops the connection; call before the loop is destroyed.
  void Close();

  // Where the callbacks run: work of the caller's own that shares state with them can be
  // posted here rather than guarded.
  const loop::Strand& strand() const { return strand_; }

 private:
  struct Watcher;
  struct Request;

  void Send(RedisArgs args, Callback done);  // on the strand
  void Flush();                              // on the strand: writes what Send queued
  bool Connect();
  void OnDisconnected(const std::string& why);
  void ArmWatchdog();
  void CheckTimeouts();
  static void OnReply(redisAsyncContext* context, void* reply, void* privdata);

  using Strand = loop::Strand;  // concrete executor types: see common/loop_types.h
  using Timer = loop::Timer;

  Strand strand_;
  RedisConnectOptions options_;
  redisAsyncContext* context_ = nullptr;
  std::shared_ptr<Watcher> watcher_;
  // Send times of the commands in flight, oldest first (replies come back in order).
  std::deque<std::chrono::steady_clock::time_point> in_flight_;
  Timer watchdog_;
  bool watchdog_armed_ = false;
  bool flush_posted_ = false;  // a Flush is queued on the strand
  std::string failure_;  // why the last connection ended, for the commands it fails
};

// A client for the server of options, or null when its host does not resolve (the caller
// then keeps to its blocking path). The name is resolved here, off the loop: the client
// itself only takes numeric addresses.
std::shared_ptr<RedisAsyncClient> MakeRedisAsyncClient(boost::asio::io_context& loop,
                                                       const RedisConnectOptions& options);

}  // namespace dapr::state
