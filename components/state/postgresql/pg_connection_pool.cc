#include "components/state/postgresql/pg_connection_pool.h"

#include <algorithm>
#include <cstring>

#include "components/state/postgresql/pg_query.h"

namespace dapr::state {
namespace {

void FinishAll(const std::vector<PGconn*>& conns) {
  for (PGconn* conn : conns) PQfinish(conn);
}

// CREATE TABLE IF NOT EXISTS and friends send NOTICEs that libpq would print to stderr.
void IgnoreNotice(void*, const char*) {}

std::string ReplaceAll(std::string text, const std::string& needle, const std::string& with) {
  if (needle.empty()) return text;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at)) {
    text.replace(at, needle.size(), with);
    at += with.size();
  }
  return text;
}

// libpq counts connect_timeout in whole seconds and treats anything below 2 as 2.
std::string ConnectTimeoutSeconds(std::chrono::milliseconds timeout) {
  long long seconds = (timeout.count() + 999) / 1000;
  return std::to_string(std::max(2LL, seconds));
}

}  // namespace

Result<std::string> PgConnectionPool::PasswordOf(const std::string& conninfo) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &error);
  // libpq's parse error may quote part of the string (and so the password): drop it.
  PQfreemem(error);
  if (options == nullptr) {
    return InvalidArgument(
        "metadata connectionString: not a valid libpq connection string or postgres:// URL");
  }
  std::string password;
  for (PQconninfoOption* option = options; option->keyword != nullptr; ++option) {
    if (std::strcmp(option->keyword, "password") == 0 && option->val != nullptr) {
      password = option->val;
    }
  }
  PQconninfoFree(options);
  return password;
}

PgConnectionPool::PgConnectionPool(Options options, std::string password)
    : options_(std::move(options)), password_(std::move(password)) {}

PgConnectionPool::~PgConnectionPool() { Close(); }

Status PgConnectionPool::Run(const Work& work) {
  Status status;
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto conn = Borrow();
    if (!conn.ok()) return Redacted(conn.error());
    status = work(*conn);
    bool broken = PQstatus(*conn) != CONNECTION_OK;
    Return(*conn);
    // A call that succeeded is never repeated, even if the connection died just after.
    if (!broken || status.ok()) return Redacted(status);
  }
  return Redacted(
      Unavailable("postgresql: the connection to the server was lost and could not "
                  "be re-established: " +
                  status.message()));
}

void PgConnectionPool::Close() {
  std::vector<PGconn*> idle;
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
    idle = TakeIdleLocked();
  }
  available_.notify_all();
  FinishAll(idle);
}

Result<PGconn*> PgConnectionPool::Borrow() {
  std::unique_lock lock(mutex_);
  bool ready = available_.wait_for(lock, options_.timeout, [&] {
    return closed_ || !idle_.empty() || open_ < options_.max_size;
  });
  if (closed_) return FailedPrecondition("postgresql: the state store is closed");
  if (!ready) {
    return Status(StatusCode::kDeadlineExceeded,
                  "postgresql: timed out waiting for a free connection from the pool");
  }
  PGconn* reused = nullptr;
  if (!idle_.empty()) {
    reused = idle_.back();
    idle_.pop_back();
  } else {
    ++open_;  // reserve the slot now, connect outside the lock
  }
  lock.unlock();
  if (reused != nullptr && PQstatus(reused) == CONNECTION_OK) return reused;
  if (reused != nullptr) PQfinish(reused);  // keep its slot for the new connection
  auto conn = Connect();
  if (!conn.ok()) ReleaseSlot();
  return conn;
}

void PgConnectionPool::Return(PGconn* conn) {
  bool broken = PQstatus(conn) != CONNECTION_OK;
  // A connection left inside a transaction would leak its state into the next caller.
  bool reusable = !broken && PQtransactionStatus(conn) == PQTRANS_IDLE;
  std::vector<PGconn*> to_close;
  {
    std::lock_guard lock(mutex_);
    if (reusable && !closed_) {
      idle_.push_back(conn);
    } else {
      to_close.push_back(conn);
      --open_;
    }
    // One broken connection usually means the server restarted: the idle ones are stale too.
    if (broken) {
      auto stale = TakeIdleLocked();
      to_close.insert(to_close.end(), stale.begin(), stale.end());
    }
  }
  available_.notify_all();
  FinishAll(to_close);
}

void PgConnectionPool::ReleaseSlot() {
  {
    std::lock_guard lock(mutex_);
    --open_;
  }
  available_.notify_one();
}

std::vector<PGconn*> PgConnectionPool::TakeIdleLocked() {
  std::vector<PGconn*> taken;
  taken.swap(idle_);
  open_ -= taken.size();
  return taken;
}

Result<PGconn*> PgConnectionPool::Connect() const {
  // Parameters before "dbname" are defaults: the user's connection string (expanded from
  // dbname) overrides them, so an explicit connect_timeout in it wins.
  std::string connect_timeout = ConnectTimeoutSeconds(options_.timeout);
  const char* keys[] = {"connect_timeout", "fallback_application_name", "dbname", nullptr};
  const char* values[] = {connect_timeout.c_str(), "daprd", options_.conninfo.c_str(), nullptr};
  PGconn* conn = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
  if (conn == nullptr) return Unavailable("postgresql: cannot connect: out of memory");
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string message = PgOneLine(PQerrorMessage(conn));
    PQfinish(conn);
    return Unavailable("postgresql: cannot connect to the server: " + message);
  }
  PQsetNoticeProcessor(conn, IgnoreNotice, nullptr);
  if (Status status = PrepareSession(conn); !status.ok()) {
    PQfinish(conn);
    return status;
  }
  return conn;
}

Status PgConnectionPool::PrepareSession(PGconn* conn) const {
  return PgRun(conn, "SET statement_timeout = " + std::to_string(options_.timeout.count()));
}

Status PgConnectionPool::Redacted(const Status& status) const {
  if (password_.empty() || status.message().find(password_) == std::string::npos) return status;
  return Status(status.code(), ReplaceAll(status.message(), password_, "********"));
}

}  // namespace dapr::state
