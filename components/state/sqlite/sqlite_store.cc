#include "components/state/sqlite/sqlite_store.h"

#include <sqlite3.h>

#include <cctype>
#include <chrono>

#include "common/time_format.h"
#include "components/common/sqlite_statement.h"

namespace dapr::state {
namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool ValidEtag(const std::string& etag) {
  if (etag.empty() || etag.size() > 20) return false;
  for (char c : etag) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

bool ValidTableName(const std::string& name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  }
  return true;
}

}  // namespace

SqliteStore::~SqliteStore() { Close(); }

Status SqliteStore::Exec(const std::string& sql) { return components::SqliteExec(db_, sql); }

Status SqliteStore::Init(const ComponentMetadata& metadata) {
  auto path = metadata.Get("connectionString");
  if (!path || path->empty()) return InvalidArgument("missing connectionString");
  table_ = metadata.GetOr("tableName", "state");
  if (!ValidTableName(table_)) return InvalidArgument("invalid tableName: " + table_);
  auto busy = metadata.GetDuration("busyTimeout", std::chrono::seconds(2));
  if (!busy.ok()) return busy.error();
  auto cleanup = metadata.GetDuration("cleanupInterval", std::chrono::hours(1));
  if (!cleanup.ok()) return cleanup.error();

  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI | SQLITE_OPEN_FULLMUTEX;
  if (sqlite3_open_v2(path->c_str(), &db_, flags, nullptr) != SQLITE_OK) {
    std::string message = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    return Unavailable("cannot open sqlite database " + *path + ": " + message);
  }
  sqlite3_busy_timeout(db_, static_cast<int>(busy->count()));
  for (const std::string& sql :
       {std::string("PRAGMA journal_mode=WAL"), std::string("PRAGMA synchronous=NORMAL"),
        "CREATE TABLE IF NOT EXISTS " + table_ +
            " (key TEXT NOT NULL PRIMARY KEY, value BLOB NOT NULL, etag TEXT NOT NULL,"
            " expiration_time INTEGER, update_time INTEGER)",
        "CREATE INDEX IF NOT EXISTS " + table_ + "_expiration ON " + table_ +
            " (expiration_time)"}) {
    Status status = components::SqliteExecSetUp(db_, sql, *busy);
    if (!status.ok()) return status;
  }
  if (cleanup->count() > 0) {
    cleanup_thread_ = std::thread([this, interval = *cleanup] { CleanupLoop(interval); });
  }
  return Status::Ok();
}

std::string SqliteStore::NewEtag() { return std::to_string(random_() >> 1); }

Result<std::optional<SqliteStore::Row>> SqliteStore::LiveRow(const std::string& key) {
  components::SqliteStatement stmt(
      db_, "SELECT etag, expiration_time FROM " + table_ +
               " WHERE key = ? AND (expiration_time IS NULL OR expiration_time > ?)");
  if (!stmt.ok()) return Internal(std::string("sqlite: ") + sqlite3_errmsg(db_));
  stmt.BindText(1, key);
  stmt.BindInt(2, NowMs());
  int rc = stmt.Step();
  if (rc == SQLITE_DONE) return std::optional<Row>{};
  if (rc != SQLITE_ROW) return Internal(std::string("sqlite: ") + sqlite3_errmsg(db_));
  return std::optional<Row>{Row{stmt.Blob(0), stmt.Int(1)}};
}

Result<GetResponse> SqliteStore::Get(const GetRequest& request) {
  std::lock_guard lock(mutex_);
  if (!db_) return Unavailable("sqlite store is closed");
  components::SqliteStatement stmt(
      db_, "SELECT value, etag, expiration_time FROM " + table_ +
               " WHERE key = ? AND (expiration_time IS NULL OR expiration_time > ?)");
  if (!stmt.ok()) return Internal(std::string("sqlite: ") + sqlite3_errmsg(db_));
  stmt.BindText(1, request.key);
  stmt.BindInt(2, NowMs());
  int rc = stmt.Step();
  if (rc == SQLITE_DONE) return GetResponse{};
  if (rc != SQLITE_ROW) return Internal(std::string("sqlite: ") + sqlite3_errmsg(db_));
  GetResponse response{true, stmt.Blob(0), stmt.Blob(1), {}};
  if (auto expires = stmt.Int(2)) {
    response.metadata["ttlExpireTime"] =
        FormatRfc3339(std::chrono::system_clock::time_point(std::chrono::milliseconds(*expires)));
  }
  return response;
}

