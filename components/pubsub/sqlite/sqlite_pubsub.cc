#include "components/pubsub/sqlite/sqlite_pubsub.h"

#include <spdlog/spdlog.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <limits>
#include <optional>
#include <random>
#include <sstream>
#include <tuple>
#include <vector>

#include "components/common/sqlite_statement.h"

namespace dapr::components::pubsub {
namespace {

using ::dapr::pubsub::Message;
using ::dapr::pubsub::MessageHandler;
using ::dapr::pubsub::PublishRequest;
using std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

// Wall-clock milliseconds: leases and expiries are compared by every process sharing the file,
// so they cannot use a per-process steady clock.
int64_t NowMs() {
  return std::chrono::duration_cast<milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Table names are spliced into SQL, so only identifier characters are accepted.
bool ValidPrefix(const std::string& prefix) {
  if (!prefix.empty() && std::isdigit(static_cast<unsigned char>(prefix[0]))) return false;
  for (char c : prefix) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  }
  return true;
}

bool SameKey(std::string_view a, std::string_view b) {
  CaseInsensitiveLess less;
  return !less(a, b) && !less(b, a);
}

// The expiry (wall-clock ms) a publish asks for with ttlInSeconds, found in any case as Dapr
// does; none without it. 0 is accepted and expires the message at once, as the block does
// for brokers without TTL.
Result<std::optional<int64_t>> ExpiryMs(const ::dapr::pubsub::Metadata& metadata, int64_t now) {
  for (const auto& [key, value] : metadata) {
    if (!SameKey(key, "ttlInSeconds") || value.empty()) continue;
    int64_t seconds = -1;
    auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), seconds);
    if (error != std::errc() || end != value.data() + value.size() || seconds < 0) {
      return InvalidArgument("ttlInSeconds must be a non-negative whole number of seconds, not \"" +
                             value + "\"");
    }
    if (seconds > (std::numeric_limits<int64_t>::max() - now) / 1000) break;  // never, in effect
    return std::optional<int64_t>(now + seconds * 1000);
  }
  return std::optional<int64_t>();
}

// ---- Who holds a lease ----------------------------------------------------------------------
// An owner id is "host|pid namespace|pid|start time|random". The random part tells two
// instances of one process apart; the rest lets a subscriber on the same host see that the
// process behind a lease is gone (no /proc entry, or one of a newer process that reuses the
// pid) and free the lease at once instead of waiting for processingTimeout. Whenever that
// cannot be told for sure (another host or container, no /proc), the lease is left to expire.

struct ProcessIdentity {
  std::string host;
  std::string pid_namespace;
  std::string start_time;  // in clock ticks since boot, as /proc/<pid>/stat says
  long pid = 0;
};

// Field 22 of /proc/<pid>/stat; the command name (field 2) may hold spaces and parentheses,
// so fields are counted after its closing parenthesis.
std::optional<std::string> ProcessStartTime(long pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  if (!in) return std::nullopt;
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t paren = stat.rfind(')');
  if (paren == std::string::npos) return std::nullopt;
  std::istringstream fields(stat.substr(paren + 1));
  std::string field;
  for (int i = 3; i <= 22; ++i) {
    if (!(fields >> field)) return std::nullopt;
  }
  return field;
}

ProcessIdentity ThisProcess() {
  ProcessIdentity self;
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) == 0) self.host = host;
  char ns[128] = {};
  ssize_t size = readlink("/proc/self/ns/pid", ns, sizeof(ns) - 1);
  if (size > 0) self.pid_namespace.assign(ns, static_cast<size_t>(size));
  self.pid = static_cast<long>(getpid());
  self.start_time = ProcessStartTime(self.pid).value_or("");
  return self;
}

std::string NewOwnerId() {
  ProcessIdentity self = ThisProcess();
  std::ostringstream id;
  id << self.host << '|' << self.pid_namespace << '|' << self.pid << '|' << self.start_time << '|'
     << std::hex << std::random_device{}() << std::random_device{}();
  return id.str();
}

std::vector<std::string> SplitOwner(const std::string& owner) {
  std::vector<std::string> parts;
  std::istringstream in(owner);
  for (std::string part; std::getline(in, part, '|');) parts.push_back(part);
  return parts;
}

// True only when the lease's owner process is certainly gone.
bool OwnerProcessIsGone(const std::string& owner) {
  std::vector<std::string> parts = SplitOwner(owner);
  ProcessIdentity self = ThisProcess();
  if (parts.size() != 5 || self.pid_namespace.empty() || self.start_time.empty()) return false;
  if (parts[0] != self.host || parts[1] != self.pid_namespace || parts[3].empty()) return false;
  long pid = 0;
  auto [end, error] = std::from_chars(parts[2].data(), parts[2].data() + parts[2].size(), pid);
  if (error != std::errc() || pid <= 0) return false;
  if (pid == self.pid) return parts[3] != self.start_time;
  struct stat info {};
  if (stat(("/proc/" + parts[2]).c_str(), &info) != 0) return errno == ENOENT;
  auto start = ProcessStartTime(pid);
  return start && *start != parts[3];
}

