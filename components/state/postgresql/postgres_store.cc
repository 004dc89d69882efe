#include "components/state/postgresql/postgres_store.h"

#include <cctype>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "components/state/postgresql/pg_query.h"

namespace dapr::state {
namespace {

using std::chrono::milliseconds;

constexpr std::string_view kTtlExpireTime = "ttlExpireTime";

// A row is visible only while it has not expired; every read and conditional write says so.
constexpr std::string_view kLive = "(expires_at IS NULL OR expires_at > now())";
// RFC 3339 in UTC, truncated to the second like Go's time.RFC3339 formatting.
constexpr std::string_view kExpireTimeText =
    R"(to_char(expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'))";
// $3 is the TTL in seconds or NULL; NULL propagates, so no TTL clears expires_at.
constexpr std::string_view kExpiresAt = "now() + $3 * interval '1 second'";

struct Config {
  std::string conninfo;
  std::string password;
  std::string table = "state";
  milliseconds timeout{20'000};
  milliseconds cleanup_interval{3'600'000};
  std::size_t pool_size = 8;
};

// An SQL identifier we can splice unquoted: letters, digits and underscores, not starting
// with a digit, at most 63 bytes (PostgreSQL's NAMEDATALEN - 1).
bool IsPlainIdentifier(std::string_view name) {
  if (name.empty() || name.size() > 63 || std::isdigit(static_cast<unsigned char>(name[0]))) {
    return false;
  }
  for (unsigned char c : name) {
    if (!std::isalnum(c) && c != '_') return false;
  }
  return true;
}

// "table" or "schema.table"; anything else could smuggle SQL into our statements.
bool IsValidTableName(std::string_view name) {
  auto dot = name.find('.');
  if (dot == std::string_view::npos) return IsPlainIdentifier(name);
  return IsPlainIdentifier(name.substr(0, dot)) && IsPlainIdentifier(name.substr(dot + 1));
}

std::string UnqualifiedName(const std::string& table) {
  auto dot = table.find('.');
  return dot == std::string::npos ? table : table.substr(dot + 1);
}

Status ParseConnection(const ComponentMetadata& metadata, Config& config) {
  auto conninfo = metadata.Get("connectionString");
  if (!conninfo || conninfo->empty()) {
    return InvalidArgument("metadata connectionString: required but missing");
  }
  auto password = PgConnectionPool::PasswordOf(*conninfo);
  if (!password.ok()) return password.error();
  config.conninfo = *conninfo;
  config.password = std::move(password).value();
  return Status::Ok();
}

// poolSize, or Dapr v2's maxConns (where 0 or less means the default) when it is absent.
Result<long long> ParsePoolSize(const ComponentMetadata& metadata, std::size_t fallback) {
  auto default_size = static_cast<long long>(fallback);
  if (!metadata.Get("poolSize") && metadata.Get("maxConns")) {
    auto max_conns = metadata.GetInt("maxConns", default_size);
    if (!max_conns.ok()) return max_conns.error();
    return *max_conns > 0 ? *max_conns : default_size;
  }
  auto pool_size = metadata.GetInt("poolSize", default_size);
  if (!pool_size.ok()) return pool_size.error();
  if (*pool_size < 1) return InvalidArgument("metadata poolSize: must be at least 1");
  return pool_size;
}

Status ParseTuning(const ComponentMetadata& metadata, Config& config) {
  auto timeout = metadata.GetDuration("timeout", config.timeout);
  if (!timeout.ok()) return timeout.error();
  if (*timeout <= milliseconds(0)) return InvalidArgument("metadata timeout: must be positive");
  auto cleanup = metadata.GetDuration("cleanupInterval", config.cleanup_interval);
  if (!cleanup.ok()) return cleanup.error();
  auto pool_size = ParsePoolSize(metadata, config.pool_size);
  if (!pool_size.ok()) return pool_size.error();
  config.timeout = *timeout;
  config.cleanup_interval = *cleanup;
  config.pool_size = static_cast<std::size_t>(*pool_size);
  return Status::Ok();
}

// actorStateStore and keyPrefix are read by the state block; unknown keys are ignored.
Result<Config> ParseConfig(const ComponentMetadata& metadata) {
  Config config;
  if (Status status = ParseConnection(metadata, config); !status.ok()) return status;
  config.table = metadata.GetOr("tableName", config.table);
  if (!IsValidTableName(config.table)) {
    return InvalidArgument("metadata tableName: \"" + config.table +
                           "\" is not a valid table name (expected [schema.]name)");
  }
  if (Status status = ParseTuning(metadata, config); !status.ok()) return status;
  return config;
}

bool HasEtag(const std::optional<std::string>& etag) {
  // As in Dapr, an empty ETag is the same as none.
  return etag.has_value() && !etag->empty();
}

// The canonical 8-4-4-4-12 hex form, which is what Get hands out.
bool IsUuid(std::string_view text) {
  if (text.size() != 36) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    bool dash_position = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash_position ? text[i] != '-' : !std::isxdigit(static_cast<unsigned char>(text[i]))) {
      return false;
    }
  }
  return true;
}

Status CheckEtag(const std::optional<std::string>& etag) {
  return !HasEtag(etag) || IsUuid(*etag) ? Status::Ok() : InvalidEtag();
}

Status ValidateSet(const SetRequest& request) {
  if (Status status = CheckEtag(request.etag); !status.ok()) return status;
  auto ttl = ParseTtl(request.metadata);
  return ttl.ok() ? Status::Ok() : ttl.error();
}

Status ValidateOperation(const TransactionOperation& operation) {
  if (operation.kind == TransactionOperation::Kind::kUpsert) return ValidateSet(operation.upsert);
  return CheckEtag(operation.remove.etag);
}

// Columns value, etag, expire time starting at `first`, as Get and BulkGet select them.
GetResponse FoundResponse(const PGresult* result, int row, int first) {
  GetResponse response;
  response.found = true;
  response.data = PgCell(result, row, first);
  response.etag = PgCell(result, row, first + 1);
  if (!PQgetisnull(result, row, first + 2)) {
    response.metadata[std::string(kTtlExpireTime)] = PgCell(result, row, first + 2);
  }
  return response;
}

std::vector<std::string> KeysOf(const std::vector<GetRequest>& requests) {
  std::vector<std::string> keys;
  keys.reserve(requests.size());
  for (const auto& request : requests) keys.push_back(request.key);
  return keys;
}

}  // namespace