Status SqliteStore::SetLocked(const SetRequest& request) {
  // As Dapr's SQLite store: an ETag that is not one of ours simply does not match.
  if (request.etag && !ValidEtag(*request.etag)) return EtagMismatch();
  auto ttl = ParseTtl(request.metadata);
  if (!ttl.ok()) return ttl.error();
  auto row = LiveRow(request.key);
  if (!row.ok()) return row.error();
  if (request.etag) {
    if (!*row || (*row)->etag != *request.etag) return EtagMismatch();
  } else if (request.options.concurrency == Concurrency::kFirstWrite && *row) {
    return EtagMismatch();
  }
  int64_t now = NowMs();
  std::optional<int64_t> expires;
  if (*ttl) expires = now + std::chrono::duration_cast<std::chrono::milliseconds>(**ttl).count();
  components::SqliteStatement stmt(
      db_, "INSERT INTO " + table_ +
               " (key, value, etag, expiration_time, update_time) VALUES (?, ?, ?, ?, ?)"
               " ON CONFLICT(key) DO UPDATE SET value = excluded.value,"
               " etag = excluded.etag, expiration_time = excluded.expiration_time,"
               " update_time = excluded.update_time");
  if (!stmt.ok()) return Internal(std::string("sqlite: ") + sqlite3_errmsg(db_));
  stmt.BindText(1, request.key);
  stmt.BindBlob(2, request.value);
  stmt.BindText(3, NewEtag());
  stmt.BindInt(4, expires);
  stmt.BindInt(5, now);
  if (stmt.Step() != SQLITE_DONE) return Internal(std::string("sqlite: ") + sqlite3_errmsg(db_));
  return Status::Ok();
}

Status SqliteStore::DeleteLocked(const DeleteRequest& request) {
  if (request.etag) {
    if (!ValidEtag(*request.etag)) return EtagMismatch();
    auto row = LiveRow(request.key);
    if (!row.ok()) return row.error();
    if (!*row || (*row)->etag != *request.etag) return EtagMismatch();
  }
  components::SqliteStatement stmt(db_, "DELETE FROM " + table_ + " WHERE key = ?");
  if (!stmt.ok()) return Internal(std::string("sqlite: ") + sqlite3_errmsg(db_));
  stmt.BindText(1, request.key);
  if (stmt.Step() != SQLITE_DONE) return Internal(std::string("sqlite: ") + sqlite3_errmsg(db_));
  return Status::Ok();
}

Status SqliteStore::Set(const SetRequest& request) {
  std::lock_guard lock(mutex_);
  if (!db_) return Unavailable("sqlite store is closed");
  return SetLocked(request);
}

Status SqliteStore::Delete(const DeleteRequest& request) {
  std::lock_guard lock(mutex_);
  if (!db_) return Unavailable("sqlite store is closed");
  return DeleteLocked(request);
}

Status SqliteStore::Multi(const std::vector<TransactionOperation>& operations) {
  std::lock_guard lock(mutex_);
  if (!db_) return Unavailable("sqlite store is closed");
  Status status = Exec("BEGIN IMMEDIATE");
  if (!status.ok()) return status;
  for (const auto& op : operations) {
    status = op.kind == TransactionOperation::Kind::kUpsert ? SetLocked(op.upsert)
                                                            : DeleteLocked(op.remove);
    if (!status.ok()) {
      Exec("ROLLBACK");
      return status;
    }
  }
  status = Exec("COMMIT");
  if (!status.ok()) Exec("ROLLBACK");
  return status;
}

Result<std::vector<StoredItem>> SqliteStore::Scan(const std::string& prefix) {
  std::lock_guard lock(mutex_);
  if (!db_) return Unavailable("sqlite store is closed");
  components::SqliteStatement stmt(db_, "SELECT key, value, etag FROM " + table_ +
                                            " WHERE substr(key, 1, ?) = ? AND"
                                            " (expiration_time IS NULL OR expiration_time > ?)");
  if (!stmt.ok()) return Internal(std::string("sqlite: ") + sqlite3_errmsg(db_));
  stmt.BindInt(1, static_cast<int64_t>(prefix.size()));
  stmt.BindText(2, prefix);
  stmt.BindInt(3, NowMs());
  std::vector<StoredItem> items;
  int rc;
  while ((rc = stmt.Step()) == SQLITE_ROW)
    items.push_back({stmt.Blob(0), stmt.Blob(1), stmt.Blob(2)});
  if (rc != SQLITE_DONE) return Internal(std::string("sqlite: ") + sqlite3_errmsg(db_));
  return items;
}

Status SqliteStore::Ping() {
  std::lock_guard lock(mutex_);
  return db_ ? Exec("SELECT 1") : Unavailable("sqlite store is closed");
}

Status SqliteStore::DeleteExpired() {
  std::lock_guard lock(mutex_);
  if (!db_) return Status::Ok();
  return Exec(
      "DELETE FROM " + table_ +
      " WHERE expiration_time IS NOT NULL AND expiration_time <= " + std::to_string(NowMs()));
}

void SqliteStore::CleanupLoop(std::chrono::milliseconds interval) {
  std::unique_lock lock(cleanup_mutex_);
  while (!cleanup_wake_.wait_for(lock, interval, [this] { return stopping_; })) {
    lock.unlock();
    DeleteExpired();
    lock.lock();
  }
}

void SqliteStore::Close() {
  {
    std::lock_guard lock(cleanup_mutex_);
    stopping_ = true;
  }
  cleanup_wake_.notify_all();
  if (cleanup_thread_.joinable()) cleanup_thread_.join();
  std::lock_guard lock(mutex_);
  if (db_) sqlite3_close_v2(db_);
  db_ = nullptr;
}

}  // namespace dapr::state