// ---- Waiting for other processes' locks -----------------------------------------------------

struct BusyWait {
  std::atomic<bool> stopping{false};
  milliseconds timeout{0};
  SteadyClock::time_point since;
};

// SQLite's busy handler: waits for a lock another connection holds, up to busyTimeout, but
// gives up at once when the instance closes, so that Close never waits on another process.
int WaitWhileBusy(void* context, int attempts) {
  auto* wait = static_cast<BusyWait*>(context);
  auto now = SteadyClock::now();
  if (attempts == 0) wait->since = now;
  if (wait->stopping.load() || now - wait->since >= wait->timeout) return 0;
  std::this_thread::sleep_for(milliseconds(attempts < 10 ? 1 : 5));
  return 1;
}

// A duration by key, refused (naming the key) unless a Go duration above the minimum.
Status ReadDuration(const ComponentMetadata& metadata, const std::string& key, bool allow_zero,
                    milliseconds& value) {
  auto parsed = metadata.GetDuration(key, value);
  if (!parsed.ok()) return parsed.error();
  if (parsed->count() < 0 || (!allow_zero && parsed->count() == 0)) {
    return InvalidArgument("metadata " + key + ": must be " +
                           (allow_zero ? "zero or more" : "more than zero"));
  }
  value = *parsed;
  return Status::Ok();
}

}  // namespace

// ---- Options ----------------------------------------------------------------------------------

struct SqlitePubSub::Options {
  std::string path;
  std::string consumer_group;
  std::string table_prefix = "pubsub_";
  milliseconds processing_timeout{60000};
  milliseconds redeliver_interval{2000};
  milliseconds poll_interval{50};
  milliseconds cleanup_interval{10000};
  milliseconds busy_timeout{2000};
  size_t concurrency = 10;
  long long max_len = 0;  // messages kept per topic; 0 keeps all until consumed
};

namespace {

Status ReadNames(const ComponentMetadata& metadata, SqlitePubSub::Options& options) {
  options.path = metadata.GetOr("connectionString", "");
  if (options.path.empty()) {
    return InvalidArgument("pubsub.sqlite: missing connectionString (the database file path)");
  }
  options.consumer_group = metadata.GetOr("consumerID", "");
  if (options.consumer_group.empty()) return InvalidArgument("pubsub.sqlite: missing consumerID");
  options.table_prefix = metadata.Get("tablePrefix").value_or(options.table_prefix);
  if (!ValidPrefix(options.table_prefix)) {
    return InvalidArgument("metadata tablePrefix: letters, digits and underscores only, not \"" +
                           options.table_prefix + "\"");
  }
  return Status::Ok();
}

Status ReadTimings(const ComponentMetadata& metadata, SqlitePubSub::Options& options) {
  for (auto [key, allow_zero, value] : {
           std::tuple{"processingTimeout", false, &options.processing_timeout},
           std::tuple{"redeliverInterval", true, &options.redeliver_interval},
           std::tuple{"pollInterval", false, &options.poll_interval},
           std::tuple{"cleanupInterval", true, &options.cleanup_interval},
           std::tuple{"busyTimeout", true, &options.busy_timeout},
       }) {
    Status status = ReadDuration(metadata, key, allow_zero, *value);
    if (!status.ok()) return status;
  }
  return Status::Ok();
}

Status ReadLimits(const ComponentMetadata& metadata, SqlitePubSub::Options& options) {
  auto concurrency = metadata.GetInt("concurrency", static_cast<long long>(options.concurrency));
  if (!concurrency.ok()) return concurrency.error();
  if (*concurrency < 1) return InvalidArgument("metadata concurrency: must be at least 1");
  options.concurrency = static_cast<size_t>(*concurrency);
  auto max_len = metadata.GetInt("maxLen", options.max_len);
  if (!max_len.ok()) return max_len.error();
  if (*max_len < 0) return InvalidArgument("metadata maxLen: must be zero or more");
  options.max_len = *max_len;
  return Status::Ok();
}

Result<SqlitePubSub::Options> ParseOptions(const ComponentMetadata& metadata) {
  SqlitePubSub::Options options;
  for (auto read : {ReadNames, ReadTimings, ReadLimits}) {
    Status status = read(metadata, options);
    if (!status.ok()) return status;
  }
  return options;
}

}  // namespace

// ---- Database: the connection and every statement -------------------------------------------

class SqlitePubSub::Database {
 public:
  struct Key {
    std::string topic;
    std::string group;
  };
  struct Claimed {
    int64_t id = 0;
    int64_t attempt = 0;  // tells this claim from a later one of the same message
    std::string data;
    std::string content_type;
  };

  static Result<std::shared_ptr<Database>> Open(const Options& options);
  ~Database() { sqlite3_close_v2(db_); }
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  void StopWaiting() { busy_.stopping = true; }