PostgresStore::~PostgresStore() { Close(); }

PostgresStore::Statements PostgresStore::BuildStatements(const std::string& table) {
  const std::string live(kLive);
  const std::string expire_text(kExpireTimeText);
  const std::string expires_at(kExpiresAt);
  const std::string upsert = "INSERT INTO " + table + " AS s (key, value, etag, expires_at) " +
                             "VALUES ($1, $2, gen_random_uuid(), " + expires_at + ") " +
                             "ON CONFLICT (key) DO UPDATE SET value = excluded.value, " +
                             "etag = excluded.etag, updated_at = now(), " +
                             "expires_at = excluded.expires_at";
  Statements sql;
  sql.create_table = "CREATE TABLE IF NOT EXISTS " + table +
                     " (key text NOT NULL PRIMARY KEY, value bytea NOT NULL, "
                     "etag uuid NOT NULL DEFAULT gen_random_uuid(), "
                     "created_at timestamp with time zone NOT NULL DEFAULT now(), "
                     "updated_at timestamp with time zone, "
                     "expires_at timestamp with time zone)";
  sql.create_index = "CREATE INDEX IF NOT EXISTS " + UnqualifiedName(table) +
                     "_expires_at_idx ON " + table + " (expires_at)";
  sql.get =
      "SELECT value, etag::text, " + expire_text + " FROM " + table + " WHERE key = $1 AND " + live;
  sql.bulk_get = "SELECT key, value, etag::text, " + expire_text + " FROM " + table +
                 " WHERE key = ANY($1) AND " + live;
  sql.scan = "SELECT key, value, etag::text FROM " + table +
             " WHERE left(key, length($1)) = $1 AND " + live + " ORDER BY key";
  sql.upsert = upsert;
  // First-write may only replace a row that has expired but not yet been cleaned up.
  sql.insert_first = upsert + " WHERE s.expires_at IS NOT NULL AND s.expires_at <= now()";
  sql.update_if_etag = "UPDATE " + table + " SET value = $2, etag = gen_random_uuid(), " +
                       "updated_at = now(), expires_at = " + expires_at +
                       " WHERE key = $1 AND etag = $4 AND " + live;
  sql.remove = "DELETE FROM " + table + " WHERE key = $1";
  sql.remove_if_etag = "DELETE FROM " + table + " WHERE key = $1 AND etag = $2 AND " + live;
  sql.delete_expired =
      "DELETE FROM " + table + " WHERE expires_at IS NOT NULL AND expires_at <= now()";
  return sql;
}

