// Tests of state.postgresql against a real PostgreSQL: DAPR_TEST_PG_CONN holds a libpq
// connection string (scripts/services.sh start postgres writes one); without it they skip.
#include "components/state/postgresql/postgres_store.h"

#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <regex>
#include <thread>

namespace dapr::state {
namespace {

using namespace std::chrono_literals;
using Properties = ComponentMetadata::Properties;

constexpr char kSkipMessage[] =
    "DAPR_TEST_PG_CONN is not set; run scripts/services.sh start postgres and source its env";

std::string TestConnInfo() {
  const char* conninfo = std::getenv("DAPR_TEST_PG_CONN");
  return conninfo ? conninfo : "";
}

std::string UniqueTableName() {
  static std::atomic<int> counter{0};
  return "dapr_pg_test_" + std::to_string(getpid()) + "_" + std::to_string(std::time(nullptr)) +
         "_" + std::to_string(counter++);
}

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t length = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length);
  close(fd);
  return ntohs(addr.sin_port);
}

// Runs one SQL statement on its own connection, bypassing the store (and its TTL filter).
std::string AdminQuery(const std::string& conninfo, const std::string& sql) {
  PGconn* conn = PQconnectdb(conninfo.c_str());
  PQsetNoticeProcessor(
      conn, [](void*, const char*) {}, nullptr);
  PGresult* result = PQexec(conn, sql.c_str());
  std::string value;
  if (PQresultStatus(result) == PGRES_TUPLES_OK && PQntuples(result) > 0) {
    value = PQgetvalue(result, 0, 0);
  }
  PQclear(result);
  PQfinish(conn);
  return value;
}

SetRequest MakeSet(std::string key, std::string value, std::optional<std::string> etag = {},
                   Metadata metadata = {}) {
  SetRequest request;
  request.key = std::move(key);
  request.value = std::move(value);
  request.etag = std::move(etag);
  request.metadata = std::move(metadata);
  return request;
}

SetRequest MakeFirstWrite(std::string key, std::string value) {
  SetRequest request = MakeSet(std::move(key), std::move(value));
  request.options.concurrency = Concurrency::kFirstWrite;
  return request;
}

DeleteRequest MakeDelete(std::string key, std::optional<std::string> etag = {}) {
  DeleteRequest request;
  request.key = std::move(key);
  request.etag = std::move(etag);
  return request;
}

TransactionOperation Upsert(SetRequest request) {
  TransactionOperation operation;
  operation.kind = TransactionOperation::Kind::kUpsert;
  operation.upsert = std::move(request);
  return operation;
}

TransactionOperation Remove(DeleteRequest request) {
  TransactionOperation operation;
  operation.kind = TransactionOperation::Kind::kDelete;
  operation.remove = std::move(request);
  return operation;
}

// Seconds since the epoch of an RFC 3339 UTC time such as 2026-11-25T17:00:00Z.
std::time_t ParseUtc(const std::string& text) {
  std::tm tm{};
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6) {
    return 0;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return timegm(&tm);
}

const std::string kOneSecond = "1";
const std::string kMissingEtag = "00000000-0000-4000-8000-000000000000";

class PostgresStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    conninfo_ = TestConnInfo();
    if (conninfo_.empty()) GTEST_SKIP() << kSkipMessage;
    table_ = UniqueTableName();
    ASSERT_TRUE(InitStore(store_).ok());
  }

  void TearDown() override {
    store_.Close();
    if (!conninfo_.empty()) AdminQuery(conninfo_, "DROP TABLE IF EXISTS " + table_);
  }

  Status InitStore(PostgresStore& store, Properties extra = {}) {
    Properties properties{{"connectionString", conninfo_}, {"tableName", table_}};
    for (auto& [key, value] : extra) properties[key] = value;
    return store.Init(ComponentMetadata("pg", "state.postgresql", properties));
  }

  GetResponse MustGet(const std::string& key) {
    auto result = store_.Get({key, {}, {}});
    EXPECT_TRUE(result.ok()) << result.error().message();
    return result.ok() ? result.value() : GetResponse{};
  }

  std::string EtagOf(const std::string& key) { return MustGet(key).etag.value_or(""); }

  long long RawRowCount() {
    return std::atoll(AdminQuery(conninfo_, "SELECT count(*) FROM " + table_).c_str());
  }

  std::string conninfo_;
  std::string table_;
  PostgresStore store_;
};