  Status Insert(const PublishRequest& request, std::optional<int64_t> expires_ms);
  Status JoinGroup(const Key& key);
  Result<bool> HasWork(const Key& key);
  Result<std::vector<Claimed>> Claim(const Key& key, size_t count, milliseconds lease);
  Status Ack(const Key& key, int64_t id);
  Status Retry(const Key& key, int64_t id, int64_t attempt, int64_t due_ms);
  Status Sweep(long long max_len);

 private:
  Database(sqlite3* db, const Options& options);

  Status Error() const { return Internal(std::string("sqlite: ") + sqlite3_errmsg(db_)); }
  Status Run(SqliteStatement& statement) const;
  template <class Body>
  Status InTransaction(Body body);
  Status SetUp(milliseconds wait);
  Status ClaimDue(const Key& key, size_t count, int64_t now, int64_t until,
                  std::vector<Claimed>& claimed);
  Status ClaimNew(const Key& key, size_t count, int64_t now, int64_t until,
                  std::vector<Claimed>& claimed);
  Status Lease(const Key& key, int64_t id, int64_t until, bool first);
  Result<int64_t> LastId(const Key& key);
  Status MoveLastId(const Key& key, int64_t from, int64_t to);
  Status FreeLeasesOfGoneOwners(const Key& key, int64_t now);
  Status TrimTopics(long long max_len);
  Status DeleteUnreferenced();

  std::mutex mutex_;  // one statement or transaction at a time on the connection
  sqlite3* db_;
  BusyWait busy_;
  const std::string owner_;
  const std::string messages_;
  const std::string groups_;
  const std::string pending_;
};

SqlitePubSub::Database::Database(sqlite3* db, const Options& options)
    : db_(db),
      owner_(NewOwnerId()),
      messages_(options.table_prefix + "messages"),
      groups_(options.table_prefix + "groups"),
      pending_(options.table_prefix + "pending") {
  busy_.timeout = options.busy_timeout;
  if (db_) sqlite3_busy_handler(db_, WaitWhileBusy, &busy_);
}

Result<std::shared_ptr<SqlitePubSub::Database>> SqlitePubSub::Database::Open(
    const Options& options) {
  sqlite3* raw = nullptr;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI | SQLITE_OPEN_FULLMUTEX;
  int rc = sqlite3_open_v2(options.path.c_str(), &raw, flags, nullptr);
  std::shared_ptr<Database> db(new Database(raw, options));  // closes raw on every path
  std::string where = "pubsub.sqlite: cannot use database " + options.path + ": ";
  if (rc != SQLITE_OK) return Unavailable(where + (raw ? sqlite3_errmsg(raw) : "out of memory"));
  // SQLite silently opens a file it may not write read-only.
  if (sqlite3_db_readonly(raw, "main") == 1) return Unavailable(where + "it is read-only");
  Status status = db->SetUp(options.busy_timeout);
  if (!status.ok()) return Unavailable(where + status.message());
  return db;
}

Status SqlitePubSub::Database::SetUp(milliseconds wait) {
  // WAL lets readers (idle pollers of other sidecars) run beside the one writer; NORMAL
  // syncs at checkpoints only, which loses nothing when a process is killed, only on power loss.
  for (const std::string& sql : {
           std::string("PRAGMA journal_mode=WAL"),
           std::string("PRAGMA synchronous=NORMAL"),
           "CREATE TABLE IF NOT EXISTS " + messages_ +
               " (id INTEGER PRIMARY KEY AUTOINCREMENT, topic TEXT NOT NULL, data BLOB NOT NULL,"
               " content_type TEXT NOT NULL, published_at INTEGER NOT NULL, expires_at INTEGER)",
           "CREATE INDEX IF NOT EXISTS " + messages_ + "_topic ON " + messages_ + " (topic, id)",
           "CREATE INDEX IF NOT EXISTS " + messages_ + "_expiry ON " + messages_ +
               " (expires_at) WHERE expires_at IS NOT NULL",
           "CREATE TABLE IF NOT EXISTS " + groups_ +
               " (topic TEXT NOT NULL, consumer_group TEXT NOT NULL, last_id INTEGER NOT NULL,"
               " created_at INTEGER NOT NULL, PRIMARY KEY (topic, consumer_group)) WITHOUT ROWID",
           "CREATE TABLE IF NOT EXISTS " + pending_ +
               " (consumer_group TEXT NOT NULL, topic TEXT NOT NULL, message_id INTEGER NOT NULL,"
               " owner TEXT, lease_until INTEGER NOT NULL, attempts INTEGER NOT NULL,"
               " PRIMARY KEY (consumer_group, topic, message_id)) WITHOUT ROWID",
           "CREATE INDEX IF NOT EXISTS " + pending_ + "_message ON " + pending_ + " (message_id)",
       }) {
    Status status = SqliteExecSetUp(db_, sql, wait);
    if (!status.ok()) return status;
  }
  return Status::Ok();
}

Status SqlitePubSub::Database::Run(SqliteStatement& statement) const {
  if (!statement.ok() || statement.Step() != SQLITE_DONE) return Error();
  return Status::Ok();
}

