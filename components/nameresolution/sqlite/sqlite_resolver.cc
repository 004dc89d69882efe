// nameresolution.sqlite: registry rows in a shared SQLite file, renewed by a background thread
// and read by Resolve; see sqlite_resolver.h for the row lifecycle.
#include "components/nameresolution/sqlite/sqlite_resolver.h"

#include <arpa/inet.h>
#include <sqlite3.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <vector>

#include "components/common/sqlite_statement.h"

namespace dapr::nameresolution {
namespace {

using std::chrono::milliseconds;

int64_t NowMs() {
  return std::chrono::duration_cast<milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool ValidTableName(const std::string& name) {
  if (name.empty()) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

// Only literal loopback addresses: a registry on one machine must never advertise an
// address that other machines could reach.
bool IsLoopback(const std::string& host) {
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  return inet_pton(AF_INET6, host.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

std::string JoinHostPort(const std::string& host, uint16_t port) {
  bool ipv6 = host.find(':') != std::string::npos;
  return (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::string RandomId() {
  std::random_device device;
  std::uniform_int_distribution<uint64_t> bits;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id;
  for (int word = 0; word < 2; ++word) {
    uint64_t value = bits(device);
    for (int i = 0; i < 16; ++i, value >>= 4) id += kHex[value & 0xf];
  }
  return id;
}

Status ValidateRegistration(const Registration& self) {
  if (self.app_id.empty()) return InvalidArgument("nameresolution.sqlite: app id is missing");
  if (self.dapr_internal_grpc_port == 0) {
    return InvalidArgument("nameresolution.sqlite: internal gRPC port is missing");
  }
  if (!IsLoopback(self.host)) {
    return InvalidArgument("nameresolution.sqlite: host " + self.host +
                           " is not a loopback address; the registry is for one machine only");
  }
  return Status::Ok();
}

Status SqliteError(sqlite3* db) { return Internal(std::string("sqlite: ") + sqlite3_errmsg(db)); }

}  // namespace

std::string DefaultRegistryPath() {
  const char* home = std::getenv("HOME");
  std::filesystem::path base = home && *home ? home : ".";
  return (base / ".dapr" / "nameresolution.db").string();
}

SqliteResolver::~SqliteResolver() { Close(); }

Result<SqliteResolver::Settings> SqliteResolver::ParseSettings(const ComponentMetadata& metadata) {
  Settings settings;
  settings.path = metadata.GetOr("connectionString", "");
  if (settings.path.empty())
    return InvalidArgument("nameresolution.sqlite: missing connectionString");
  settings.table = metadata.GetOr("tableName", "hosts");
  if (!ValidTableName(settings.table)) {
    return InvalidArgument("nameresolution.sqlite: invalid tableName: " + settings.table);
  }
  auto update = metadata.GetDuration("updateInterval", std::chrono::seconds(5));
  if (!update.ok()) return update.error();
  auto timeout = metadata.GetDuration("timeout", std::chrono::seconds(1));
  if (!timeout.ok()) return timeout.error();
  auto busy = metadata.GetDuration("busyTimeout", milliseconds(800));
  if (!busy.ok()) return busy.error();
  auto cleanup = metadata.GetDuration("cleanupInterval", std::chrono::hours(1));
  if (!cleanup.ok()) return cleanup.error();
  if (update->count() <= 0 || timeout->count() <= 0) {
    return InvalidArgument("nameresolution.sqlite: updateInterval and timeout must be positive");
  }
  // A renewal that waits out the whole timeout must still land well before the row expires.
  if (*timeout >= *update) {
    return InvalidArgument("nameresolution.sqlite: timeout must be shorter than updateInterval");
  }
  settings.update_interval = *update;
  settings.lock_wait = std::min(*busy, *timeout);
  settings.cleanup_interval = std::max(*cleanup, milliseconds(0));
  return settings;
}

Status SqliteResolver::Exec(const std::string& sql) {
  return components::SqliteExecSetUp(db_, sql, settings_.lock_wait);
}

Status SqliteResolver::Open() {
  // daprd's default lives in ~/.dapr, which may not exist yet on a fresh machine.
  std::filesystem::path path = settings_.path;
  if (settings_.path.rfind("file:", 0) != 0 && path.has_parent_path()) {
    std::error_code ignored;  // sqlite3_open_v2 reports the failure that matters
    std::filesystem::create_directories(path.parent_path(), ignored);
  }
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI | SQLITE_OPEN_FULLMUTEX;
  if (sqlite3_open_v2(settings_.path.c_str(), &db_, flags, nullptr) != SQLITE_OK) {
    std::string message = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    return Unavailable("nameresolution.sqlite: cannot open " + settings_.path + ": " + message);
  }
  sqlite3_busy_timeout(db_, static_cast<int>(settings_.lock_wait.count()));
  const std::string& t = settings_.table;
  for (const std::string& sql :
       {std::string("PRAGMA journal_mode=WAL"), std::string("PRAGMA synchronous=NORMAL"),
        "CREATE TABLE IF NOT EXISTS " + t +
            " (registration_id TEXT NOT NULL PRIMARY KEY, address TEXT NOT NULL, app_id TEXT "
            "NOT NULL, namespace TEXT NOT NULL, dapr_http_port INTEGER NOT NULL, app_port INTEGER "
            "NOT NULL, pid INTEGER NOT NULL, last_update INTEGER NOT NULL, expires_at INTEGER NOT "
            "NULL)",
        "CREATE UNIQUE INDEX IF NOT EXISTS " + t + "_address ON " + t + " (address)",
        "CREATE INDEX IF NOT EXISTS " + t + "_app ON " + t + " (app_id, namespace, expires_at)"}) {
    Status status = Exec(sql);
    if (!status.ok()) return status;
  }
  return Status::Ok();
}

// replace: take over a row left at our address by a sidecar that died without unregistering;
// otherwise leave any row there alone (a renewal must not steal a successor's address).
Status SqliteResolver::Register(bool replace) {
  int64_t now = NowMs();
  components::SqliteStatement stmt(
      db_, std::string(replace ? "REPLACE" : "INSERT OR IGNORE") + " INTO " + settings_.table +
               " (registration_id, address, app_id, namespace, dapr_http_port, app_port,"
               " pid, last_update, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
  if (!stmt.ok()) return SqliteError(db_);
  stmt.BindText(1, registration_id_).BindText(2, address_).BindText(3, self_.app_id);
  stmt.BindText(4, self_.app_namespace).BindInt(5, int64_t{self_.dapr_http_port});
  stmt.BindInt(6, int64_t{self_.app_port}).BindInt(7, self_.pid).BindInt(8, now);
  stmt.BindInt(9, now + kRowLifetimeInIntervals * settings_.update_interval.count());
  return stmt.Step() == SQLITE_DONE ? Status::Ok() : SqliteError(db_);
}

Status SqliteResolver::Renew() {
  int64_t now = NowMs();
  components::SqliteStatement stmt(
      db_, "UPDATE " + settings_.table +
               " SET last_update = ?, expires_at = ? WHERE registration_id = ?");
  if (!stmt.ok()) return SqliteError(db_);
  stmt.BindInt(1, now).BindInt(2,
                               now + kRowLifetimeInIntervals * settings_.update_interval.count());
  stmt.BindText(3, registration_id_);
  if (stmt.Step() != SQLITE_DONE) return SqliteError(db_);
  // Our row was swept while this process stalled (a suspended laptop): announce again.
  if (sqlite3_changes(db_) == 0) return Register(/*replace=*/false);
  return Status::Ok();
}

Status SqliteResolver::DeleteStaleRows() {
  components::SqliteStatement stmt(db_,
                                   "DELETE FROM " + settings_.table + " WHERE expires_at <= ?");
  if (!stmt.ok()) return SqliteError(db_);
  stmt.BindInt(1, NowMs());
  return stmt.Step() == SQLITE_DONE ? Status::Ok() : SqliteError(db_);
}

Status SqliteResolver::Unregister() {
  components::SqliteStatement stmt(db_,
                                   "DELETE FROM " + settings_.table + " WHERE registration_id = ?");
  if (!stmt.ok()) return SqliteError(db_);
  stmt.BindText(1, registration_id_);
  return stmt.Step() == SQLITE_DONE ? Status::Ok() : SqliteError(db_);
}

Status SqliteResolver::Init(const ComponentMetadata& metadata, const Registration& self) {
  auto settings = ParseSettings(metadata);
  if (!settings.ok()) return settings.error();
  Status valid = ValidateRegistration(self);
  if (!valid.ok()) return valid;
  settings_ = std::move(settings.value());
  self_ = self;
  address_ = JoinHostPort(self.host, self.dapr_internal_grpc_port);
  registration_id_ = RandomId();
  {
    std::lock_guard lock(mutex_);
    Status status = Open();
    if (status.ok()) status = Register(/*replace=*/true);
    // Rows of sidecars that crashed since the last sweep; a failure here is retried later.
    if (status.ok() && settings_.cleanup_interval.count() > 0) DeleteStaleRows();
    if (!status.ok()) {
      if (db_) sqlite3_close_v2(db_);
      db_ = nullptr;
      return status;
    }
  }
  renew_thread_ = std::thread([this] { RenewLoop(); });
  return Status::Ok();
}

void SqliteResolver::RenewLoop() {
  auto next_sweep = std::chrono::steady_clock::now() + settings_.cleanup_interval;
  std::unique_lock wait_lock(renew_mutex_);
  while (
      !renew_wake_.wait_for(wait_lock, settings_.update_interval, [this] { return stopping_; })) {
    wait_lock.unlock();
    {
      std::lock_guard lock(mutex_);
      // A failed renewal is retried on the next tick; the row outlives a few missed ones.
      Renew();
      if (settings_.cleanup_interval.count() > 0 &&
          std::chrono::steady_clock::now() >= next_sweep) {
        DeleteStaleRows();
        next_sweep = std::chrono::steady_clock::now() + settings_.cleanup_interval;
      }
    }
    wait_lock.lock();
  }
}

Result<std::vector<std::string>> SqliteResolver::ResolveAll(const ResolveRequest& request) {
  const std::string& ns =
      request.app_namespace.empty() ? self_.app_namespace : request.app_namespace;
  std::vector<std::string> addresses;
  {
    std::lock_guard lock(mutex_);
    if (!db_) return Unavailable("nameresolution.sqlite: resolver is closed");
    components::SqliteStatement stmt(db_,
                                     "SELECT address FROM " + settings_.table +
                                         " WHERE app_id = ? AND namespace = ? AND expires_at > ?"
                                         " ORDER BY address");
    if (!stmt.ok()) return SqliteError(db_);
    stmt.BindText(1, request.app_id).BindText(2, ns).BindInt(3, NowMs());
    int rc;
    while ((rc = stmt.Step()) == SQLITE_ROW) addresses.push_back(stmt.Text(0));
    if (rc != SQLITE_DONE) return SqliteError(db_);
  }
  if (addresses.empty()) {
    std::string where = ns.empty() ? "" : " in namespace \"" + ns + "\"";
    return NotFound("no host found for app id \"" + request.app_id + "\"" + where);
  }
  return addresses;
}

Result<std::string> SqliteResolver::Resolve(const ResolveRequest& request) {
  auto addresses = ResolveAll(request);
  if (!addresses.ok()) return addresses.error();
  // Round robin over the live instances, in a stable order, so calls spread evenly.
  return (*addresses)[next_pick_.fetch_add(1, std::memory_order_relaxed) % addresses->size()];
}

void SqliteResolver::StopRenewing() {
  {
    std::lock_guard lock(renew_mutex_);
    stopping_ = true;
  }
  renew_wake_.notify_all();
  if (renew_thread_.joinable()) renew_thread_.join();
}

void SqliteResolver::Close() {
  StopRenewing();
  std::lock_guard lock(mutex_);
  if (!db_) return;
  Unregister();  // if this fails, the row simply expires
  sqlite3_close_v2(db_);
  db_ = nullptr;
}

}  // namespace dapr::nameresolution