TEST_F(PostgresStoreTest, SetGetDeleteRoundTrip) {
  ASSERT_TRUE(store_.Set(MakeSet("k1", "hello")).ok());
  GetResponse got = MustGet("k1");
  EXPECT_TRUE(got.found);
  EXPECT_EQ(got.data, "hello");
  EXPECT_TRUE(got.metadata.empty());
  ASSERT_TRUE(store_.Delete(MakeDelete("k1")).ok());
  EXPECT_FALSE(MustGet("k1").found);
  EXPECT_FALSE(MustGet("never-set").found);
}

TEST_F(PostgresStoreTest, NonUtf8BytesWithNulRoundTripExactly) {
  std::string value;
  for (int i = 0; i < 256; ++i) value.push_back(static_cast<char>(i));
  value += std::string("\0\0\xff\xc3\x28", 5);
  ASSERT_TRUE(store_.Set(MakeSet("binary", value)).ok());
  EXPECT_EQ(MustGet("binary").data, value);
}

TEST_F(PostgresStoreTest, EtagIsAUuidThatChangesOnEveryWrite) {
  const std::regex uuid("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$");
  ASSERT_TRUE(store_.Set(MakeSet("k", "v1")).ok());
  std::string first = EtagOf("k");
  EXPECT_TRUE(std::regex_match(first, uuid)) << first;
  ASSERT_TRUE(store_.Set(MakeSet("k", "v2")).ok());
  std::string second = EtagOf("k");
  EXPECT_NE(first, second);
  ASSERT_TRUE(store_.Set(MakeSet("k", "v3", second)).ok());
  EXPECT_NE(EtagOf("k"), second);
  EXPECT_EQ(MustGet("k").data, "v3");
}

TEST_F(PostgresStoreTest, StaleEtagIsAbortedAndChangesNothing) {
  ASSERT_TRUE(store_.Set(MakeSet("k", "v1")).ok());
  std::string stale = EtagOf("k");
  ASSERT_TRUE(store_.Set(MakeSet("k", "v2")).ok());
  EXPECT_EQ(store_.Set(MakeSet("k", "v3", stale)).code(), StatusCode::kAborted);
  EXPECT_EQ(MustGet("k").data, "v2");
  // An ETag for a key that does not exist cannot match either.
  EXPECT_EQ(store_.Set(MakeSet("absent", "v", kMissingEtag)).code(), StatusCode::kAborted);
  EXPECT_FALSE(MustGet("absent").found);
}