// BEGIN IMMEDIATE takes the write lock up front (waiting in the busy handler): a deferred
// transaction that reads first and writes later can fail with SQLITE_BUSY at once, without
// the handler, when another process wrote in between. Callers hold mutex_.
template <class Body>
Status SqlitePubSub::Database::InTransaction(Body body) {
  Status status = SqliteExec(db_, "BEGIN IMMEDIATE");
  if (!status.ok()) return status;
  status = body();
  if (status.ok()) status = SqliteExec(db_, "COMMIT");
  if (!status.ok()) SqliteExec(db_, "ROLLBACK");
  return status;
}

// A single statement runs in a transaction of its own (SQLite's autocommit), so the one-row
// writes below need no BEGIN.
Status SqlitePubSub::Database::Insert(const PublishRequest& request,
                                      std::optional<int64_t> expires_ms) {
  std::lock_guard lock(mutex_);
  SqliteStatement insert(db_, "INSERT INTO " + messages_ +
                                  " (topic, data, content_type, published_at, expires_at)"
                                  " VALUES (?, ?, ?, ?, ?)");
  insert.BindText(1, request.topic).BindBlob(2, request.data).BindText(3, request.content_type);
  insert.BindInt(4, NowMs()).BindInt(5, expires_ms);
  return Run(insert);
}

// A group seen for the first time starts after the topic's newest message (XGROUP CREATE $).
Status SqlitePubSub::Database::JoinGroup(const Key& key) {
  std::lock_guard lock(mutex_);
  int64_t now = NowMs();
  return InTransaction([&] {
    SqliteStatement insert(db_, "INSERT OR IGNORE INTO " + groups_ +
                                    " (topic, consumer_group, last_id, created_at)"
                                    " SELECT ?1, ?2, COALESCE(MAX(id), 0), ?3 FROM " +
                                    messages_ + " WHERE topic = ?1");
    insert.BindText(1, key.topic).BindText(2, key.group).BindInt(3, now);
    Status status = Run(insert);
    return status.ok() ? FreeLeasesOfGoneOwners(key, now) : status;
  });
}

Status SqlitePubSub::Database::FreeLeasesOfGoneOwners(const Key& key, int64_t now) {
  SqliteStatement owners(db_, "SELECT DISTINCT owner FROM " + pending_ +
                                  " WHERE consumer_group = ?1 AND topic = ?2"
                                  " AND owner IS NOT NULL AND lease_until > ?3");
  if (!owners.ok()) return Error();
  owners.BindText(1, key.group).BindText(2, key.topic).BindInt(3, now);
  std::vector<std::string> gone;
  while (owners.Step() == SQLITE_ROW) {
    if (OwnerProcessIsGone(owners.Text(0))) gone.push_back(owners.Text(0));
  }
  for (const std::string& owner : gone) {
    SqliteStatement free(db_, "UPDATE " + pending_ +
                                  " SET owner = NULL, lease_until = ?3"
                                  " WHERE consumer_group = ?1 AND topic = ?2 AND owner = ?4");
    free.BindText(1, key.group).BindText(2, key.topic).BindInt(3, now).BindText(4, owner);
    Status status = Run(free);
    if (!status.ok()) return status;
  }
  return Status::Ok();
}

// A plain read, so that idle pollers do not queue for the write lock.
Result<bool> SqlitePubSub::Database::HasWork(const Key& key) {
  std::lock_guard lock(mutex_);
  std::string due = "SELECT 1 FROM " + pending_ + " p JOIN " + messages_ +
                    " m ON m.id = p.message_id WHERE p.consumer_group = ?1 AND p.topic = ?2"
                    " AND p.lease_until <= ?3 AND (m.expires_at IS NULL OR m.expires_at > ?3)";
  std::string last = "SELECT last_id FROM " + groups_ + " WHERE topic = ?2 AND consumer_group = ?1";
  std::string fresh = "SELECT 1 FROM " + messages_ + " WHERE topic = ?2 AND id > (" + last + ")";
  SqliteStatement query(db_, "SELECT EXISTS (" + due + ") OR EXISTS (" + fresh + ")");
  if (!query.ok()) return Error();
  query.BindText(1, key.group).BindText(2, key.topic).BindInt(3, NowMs());
  if (query.Step() != SQLITE_ROW) return Error();
  return query.Int(0).value_or(0) != 0;
}

// Redeliveries that are due first (they are older), then new messages for the slots left.
Result<std::vector<SqlitePubSub::Database::Claimed>> SqlitePubSub::Database::Claim(
    const Key& key, size_t count, milliseconds lease) {
  std::lock_guard lock(mutex_);
  int64_t now = NowMs();
  int64_t until = now + lease.count();
  std::vector<Claimed> claimed;
  Status status = InTransaction([&] {
    claimed.clear();
    Status due = ClaimDue(key, count, now, until, claimed);
    if (!due.ok() || claimed.size() >= count) return due;
    return ClaimNew(key, count - claimed.size(), now, until, claimed);
  });
  if (!status.ok()) return status;
  return claimed;
}

