// SQLite helpers shared by the SQLite components (state store, name resolution): a prepared
// statement that finalizes itself, whose bind helpers chain so call sites stay short, and
// statement execution with SQLite's message turned into a Status.
#pragma once

#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "dapr/status.h"

namespace dapr::components {

class SqliteStatement {
 public:
  SqliteStatement(sqlite3* db, const std::string& sql) {
    rc_ = sqlite3_prepare_v2(db, sql.c_str(), static_cast<int>(sql.size()), &stmt_, nullptr);
  }
  ~SqliteStatement() { sqlite3_finalize(stmt_); }
  SqliteStatement(const SqliteStatement&) = delete;
  SqliteStatement& operator=(const SqliteStatement&) = delete;

  bool ok() const { return rc_ == SQLITE_OK; }

  SqliteStatement& BindText(int i, std::string_view text) {
    sqlite3_bind_text(stmt_, i, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
    return *this;
  }
  SqliteStatement& BindBlob(int i, std::string_view bytes) {
    sqlite3_bind_blob(stmt_, i, bytes.data(), static_cast<int>(bytes.size()), SQLITE_TRANSIENT);
    return *this;
  }
  // No value binds NULL.
  SqliteStatement& BindInt(int i, std::optional<int64_t> value) {
    if (value) {
      sqlite3_bind_int64(stmt_, i, *value);
    } else {
      sqlite3_bind_null(stmt_, i);
    }
    return *this;
  }

  int Step() { return sqlite3_step(stmt_); }

  std::string Text(int col) const {
    auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
    return text ? std::string(text, sqlite3_column_bytes(stmt_, col)) : std::string();
  }
  std::string Blob(int col) const {
    const void* data = sqlite3_column_blob(stmt_, col);
    int size = sqlite3_column_bytes(stmt_, col);
    return data ? std::string(static_cast<const char*>(data), size) : std::string();
  }
  std::optional<int64_t> Int(int col) const {
    if (sqlite3_column_type(stmt_, col) == SQLITE_NULL) return std::nullopt;
    return sqlite3_column_int64(stmt_, col);
  }

 private:
  sqlite3_stmt* stmt_ = nullptr;
  int rc_ = SQLITE_ERROR;
};

// Runs SQL that returns no rows.
inline Status SqliteExec(sqlite3* db, const std::string& sql) {
  char* error = nullptr;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
    std::string message = error ? error : "unknown error";
    sqlite3_free(error);
    return Internal("sqlite: " + message);
  }
  return Status::Ok();
}

// Runs a schema set-up statement (journal mode, CREATE ... IF NOT EXISTS) that may collide with
// another process setting up the same file: sidecars started together on a fresh ~/.dapr race
// to create it. SQLite answers some of those collisions with SQLITE_BUSY at once, without the
// busy handler (switching the journal to WAL; a schema read that must become a write while
// another connection writes), so this waits and tries again itself, for at most `wait`.
// Start-up only: it sleeps on the calling thread.
inline Status SqliteExecSetUp(sqlite3* db, const std::string& sql, std::chrono::milliseconds wait) {
  auto deadline = std::chrono::steady_clock::now() + wait;
  std::chrono::milliseconds pause(5);
  while (true) {
    Status status = SqliteExec(db, sql);
    int code = sqlite3_errcode(db) & 0xff;
    if (status.ok() || (code != SQLITE_BUSY && code != SQLITE_LOCKED)) return status;
    if (std::chrono::steady_clock::now() + pause > deadline) return status;
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(100));
  }
}

}  // namespace dapr::components