Status PostgresStore::Init(const ComponentMetadata& metadata) {
  if (pool_) return FailedPrecondition("postgresql: Init called twice");
  auto config = ParseConfig(metadata);
  if (!config.ok()) return config.error();
  sql_ = BuildStatements(config->table);
  pool_ = std::make_unique<PgConnectionPool>(
      PgConnectionPool::Options{config->conninfo, config->timeout, config->pool_size},
      config->password);
  Status status = Run([this](PGconn* conn) {
    Status created = PgRun(conn, sql_.create_table);
    return created.ok() ? PgRun(conn, sql_.create_index) : created;
  });
  if (!status.ok()) {
    pool_.reset();  // a later Init may try again
    return status;
  }
  if (config->cleanup_interval > milliseconds(0)) StartCleanup(config->cleanup_interval);
  return Status::Ok();
}

Features PostgresStore::GetFeatures() const {
  Features features;
  features.etag = true;
  features.transactional = true;
  features.ttl = true;
  features.query = true;
  return features;
}

Status PostgresStore::Run(const PgConnectionPool::Work& work) {
  if (!pool_) return FailedPrecondition("postgresql: the state store is not initialized");
  return pool_->Run(work);
}

Result<GetResponse> PostgresStore::Get(const GetRequest& request) {
  GetResponse response;
  Status status = Run([&](PGconn* conn) {
    auto result = PgExec(conn, sql_.get, {PgText(request.key)});
    if (!result.ok()) return result.error();
    response = PQntuples(result->get()) == 0 ? GetResponse{} : FoundResponse(result->get(), 0, 0);
    return Status::Ok();
  });
  if (!status.ok()) return status;
  return response;
}

Result<std::vector<BulkGetItem>> PostgresStore::BulkGet(const std::vector<GetRequest>& requests) {
  if (requests.empty()) return std::vector<BulkGetItem>{};
  std::unordered_map<std::string, GetResponse> found;
  Status status = Run([&](PGconn* conn) {
    found.clear();  // in case of a retry
    auto result = PgExec(conn, sql_.bulk_get, {PgTextArray(KeysOf(requests))});
    if (!result.ok()) return result.error();
    for (int row = 0; row < PQntuples(result->get()); ++row) {
      found[PgCell(result->get(), row, 0)] = FoundResponse(result->get(), row, 1);
    }
    return Status::Ok();
  });
  if (!status.ok()) return status;
  std::vector<BulkGetItem> items;
  items.reserve(requests.size());
  for (const auto& request : requests) {
    auto it = found.find(request.key);
    items.push_back({request.key, it == found.end() ? GetResponse{} : it->second, {}});
  }
  return items;
}

Result<std::vector<StoredItem>> PostgresStore::Scan(const std::string& prefix) {
  std::vector<StoredItem> items;
  Status status = Run([&](PGconn* conn) {
    items.clear();  // in case of a retry
    auto result = PgExec(conn, sql_.scan, {PgText(prefix)});
    if (!result.ok()) return result.error();
    for (int row = 0; row < PQntuples(result->get()); ++row) {
      items.push_back({PgCell(result->get(), row, 0), PgCell(result->get(), row, 1),
                       PgCell(result->get(), row, 2)});
    }
    return Status::Ok();
  });
  if (!status.ok()) return status;
  return items;
}