Status SqlitePubSub::Database::ClaimDue(const Key& key, size_t count, int64_t now, int64_t until,
                                        std::vector<Claimed>& claimed) {
  SqliteStatement due(db_, "SELECT p.message_id, p.attempts, m.data, m.content_type FROM " +
                               pending_ + " p JOIN " + messages_ +
                               " m ON m.id = p.message_id"
                               " WHERE p.consumer_group = ?1 AND p.topic = ?2"
                               " AND p.lease_until <= ?3"
                               " AND (m.expires_at IS NULL OR m.expires_at > ?3)"
                               " ORDER BY p.message_id LIMIT ?4");
  if (!due.ok()) return Error();
  due.BindText(1, key.group).BindText(2, key.topic).BindInt(3, now);
  due.BindInt(4, static_cast<int64_t>(count));
  size_t first = claimed.size();
  int rc;
  while ((rc = due.Step()) == SQLITE_ROW) {
    claimed.push_back({*due.Int(0), *due.Int(1) + 1, due.Blob(2), due.Text(3)});
  }
  if (rc != SQLITE_DONE) return Error();
  for (size_t i = first; i < claimed.size(); ++i) {
    Status status = Lease(key, claimed[i].id, until, false);
    if (!status.ok()) return status;
  }
  return Status::Ok();
}

Status SqlitePubSub::Database::ClaimNew(const Key& key, size_t count, int64_t now, int64_t until,
                                        std::vector<Claimed>& claimed) {
  auto last = LastId(key);
  if (!last.ok()) return last.error();
  SqliteStatement fresh(db_, "SELECT id, data, content_type FROM " + messages_ +
                                 " WHERE topic = ?1 AND id > ?2"
                                 " AND (expires_at IS NULL OR expires_at > ?3)"
                                 " ORDER BY id LIMIT ?4");
  if (!fresh.ok()) return Error();
  fresh.BindText(1, key.topic).BindInt(2, *last).BindInt(3, now);
  fresh.BindInt(4, static_cast<int64_t>(count));
  size_t first = claimed.size();
  int rc;
  while ((rc = fresh.Step()) == SQLITE_ROW) {
    claimed.push_back({*fresh.Int(0), 1, fresh.Blob(1), fresh.Text(2)});
  }
  if (rc != SQLITE_DONE) return Error();
  for (size_t i = first; i < claimed.size(); ++i) {
    Status status = Lease(key, claimed[i].id, until, true);
    if (!status.ok()) return status;
  }
  // Fewer than asked: every live message after last_id was taken, so the group can move past
  // the expired ones too.
  int64_t to = claimed.size() - first == count ? claimed.back().id : -1;
  return MoveLastId(key, *last, to);
}

// first: the message enters the group's pending list; otherwise its lease is renewed.
Status SqlitePubSub::Database::Lease(const Key& key, int64_t id, int64_t until, bool first) {
  std::string sql = first ? "INSERT OR REPLACE INTO " + pending_ +
                                " (consumer_group, topic, message_id, owner, lease_until, attempts)"
                                " VALUES (?1, ?2, ?3, ?4, ?5, 1)"
                          : "UPDATE " + pending_ +
                                " SET owner = ?4, lease_until = ?5, attempts = attempts + 1"
                                " WHERE consumer_group = ?1 AND topic = ?2 AND message_id = ?3";
  SqliteStatement lease(db_, sql);
  lease.BindText(1, key.group).BindText(2, key.topic).BindInt(3, id);
  lease.BindText(4, owner_).BindInt(5, until);
  return Run(lease);
}

Result<int64_t> SqlitePubSub::Database::LastId(const Key& key) {
  SqliteStatement query(
      db_, "SELECT last_id FROM " + groups_ + " WHERE topic = ?1 AND consumer_group = ?2");
  if (!query.ok()) return Error();
  query.BindText(1, key.topic).BindText(2, key.group);
  int rc = query.Step();
  if (rc == SQLITE_DONE) return FailedPrecondition("pubsub.sqlite: the consumer group is gone");
  if (rc != SQLITE_ROW) return Error();
  return query.Int(0).value_or(0);
}

// to < 0: the topic's newest id, but never backwards (the rows below may have been swept).
Status SqlitePubSub::Database::MoveLastId(const Key& key, int64_t from, int64_t to) {
  std::string newest =
      "SELECT max(?4, COALESCE(MAX(id), ?4)) FROM " + messages_ + " WHERE topic = ?1";
  SqliteStatement move(db_, "UPDATE " + groups_ +
                                " SET last_id = CASE WHEN ?3 >= 0 THEN ?3 ELSE (" + newest +
                                ") END WHERE topic = ?1 AND consumer_group = ?2");
  move.BindText(1, key.topic).BindText(2, key.group).BindInt(3, to).BindInt(4, from);
  return Run(move);
}