TEST_F(PostgresStoreTest, MalformedEtagIsInvalidArgument) {
  ASSERT_TRUE(store_.Set(MakeSet("k", "v")).ok());
  EXPECT_EQ(store_.Set(MakeSet("k", "x", "not-a-uuid")).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store_.Set(MakeSet("k", "x", "12345")).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store_.Delete(MakeDelete("k", "zzzzzzzz-0000-0000-0000-000000000000")).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(MustGet("k").data, "v");
}

TEST_F(PostgresStoreTest, FirstWriteSucceedsOnlyWhenNoLiveRow) {
  ASSERT_TRUE(store_.Set(MakeFirstWrite("k", "first")).ok());
  EXPECT_EQ(store_.Set(MakeFirstWrite("k", "second")).code(), StatusCode::kAborted);
  EXPECT_EQ(MustGet("k").data, "first");
  // An expired row that cleanup has not removed yet counts as absent.
  ASSERT_TRUE(store_.Set(MakeSet("ttl", "old", {}, {{"ttlInSeconds", kOneSecond}})).ok());
  std::this_thread::sleep_for(1500ms);
  EXPECT_TRUE(store_.Set(MakeFirstWrite("ttl", "new")).ok());
  EXPECT_EQ(MustGet("ttl").data, "new");
}

TEST_F(PostgresStoreTest, DeleteWithEtag) {
  ASSERT_TRUE(store_.Set(MakeSet("k", "v")).ok());
  EXPECT_EQ(store_.Delete(MakeDelete("k", kMissingEtag)).code(), StatusCode::kAborted);
  EXPECT_TRUE(MustGet("k").found);
  ASSERT_TRUE(store_.Delete(MakeDelete("k", EtagOf("k"))).ok());
  EXPECT_FALSE(MustGet("k").found);
  EXPECT_EQ(store_.Delete(MakeDelete("k", kMissingEtag)).code(), StatusCode::kAborted);
}

TEST_F(PostgresStoreTest, DeleteMissingKeyWithoutEtagIsOk) {
  EXPECT_TRUE(store_.Delete(MakeDelete("never-set")).ok());
}

TEST_F(PostgresStoreTest, TtlReportsExpireTimeThenHidesTheRow) {
  ASSERT_TRUE(store_.Set(MakeSet("k", "v", {}, {{"ttlInSeconds", kOneSecond}})).ok());
  GetResponse got = MustGet("k");
  ASSERT_TRUE(got.found);
  ASSERT_EQ(got.metadata.count("ttlExpireTime"), 1u);
  const std::string& expire = got.metadata["ttlExpireTime"];
  EXPECT_TRUE(std::regex_match(expire, std::regex(R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$)")))
      << expire;
  std::time_t now = std::time(nullptr);
  EXPECT_GE(ParseUtc(expire), now - 1) << expire;
  EXPECT_LE(ParseUtc(expire), now + 2) << expire;
  std::this_thread::sleep_for(1500ms);
  EXPECT_FALSE(MustGet("k").found);
  auto bulk = store_.BulkGet({{"k", {}, {}}});
  ASSERT_TRUE(bulk.ok());
  EXPECT_FALSE(bulk.value()[0].response.found);
  EXPECT_EQ(store_.Set(MakeSet("k", "v", kMissingEtag)).code(), StatusCode::kAborted);
}

TEST_F(PostgresStoreTest, LaterSetWithoutTtlRemovesIt) {
  ASSERT_TRUE(store_.Set(MakeSet("k", "v1", {}, {{"ttlInSeconds", kOneSecond}})).ok());
  ASSERT_TRUE(store_.Set(MakeSet("k", "v2", {}, {{"ttlInSeconds", "-1"}})).ok());
  EXPECT_EQ(MustGet("k").metadata.count("ttlExpireTime"), 0u);
  std::this_thread::sleep_for(1500ms);
  EXPECT_EQ(MustGet("k").data, "v2");
}

TEST_F(PostgresStoreTest, NonIntegerTtlIsInvalidArgument) {
  EXPECT_EQ(store_.Set(MakeSet("k", "v", {}, {{"ttlInSeconds", "soon"}})).code(),
            StatusCode::kInvalidArgument);
  EXPECT_FALSE(MustGet("k").found);
}

TEST_F(PostgresStoreTest, BulkGetKeepsRequestOrderAndReportsMissingKeys) {
  ASSERT_TRUE(store_.Set(MakeSet("a", "va")).ok());
  ASSERT_TRUE(store_.Set(MakeSet("b", "vb")).ok());
  auto result = store_.BulkGet({{"b", {}, {}}, {"missing", {}, {}}, {"a", {}, {}}});
  ASSERT_TRUE(result.ok()) << result.error().message();
  const auto& items = result.value();
  ASSERT_EQ(items.size(), 3u);
  EXPECT_EQ(items[0].key, "b");
  EXPECT_EQ(items[0].response.data, "vb");
  EXPECT_EQ(items[0].response.etag, EtagOf("b"));
  EXPECT_EQ(items[1].key, "missing");
  EXPECT_FALSE(items[1].response.found);
  EXPECT_TRUE(items[1].error.empty());
  EXPECT_EQ(items[2].key, "a");
  EXPECT_EQ(items[2].response.data, "va");
}

TEST_F(PostgresStoreTest, TransactionAppliesEveryOperation) {
  ASSERT_TRUE(store_.Set(MakeSet("a", "a0")).ok());
  ASSERT_TRUE(store_.Set(MakeSet("c", "c0")).ok());
  Status status = store_.Multi({Upsert(MakeSet("a", "a1", EtagOf("a"))), Upsert(MakeSet("b", "b1")),
                                Remove(MakeDelete("c", EtagOf("c")))});
  ASSERT_TRUE(status.ok()) << status.message();
  EXPECT_EQ(MustGet("a").data, "a1");
  EXPECT_EQ(MustGet("b").data, "b1");
  EXPECT_FALSE(MustGet("c").found);
}

TEST_F(PostgresStoreTest, TransactionWithBadEtagChangesNothing) {
  ASSERT_TRUE(store_.Set(MakeSet("a", "a0")).ok());
  ASSERT_TRUE(store_.Set(MakeSet("b", "b0")).ok());
  std::string etag_a = EtagOf("a");
  Status stale = store_.Multi({Upsert(MakeSet("a", "a1")), Upsert(MakeSet("new", "n")),
                               Remove(MakeDelete("b")), Upsert(MakeSet("b", "b1", kMissingEtag))});
  EXPECT_EQ(stale.code(), StatusCode::kAborted);
  Status malformed = store_.Multi({Upsert(MakeSet("a", "a2")), Remove(MakeDelete("b", "bad"))});
  EXPECT_EQ(malformed.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(MustGet("a").data, "a0");
  EXPECT_EQ(EtagOf("a"), etag_a);
  EXPECT_EQ(MustGet("b").data, "b0");
  EXPECT_FALSE(MustGet("new").found);
  // The connection went back to the pool in a usable state.
  EXPECT_TRUE(store_.Set(MakeSet("after", "ok")).ok());
}

TEST_F(PostgresStoreTest, ScanReturnsLiveRowsWithThePrefixOnly) {
  ASSERT_TRUE(store_.Set(MakeSet("app||b", "vb")).ok());
  ASSERT_TRUE(store_.Set(MakeSet("app||a", "va")).ok());
  ASSERT_TRUE(store_.Set(MakeSet("app||gone", "x", {}, {{"ttlInSeconds", kOneSecond}})).ok());
  ASSERT_TRUE(store_.Set(MakeSet("other||a", "vo")).ok());
  ASSERT_TRUE(store_.Set(MakeSet("p%_1", "literal")).ok());
  ASSERT_TRUE(store_.Set(MakeSet("pX_2", "like-wildcard")).ok());
  std::this_thread::sleep_for(1500ms);

  auto scanned = store_.Scan("app||");
  ASSERT_TRUE(scanned.ok()) << scanned.error().message();
  ASSERT_EQ(scanned.value().size(), 2u);
  EXPECT_EQ(scanned.value()[0].key, "app||a");
  EXPECT_EQ(scanned.value()[0].data, "va");
  EXPECT_EQ(scanned.value()[0].etag, EtagOf("app||a"));
  EXPECT_EQ(scanned.value()[1].key, "app||b");

  // % and _ are plain characters in a prefix, not LIKE wildcards.
  auto literal = store_.Scan("p%_");
  ASSERT_TRUE(literal.ok());
  ASSERT_EQ(literal.value().size(), 1u);
  EXPECT_EQ(literal.value()[0].key, "p%_1");
}

TEST_F(PostgresStoreTest, ConcurrentWorkersShareASmallPool) {
  PostgresStore store;
  ASSERT_TRUE(InitStore(store, {{"poolSize", "3"}}).ok());
  constexpr int kThreads = 8;
  constexpr int kOps = 100;
  ASSERT_TRUE(store.Set(MakeSet("counter", "0")).ok());
  std::atomic<int> failures{0};
  auto worker = [&](int id) {
    for (int i = 0; i < kOps; ++i) {
      std::string key = "t" + std::to_string(id) + "-" + std::to_string(i % 10);
      std::string value = std::to_string(id * 1000 + i);
      if (!store.Set(MakeSet(key, value)).ok()) ++failures;
      auto got = store.Get({key, {}, {}});
      if (!got.ok() || got.value().data != value) ++failures;
      if (i % 10 != 0) continue;
      // Optimistic increment: retry on ETag conflicts, so no increment may be lost.
      for (;;) {
        auto current = store.Get({"counter", {}, {}});
        if (!current.ok()) {
          ++failures;
          break;
        }
        std::string next = std::to_string(std::stoi(current.value().data) + 1);
        Status status = store.Set(MakeSet("counter", next, current.value().etag));
        if (status.ok()) break;
        if (status.code() != StatusCode::kAborted) {
          ++failures;
          break;
        }
      }
    }
  };
  std::vector<std::thread> threads;
  for (int id = 0; id < kThreads; ++id) threads.emplace_back(worker, id);
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  auto counter = store.Get({"counter", {}, {}});
  ASSERT_TRUE(counter.ok());
  EXPECT_EQ(counter.value().data, std::to_string(kThreads * kOps / 10));
  store.Close();
}

TEST_F(PostgresStoreTest, CleanupThreadDeletesExpiredRows) {
  PostgresStore store;
  ASSERT_TRUE(InitStore(store, {{"cleanupInterval", "200ms"}}).ok());
  ASSERT_TRUE(store.Set(MakeSet("short", "v", {}, {{"ttlInSeconds", kOneSecond}})).ok());
  ASSERT_TRUE(store.Set(MakeSet("forever", "v")).ok());
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (RawRowCount() > 1 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(RawRowCount(), 1);
  store.Close();
}

TEST_F(PostgresStoreTest, CloseStopsTheCleanupThreadPromptly) {
  PostgresStore store;
  ASSERT_TRUE(InitStore(store, {{"cleanupInterval", "1h"}}).ok());
  auto start = std::chrono::steady_clock::now();
  store.Close();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 500ms);
  EXPECT_FALSE(store.Get({"k", {}, {}}).ok());  // closed stores refuse work cleanly
}

TEST_F(PostgresStoreTest, TimeoutBoundsAStatementBlockedOnALock) {
  PostgresStore store;
  ASSERT_TRUE(InitStore(store, {{"timeout", "1s"}}).ok());
  ASSERT_TRUE(store.Set(MakeSet("locked", "v")).ok());
  PGconn* holder = PQconnectdb(conninfo_.c_str());
  PQclear(PQexec(holder, "BEGIN"));
  PQclear(PQexec(holder, ("SELECT * FROM " + table_ + " WHERE key = 'locked' FOR UPDATE").c_str()));
  auto start = std::chrono::steady_clock::now();
  Status status = store.Set(MakeSet("locked", "w"));
  auto waited = std::chrono::steady_clock::now() - start;
  PQclear(PQexec(holder, "ROLLBACK"));
  PQfinish(holder);
  EXPECT_EQ(status.code(), StatusCode::kDeadlineExceeded) << status.message();
  EXPECT_GE(waited, 900ms);
  EXPECT_LT(waited, 5s);
  EXPECT_TRUE(store.Set(MakeSet("locked", "w")).ok());  // the connection is still usable
  store.Close();
}

TEST_F(PostgresStoreTest, CreatesDaprV2TableWithExpiryIndex) {
  std::string columns = AdminQuery(
      conninfo_,
      "SELECT string_agg(column_name || ':' || data_type || ':' || is_nullable, ',' ORDER BY "
      "column_name) FROM information_schema.columns WHERE table_name = '" +
          table_ + "'");
  EXPECT_EQ(columns,
            "created_at:timestamp with time zone:NO,etag:uuid:NO,"
            "expires_at:timestamp with time zone:YES,key:text:NO,updated_at:timestamp with "
            "time zone:YES,value:bytea:NO");
  std::string index = AdminQuery(conninfo_, "SELECT indexdef FROM pg_indexes WHERE tablename = '" +
                                                table_ + "' AND indexdef LIKE '%(expires_at)%'");
  EXPECT_FALSE(index.empty());
}

TEST_F(PostgresStoreTest, AcceptsSchemaQualifiedTableAndAnyKeyCase) {
  std::string table = "public." + UniqueTableName();
  PostgresStore store;
  Properties properties{{"CONNECTIONSTRING", conninfo_},
                        {"TableName", table},
                        {"actorStateStore", "true"},
                        {"keyPrefix", "none"},
                        {"unknown", "x"}};
  Status status = store.Init(ComponentMetadata("pg", "state.postgresql", properties));
  ASSERT_TRUE(status.ok()) << status.message();
  EXPECT_TRUE(store.Set(MakeSet("k", "v")).ok());
  EXPECT_EQ(store.Get({"k", {}, {}}).value().data, "v");
  store.Close();
  AdminQuery(conninfo_, "DROP TABLE IF EXISTS " + table);
}

TEST_F(PostgresStoreTest, ReportsItsFeatures) {
  Features features = store_.GetFeatures();
  EXPECT_TRUE(features.etag);
  EXPECT_TRUE(features.transactional);
  EXPECT_TRUE(features.ttl);
  EXPECT_TRUE(features.query);
  EXPECT_TRUE(store_.Ping().ok());
}

// --- Init validation: fails before any connection, so no server is needed ---------------

Status InitWith(Properties properties) {
  PostgresStore store;
  return store.Init(ComponentMetadata("pg", "state.postgresql", std::move(properties)));
}

void ExpectInvalidNaming(Properties properties, const std::string& field) {
  Status status = InitWith(std::move(properties));
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << field;
  EXPECT_NE(status.message().find(field), std::string::npos) << status.message();
}

TEST(PostgresStoreInitTest, BadMetadataIsInvalidArgumentNamingTheField) {
  const std::string conn = "host=127.0.0.1 port=1 user=postgres";
  ExpectInvalidNaming({}, "connectionString");
  ExpectInvalidNaming({{"connectionString", ""}}, "connectionString");
  ExpectInvalidNaming({{"connectionString", "host=x password=Secr3t junk"}}, "connectionString");
  ExpectInvalidNaming({{"connectionString", conn}, {"timeout", "soon"}}, "timeout");
  ExpectInvalidNaming({{"connectionString", conn}, {"timeout", "0"}}, "timeout");
  ExpectInvalidNaming({{"connectionString", conn}, {"cleanupInterval", "later"}},
                      "cleanupInterval");
  ExpectInvalidNaming({{"connectionString", conn}, {"poolSize", "many"}}, "poolSize");
  ExpectInvalidNaming({{"connectionString", conn}, {"poolSize", "0"}}, "poolSize");
  ExpectInvalidNaming({{"connectionString", conn}, {"maxConns", "lots"}}, "maxConns");
  ExpectInvalidNaming({{"connectionString", conn}, {"tableName", "state; DROP TABLE x"}},
                      "tableName");
  ExpectInvalidNaming({{"connectionString", conn}, {"tableName", "a.b.c"}}, "tableName");
}

TEST(PostgresStoreInitTest, MalformedConnectionStringDoesNotEchoThePassword) {
  Status status = InitWith({{"connectionString", "host=x password=Secr3tPw junk"}});
  EXPECT_EQ(status.message().find("Secr3tPw"), std::string::npos) << status.message();
}

TEST(PostgresStoreInitTest, UnreachableServerIsUnavailableWithoutThePassword) {
  int port = FreePort();
  for (std::string conn :
       {"host=127.0.0.1 port=" + std::to_string(port) + " user=postgres password=Secr3tPw",
        "postgres://postgres:Secr3tPw@127.0.0.1:" + std::to_string(port) + "/postgres"}) {
    Status status = InitWith({{"connectionString", conn}, {"timeout", "2s"}});
    EXPECT_EQ(status.code(), StatusCode::kUnavailable) << status.message();
    EXPECT_EQ(status.message().find("Secr3tPw"), std::string::npos) << status.message();
  }
}

// --- Reconnect: a private PostgreSQL that the test stops and starts -----------------------

std::string PostgresBinDir() {
  std::string best;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/usr/lib/postgresql", ec)) {
    std::string bin = entry.path().string() + "/bin";
    if (std::filesystem::exists(bin + "/initdb") && bin > best) best = bin;
  }
  return best;
}

// A throwaway server in a temp dir owned by the postgres user (initdb refuses to run as root).
class TempPostgres {
 public:
  explicit TempPostgres(std::string bin) : bin_(std::move(bin)), port_(FreePort()) {
    char dir[] = "/tmp/dapr-pg-reconnect-XXXXXX";
    dir_ = mkdtemp(dir);
  }
  ~TempPostgres() {
    Stop();
    std::filesystem::remove_all(dir_);
  }

  bool Create() {
    return Shell("chown postgres:postgres " + dir_) &&
           AsPostgres("initdb -D " + dir_ +
                      "/data -U postgres -A trust --no-sync -E UTF8 "
                      "--locale=C.UTF-8 > " +
                      dir_ + "/initdb.log 2>&1");
  }
  bool Start() {
    return AsPostgres("pg_ctl -D " + dir_ + "/data -l " + dir_ + "/server.log -w -o \"-p " +
                      std::to_string(port_) + " -c listen_addresses=127.0.0.1 -k " + dir_ +
                      " -c fsync=off\" start > /dev/null 2>&1");
  }
  bool Stop() { return AsPostgres("pg_ctl -D " + dir_ + "/data -m fast -w stop > /dev/null 2>&1"); }
  std::string ConnInfo() const {
    return "host=127.0.0.1 port=" + std::to_string(port_) + " user=postgres dbname=postgres";
  }

 private:
  static bool Shell(const std::string& command) { return std::system(command.c_str()) == 0; }
  bool AsPostgres(const std::string& command) const {
    return Shell("runuser -u postgres -- " + bin_ + "/" + command);
  }

  std::string bin_;
  int port_;
  std::string dir_;
};

// Opens several pooled connections (by using them from many threads at once), so that
// all of them go stale when the server restarts.
void FillPool(PostgresStore& store) {
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&store, i] {
      for (int op = 0; op < 20; ++op) store.Set(MakeSet("warm" + std::to_string(i), "v"));
    });
  }
  for (auto& thread : threads) thread.join();
}