Status PostgresStore::Set(const SetRequest& request) {
  if (Status status = ValidateSet(request); !status.ok()) return status;
  return Run([&](PGconn* conn) { return SetOn(conn, request); });
}

Status PostgresStore::Delete(const DeleteRequest& request) {
  if (Status status = CheckEtag(request.etag); !status.ok()) return status;
  return Run([&](PGconn* conn) { return DeleteOn(conn, request); });
}

Status PostgresStore::Multi(const std::vector<TransactionOperation>& operations) {
  // Reject malformed input before touching the database.
  for (const auto& operation : operations) {
    if (Status status = ValidateOperation(operation); !status.ok()) return status;
  }
  return Run([&](PGconn* conn) { return ApplyInTransaction(conn, operations); });
}

Status PostgresStore::SetOn(PGconn* conn, const SetRequest& request) const {
  auto ttl = ParseTtl(request.metadata);
  if (!ttl.ok()) return ttl.error();
  std::optional<long long> ttl_seconds;
  if (*ttl) ttl_seconds = (*ttl)->count();
  std::vector<PgParam> params{PgText(request.key), PgBytea(request.value), PgInt8(ttl_seconds)};
  const std::string* sql = &sql_.upsert;
  if (HasEtag(request.etag)) {
    params.push_back(PgUuid(*request.etag));
    sql = &sql_.update_if_etag;
  } else if (request.options.concurrency == Concurrency::kFirstWrite) {
    sql = &sql_.insert_first;
  }
  auto result = PgExec(conn, *sql, params);
  if (!result.ok()) return result.error();
  // No row touched: the ETag did not match a live row, or first-write found one.
  return PgAffectedRows(result->get()) == 0 ? EtagMismatch() : Status::Ok();
}

Status PostgresStore::DeleteOn(PGconn* conn, const DeleteRequest& request) const {
  if (!HasEtag(request.etag)) return PgRun(conn, sql_.remove, {PgText(request.key)});
  auto result = PgExec(conn, sql_.remove_if_etag, {PgText(request.key), PgUuid(*request.etag)});
  if (!result.ok()) return result.error();
  return PgAffectedRows(result->get()) == 0 ? EtagMismatch() : Status::Ok();
}

Status PostgresStore::ApplyInTransaction(
    PGconn* conn, const std::vector<TransactionOperation>& operations) const {
  if (Status status = PgRun(conn, "BEGIN"); !status.ok()) return status;
  for (const auto& operation : operations) {
    Status status = operation.kind == TransactionOperation::Kind::kUpsert
                        ? SetOn(conn, operation.upsert)
                        : DeleteOn(conn, operation.remove);
    if (!status.ok()) {
      // Best effort: if the connection died, the server has rolled back already.
      PgRun(conn, "ROLLBACK");
      return status;
    }
  }
  return PgRun(conn, "COMMIT");
}

Status PostgresStore::Ping() {
  return Run([](PGconn* conn) { return PgRun(conn, "SELECT 1"); });
}

void PostgresStore::StartCleanup(milliseconds interval) {
  cleanup_thread_ = std::thread([this, interval] { CleanupLoop(interval); });
}

// Reads already hide expired rows; this only reclaims their space. A failure (server down)
// is retried at the next tick, so it is deliberately not reported.
void PostgresStore::CleanupLoop(milliseconds interval) {
  std::unique_lock lock(cleanup_mutex_);
  while (!cleanup_wake_.wait_for(lock, interval, [this] { return stopping_; })) {
    lock.unlock();
    Run([this](PGconn* conn) { return PgRun(conn, sql_.delete_expired); });
    lock.lock();
  }
}

void PostgresStore::StopCleanup() {
  {
    std::lock_guard lock(cleanup_mutex_);
    stopping_ = true;
  }
  cleanup_wake_.notify_all();
  if (cleanup_thread_.joinable()) cleanup_thread_.join();
}

void PostgresStore::Close() {
  StopCleanup();
  if (pool_) pool_->Close();
}

}  // namespace dapr::state