// Acks whoever holds the lease, as XACK does: the message was handled, and a replica still
// working on a redelivery of it only finds its own ack has nothing left to do.
Status SqlitePubSub::Database::Ack(const Key& key, int64_t id) {
  std::lock_guard lock(mutex_);
  SqliteStatement ack(db_, "DELETE FROM " + pending_ +
                               " WHERE consumer_group = ?1 AND topic = ?2 AND message_id = ?3");
  ack.BindText(1, key.group).BindText(2, key.topic).BindInt(3, id);
  return Run(ack);
}

// Only while this claim still holds the lease: once it expired, another claim owns the row.
Status SqlitePubSub::Database::Retry(const Key& key, int64_t id, int64_t attempt, int64_t due_ms) {
  std::lock_guard lock(mutex_);
  SqliteStatement retry(db_, "UPDATE " + pending_ +
                                 " SET owner = NULL, lease_until = ?4"
                                 " WHERE consumer_group = ?1 AND topic = ?2 AND message_id = ?3"
                                 " AND owner = ?5 AND attempts = ?6");
  retry.BindText(1, key.group).BindText(2, key.topic).BindInt(3, id).BindInt(4, due_ms);
  retry.BindText(5, owner_).BindInt(6, attempt);
  return Run(retry);
}

// Deletes what no group will read: expired messages, the oldest beyond maxLen, and those every
// group of their topic is past and has acked. A topic without groups keeps nothing, since a
// group that joins later starts after the newest message anyway.
Status SqlitePubSub::Database::Sweep(long long max_len) {
  std::lock_guard lock(mutex_);
  int64_t now = NowMs();
  return InTransaction([&] {
    SqliteStatement expired(db_, "DELETE FROM " + messages_ + " WHERE expires_at <= ?1");
    expired.BindInt(1, now);
    Status status = Run(expired);
    if (status.ok() && max_len > 0) status = TrimTopics(max_len);
    return status.ok() ? DeleteUnreferenced() : status;
  });
}

// Pending rows whose message is gone (expired, trimmed), then the messages no group needs.
Status SqlitePubSub::Database::DeleteUnreferenced() {
  std::string orphans =
      "DELETE FROM " + pending_ + " WHERE message_id NOT IN (SELECT id FROM " + messages_ + ")";
  std::string slowest =
      "SELECT MIN(g.last_id) FROM " + groups_ + " g WHERE g.topic = " + messages_ + ".topic";
  std::string held = "SELECT 1 FROM " + pending_ + " p WHERE p.message_id = " + messages_ + ".id";
  std::string consumed = "DELETE FROM " + messages_ + " WHERE id <= COALESCE((" + slowest +
                         "), 9223372036854775807) AND NOT EXISTS (" + held + ")";
  Status status = SqliteExec(db_, orphans);
  return status.ok() ? SqliteExec(db_, consumed) : status;
}

// As Redis' MAXLEN: the oldest go, delivered or not; a cap on the file, not a queue policy.
Status SqlitePubSub::Database::TrimTopics(long long max_len) {
  SqliteStatement topics(db_, "SELECT DISTINCT topic FROM " + messages_);
  if (!topics.ok()) return Error();
  std::vector<std::string> names;
  while (topics.Step() == SQLITE_ROW) names.push_back(topics.Text(0));
  for (const std::string& topic : names) {
    SqliteStatement trim(db_, "DELETE FROM " + messages_ +
                                  " WHERE topic = ?1 AND id <= (SELECT id FROM " + messages_ +
                                  " WHERE topic = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)");
    trim.BindText(1, topic).BindInt(2, max_len);
    Status status = Run(trim);
    if (!status.ok()) return status;
  }
  return Status::Ok();
}

// ---- Subscription: one poller thread -----------------------------------------------------

// Claims and hands out one topic's messages for the group, never more than `concurrency` at
// once. Shared with the `done` callbacks, so an answer after Close finds it (and the
// connection) alive and still acks.
class SqlitePubSub::Subscription : public std::enable_shared_from_this<Subscription> {
 public:
  Subscription(std::shared_ptr<Database> db, std::shared_ptr<const Options> options,
               std::string topic, MessageHandler handler)
      : db_(std::move(db)),
        options_(std::move(options)),
        key_{std::move(topic), options_->consumer_group},
        handler_(std::move(handler)) {}
  ~Subscription() {
    if (thread_.joinable()) thread_.detach();  // only when the poller drops the last reference
  }

  void Start() {
    thread_ = std::thread([self = shared_from_this()] { self->Run(); });
  }

  // New messages may be there (a publish of this instance).
  void Wake() {
    {
      std::lock_guard lock(mutex_);
      woken_ = true;
    }
    wake_.notify_one();
  }

  void Stop();

 private:
  using Claimed = Database::Claimed;
  struct InFlight {
    int64_t attempt;
    SteadyClock::time_point deadline;
  };

  void Run();
  size_t FreeSlots(SteadyClock::time_point now);
  SteadyClock::time_point NextWake() const;
  bool ClaimAndDeliver(size_t free, std::unique_lock<std::mutex>& lock);
  std::optional<std::vector<Claimed>> Claim(size_t count);
  void Release(const std::vector<Claimed>& batch, size_t from);
  void Deliver(Claimed claimed);
  void Finish(int64_t id, int64_t attempt, const Status& status);