TEST(PostgresReconnectTest, ServerRestartIsUnavailableThenRecoversWithoutReInit) {
  if (TestConnInfo().empty()) GTEST_SKIP() << kSkipMessage;
  std::string bin = PostgresBinDir();
  if (geteuid() != 0 || bin.empty()) GTEST_SKIP() << "needs root and PostgreSQL server binaries";
  TempPostgres server(bin);
  ASSERT_TRUE(server.Create());
  ASSERT_TRUE(server.Start());

  PostgresStore store;
  ASSERT_TRUE(
      store
          .Init(ComponentMetadata("pg", "state.postgresql",
                                  {{"connectionString", server.ConnInfo()}, {"timeout", "5s"}}))
          .ok());
  FillPool(store);
  ASSERT_TRUE(store.Set(MakeSet("k", "before")).ok());

  ASSERT_TRUE(server.Stop());
  auto down = store.Get({"k", {}, {}});
  ASSERT_FALSE(down.ok());
  EXPECT_EQ(down.error().code(), StatusCode::kUnavailable) << down.error().message();
  EXPECT_EQ(store.Set(MakeSet("k", "x")).code(), StatusCode::kUnavailable);
  EXPECT_EQ(store.Ping().code(), StatusCode::kUnavailable);
  PostgresStore late;
  EXPECT_EQ(late.Init(ComponentMetadata("pg", "state.postgresql",
                                        {{"connectionString", server.ConnInfo()}}))
                .code(),
            StatusCode::kUnavailable);

  ASSERT_TRUE(server.Start());
  auto up = store.Get({"k", {}, {}});
  ASSERT_TRUE(up.ok()) << up.error().message();
  EXPECT_EQ(up.value().data, "before");
  EXPECT_TRUE(store.Set(MakeSet("k", "after")).ok());
  EXPECT_EQ(store.Get({"k", {}, {}}).value().data, "after");

  // A restart between two calls: the first call meets a stale connection and must succeed
  // on a fresh one, not report an error.
  FillPool(store);
  std::string pooled = AdminQuery(
      server.ConnInfo(), "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'daprd'");
  ASSERT_GE(std::atoi(pooled.c_str()), 2) << "the pool should hold several connections";
  ASSERT_TRUE(server.Stop());
  ASSERT_TRUE(server.Start());
  auto again = store.Get({"k", {}, {}});
  ASSERT_TRUE(again.ok()) << again.error().message();
  EXPECT_EQ(again.value().data, "after");
  store.Close();
}

}  // namespace
}  // namespace dapr::state
