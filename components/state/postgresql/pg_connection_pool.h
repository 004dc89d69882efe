// PgConnectionPool lends libpq connections, each usable by one thread at a time, to the many
// worker threads that call a store, and hides a server restart: a connection found broken is
// dropped and the call retried once on a new one, so no re-Init is needed once it is back.
#pragma once

#include <libpq-fe.h>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "dapr/status.h"

namespace dapr::state {

class PgConnectionPool {
 public:
  struct Options {
    std::string conninfo;                      // libpq keyword/value string or postgres:// URL
    std::chrono::milliseconds timeout{20000};  // connect_timeout, statement_timeout, wait
    std::size_t max_size = 8;
  };

  // Extracts the password from conninfo (to scrub it from messages); fails when the
  // connection string cannot be parsed. The message never echoes the string itself.
  static Result<std::string> PasswordOf(const std::string& conninfo);

  PgConnectionPool(Options options, std::string password);
  ~PgConnectionPool();
  PgConnectionPool(const PgConnectionPool&) = delete;
  PgConnectionPool& operator=(const PgConnectionPool&) = delete;

  using Work = std::function<Status(PGconn*)>;

  // Runs work on a borrowed connection (connecting lazily, waiting while all are busy).
  // If the connection turns out broken, retries once on a fresh one; if that fails too,
  // returns kUnavailable. Error messages never contain the password.
  Status Run(const Work& work);

  // Refuses new work and closes idle connections; busy ones close when they come back.
  void Close();

 private:
  Result<PGconn*> Borrow();
  void Return(PGconn* conn);
  void ReleaseSlot();
  Result<PGconn*> Connect() const;
  Status PrepareSession(PGconn* conn) const;
  std::vector<PGconn*> TakeIdleLocked();
  Status Redacted(const Status& status) const;

  const Options options_;
  const std::string password_;  // kept only to scrub it from error messages

  std::mutex mutex_;
  std::condition_variable available_;
  std::vector<PGconn*> idle_;
  std::size_t open_ = 0;  // idle plus lent out plus being connected
  bool closed_ = false;
};

}  // namespace dapr::state