  const std::shared_ptr<Database> db_;
  const std::shared_ptr<const Options> options_;
  const Database::Key key_;
  MessageHandler handler_;

  std::mutex mutex_;
  std::condition_variable wake_;
  std::map<int64_t, InFlight> in_flight_;  // by message id
  std::optional<SteadyClock::time_point> retry_at_;
  bool woken_ = false;
  bool stopped_ = false;
  bool failing_ = false;  // the poller thread's own: logs a failing database once
  std::thread thread_;
};

void SqlitePubSub::Subscription::Stop() {
  {
    std::lock_guard lock(mutex_);
    stopped_ = true;
  }
  wake_.notify_all();
  if (!thread_.joinable()) return;
  if (thread_.get_id() == std::this_thread::get_id()) {
    thread_.detach();  // Close from inside the handler: the loop ends when it returns
    return;
  }
  thread_.join();
  handler_ = nullptr;  // no call can start any more; let go of what it holds
}

void SqlitePubSub::Subscription::Run() {
  std::unique_lock lock(mutex_);
  while (!stopped_) {
    woken_ = false;
    size_t free = FreeSlots(SteadyClock::now());
    if (free > 0 && ClaimAndDeliver(free, lock)) continue;  // a full batch: maybe more waiting
    wake_.wait_until(lock, NextWake(), [this] { return stopped_ || woken_; });
  }
}

// A delivery unanswered past processingTimeout gives its slot back: its lease has expired and
// the message is due again, and a handler that never answers must not stall the subscription.
size_t SqlitePubSub::Subscription::FreeSlots(SteadyClock::time_point now) {
  std::erase_if(in_flight_, [now](const auto& entry) { return entry.second.deadline <= now; });
  if (retry_at_ && *retry_at_ <= now) retry_at_.reset();
  return in_flight_.size() >= options_->concurrency ? 0 : options_->concurrency - in_flight_.size();
}

SteadyClock::time_point SqlitePubSub::Subscription::NextWake() const {
  auto wake = SteadyClock::now() + options_->poll_interval;
  for (const auto& [id, delivery] : in_flight_) wake = std::min(wake, delivery.deadline);
  if (retry_at_) wake = std::min(wake, *retry_at_);
  return wake;
}

// Hands out one claimed batch in id order; true when the batch filled every free slot.
bool SqlitePubSub::Subscription::ClaimAndDeliver(size_t free, std::unique_lock<std::mutex>& lock) {
  lock.unlock();
  auto batch = Claim(free);
  lock.lock();
  if (!batch) return false;
  for (size_t i = 0; i < batch->size(); ++i) {
    if (stopped_) {
      lock.unlock();
      Release(*batch, i);
      lock.lock();
      return false;
    }
    Claimed& claimed = (*batch)[i];
    in_flight_[claimed.id] = {claimed.attempt, SteadyClock::now() + options_->processing_timeout};
    lock.unlock();
    Deliver(std::move(claimed));
    lock.lock();
  }
  return batch->size() == free;
}

std::optional<std::vector<SqlitePubSub::Database::Claimed>> SqlitePubSub::Subscription::Claim(
    size_t count) {
  auto work = db_->HasWork(key_);
  Result<std::vector<Claimed>> claimed = std::vector<Claimed>{};
  if (!work.ok()) {
    claimed = work.error();
  } else if (*work) {
    claimed = db_->Claim(key_, count, options_->processing_timeout);
  }
  if (!claimed.ok()) {
    if (!failing_) {
      spdlog::warn("pubsub.sqlite: polling topic {} failed: {}", key_.topic,
                   claimed.error().message());
    }
    failing_ = true;
    return std::nullopt;
  }
  if (failing_) spdlog::info("pubsub.sqlite: polling topic {} works again", key_.topic);
  failing_ = false;
  return std::move(claimed).value();
}

// Claimed while closing: give them back at once rather than when the lease expires.
void SqlitePubSub::Subscription::Release(const std::vector<Claimed>& batch, size_t from) {
  for (size_t i = from; i < batch.size(); ++i) {
    db_->Retry(key_, batch[i].id, batch[i].attempt, NowMs());
  }
}

void SqlitePubSub::Subscription::Deliver(Claimed claimed) {
  auto done = [self = shared_from_this(), id = claimed.id,
               attempt = claimed.attempt](Status status) { self->Finish(id, attempt, status); };
  handler_(Message{key_.topic, std::move(claimed.data), std::move(claimed.content_type), {}},
           std::move(done));
}

// A failure wakes no one: the message is due after redeliverInterval (0: at the next poll),
// so a handler that fails at once does not spin the poller.
void SqlitePubSub::Subscription::Finish(int64_t id, int64_t attempt, const Status& status) {
  auto redeliver = options_->redeliver_interval;
  Status written =
      status.ok() ? db_->Ack(key_, id) : db_->Retry(key_, id, attempt, NowMs() + redeliver.count());
  if (!written.ok()) {  // costs a redelivery once the lease expires, nothing more
    spdlog::warn("pubsub.sqlite: recording a delivery on topic {} failed: {}", key_.topic,
                 written.message());
  }
  {
    std::lock_guard lock(mutex_);
    auto it = in_flight_.find(id);
    if (it != in_flight_.end() && it->second.attempt == attempt) in_flight_.erase(it);
    if (status.ok()) {
      woken_ = true;
    } else if (redeliver.count() > 0) {
      auto due = SteadyClock::now() + redeliver;
      retry_at_ = retry_at_ ? std::min(*retry_at_, due) : due;
    }
  }
  wake_.notify_one();
}

// ---- SqlitePubSub -----------------------------------------------------------------------------

SqlitePubSub::~SqlitePubSub() { Close(); }

::dapr::pubsub::Features SqlitePubSub::GetFeatures() const {
  ::dapr::pubsub::Features features;
  features.message_ttl = true;
  return features;
}

Status SqlitePubSub::Init(const ComponentMetadata& metadata) {
  auto options = ParseOptions(metadata);
  if (!options.ok()) return options.error();
  auto shared = std::make_shared<const Options>(std::move(options).value());
  auto db = Database::Open(*shared);
  if (!db.ok()) return db.error();
  {
    std::lock_guard lock(mutex_);
    options_ = shared;
    db_ = std::move(db).value();
  }
  if (shared->cleanup_interval.count() > 0) {
    sweep_thread_ =
        std::thread([this, interval = shared->cleanup_interval] { SweepLoop(interval); });
  }
  return Status::Ok();
}

std::shared_ptr<SqlitePubSub::Database> SqlitePubSub::LiveDatabase() {
  std::lock_guard lock(mutex_);
  return db_;
}

Status SqlitePubSub::Publish(const PublishRequest& request) {
  auto db = LiveDatabase();
  if (!db) return Unavailable("pubsub.sqlite is not open");
  auto expires = ExpiryMs(request.metadata, NowMs());
  if (!expires.ok()) return expires.error();
  Status status = db->Insert(request, *expires);
  if (status.ok()) WakeSubscribers(request.topic);
  return status;
}

void SqlitePubSub::WakeSubscribers(const std::string& topic) {
  std::lock_guard lock(mutex_);
  auto [first, last] = subscriptions_.equal_range(topic);
  for (auto it = first; it != last; ++it) it->second->Wake();
}

Status SqlitePubSub::Subscribe(const ::dapr::pubsub::SubscribeRequest& request,
                               MessageHandler handler) {
  auto db = LiveDatabase();
  if (!db) return Unavailable("pubsub.sqlite is not open");
  // Joined before returning: what is published from now on is the group's.
  Status joined = db->JoinGroup({request.topic, options_->consumer_group});
  if (!joined.ok()) return joined;
  auto options = options_;
  if (request.min_concurrency > options->concurrency) {
    auto raised = std::make_shared<Options>(*options_);
    raised->concurrency = request.min_concurrency;
    options = std::move(raised);
  }
  auto subscription =
      std::make_shared<Subscription>(db, std::move(options), request.topic, std::move(handler));
  std::lock_guard lock(mutex_);
  if (closed_) return Unavailable("pubsub.sqlite is closed");
  subscription->Start();
  subscriptions_.emplace(request.topic, std::move(subscription));
  return Status::Ok();
}

void SqlitePubSub::SweepLoop(std::chrono::milliseconds interval) {
  std::unique_lock lock(sweep_mutex_);
  while (!sweep_wake_.wait_for(lock, interval, [this] { return sweep_stopping_; })) {
    lock.unlock();
    if (auto db = LiveDatabase()) {
      Status status = db->Sweep(options_->max_len);
      if (!status.ok()) spdlog::warn("pubsub.sqlite: cleanup failed: {}", status.message());
    }
    lock.lock();
  }
}

Status SqlitePubSub::Unsubscribe(const std::string& topic) {
  std::vector<std::shared_ptr<Subscription>> ended;
  {
    std::lock_guard lock(mutex_);
    auto [first, last] = subscriptions_.equal_range(topic);
    for (auto it = first; it != last; ++it) ended.push_back(std::move(it->second));
    subscriptions_.erase(first, last);
  }
  for (auto& subscription : ended) subscription->Stop();
  return Status::Ok();
}

void SqlitePubSub::Close() {
  std::multimap<std::string, std::shared_ptr<Subscription>> subscriptions;
  std::shared_ptr<Database> db;
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
    subscriptions.swap(subscriptions_);
    db = std::move(db_);
  }
  if (db) db->StopWaiting();
  for (auto& [topic, subscription] : subscriptions) subscription->Stop();
  {
    std::lock_guard lock(sweep_mutex_);
    sweep_stopping_ = true;
  }
  sweep_wake_.notify_all();
  if (sweep_thread_.joinable()) sweep_thread_.join();
}

}  // namespace dapr::components::pubsub
