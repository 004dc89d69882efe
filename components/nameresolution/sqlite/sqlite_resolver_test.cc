// Tests for nameresolution.sqlite: several resolvers share one temp file, as the sidecars of
// one machine would; crashed sidecars are simulated by rows written straight into the file.
#include "components/nameresolution/sqlite/sqlite_resolver.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <set>
#include <thread>

namespace dapr::nameresolution {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class SqliteResolverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "dapr-nr-sqlite-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    db_path_ = (fs::path(dir_) / "nameresolution.db").string();
  }
  void TearDown() override {
    resolvers_.clear();  // close before the file goes
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  ComponentMetadata Metadata(ComponentMetadata::Properties extra = {}) {
    extra.emplace("connectionString", db_path_);
    return ComponentMetadata("nr", "nameresolution.sqlite", std::move(extra));
  }

  static Registration Self(const std::string& app_id, uint16_t port) {
    Registration self;
    self.app_id = app_id;
    self.dapr_internal_grpc_port = port;
    self.dapr_http_port = static_cast<uint16_t>(port + 1000);
    self.pid = 4242;
    return self;
  }

  // A sidecar that has registered itself in the shared file.
  SqliteResolver& Start(const std::string& app_id, uint16_t port,
                        ComponentMetadata::Properties extra = {}) {
    auto resolver = std::make_unique<SqliteResolver>();
    Status status = resolver->Init(Metadata(std::move(extra)), Self(app_id, port));
    EXPECT_TRUE(status.ok()) << status.message();
    resolvers_.push_back(std::move(resolver));
    return *resolvers_.back();
  }

  // Writes into the file as another process would (a sidecar that then crashed).
  void Sql(const std::string& sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(db_path_.c_str(), &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 1000);
    char* error = nullptr;
    int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
    EXPECT_EQ(rc, SQLITE_OK) << (error ? error : "");
    sqlite3_free(error);
    sqlite3_close(db);
  }

  void InsertRow(const std::string& address, const std::string& app_id, int64_t expires_at) {
    Sql("INSERT INTO hosts (registration_id, address, app_id, namespace, dapr_http_port, "
        "app_port, pid, last_update, expires_at) VALUES ('crashed-" +
        address + "', '" + address + "', '" + app_id + "', '', 0, 0, 1, 0, " +
        std::to_string(expires_at) + ")");
  }

  int CountRows() {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open(db_path_.c_str(), &db), SQLITE_OK);
    sqlite3_stmt* stmt = nullptr;
    sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM hosts", -1, &stmt, nullptr);
    int count = sqlite3_step(stmt) == SQLITE_ROW ? sqlite3_column_int(stmt, 0) : -1;
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return count;
  }

  static std::string ResolveOrError(SqliteResolver& resolver, const std::string& app_id,
                                    const std::string& ns = "") {
    auto address = resolver.Resolve({app_id, ns});
    return address.ok() ? address.value() : "error: " + address.error().message();
  }

  std::string dir_;
  std::string db_path_;
  std::vector<std::unique_ptr<SqliteResolver>> resolvers_;
};

TEST_F(SqliteResolverTest, SidecarsResolveEachOther) {
  SqliteResolver& orders = Start("orders", 50001);
  SqliteResolver& cart = Start("cart", 50002);
  EXPECT_EQ(ResolveOrError(orders, "cart"), "127.0.0.1:50002");
  EXPECT_EQ(ResolveOrError(cart, "orders"), "127.0.0.1:50001");
  EXPECT_EQ(ResolveOrError(cart, "cart"), "127.0.0.1:50002");
}

TEST_F(SqliteResolverTest, SpreadsCallsOverEveryInstance) {
  SqliteResolver& orders = Start("orders", 50001);
  Start("cart", 50002);
  Start("cart", 50003);
  std::set<std::string> seen;
  for (int i = 0; i < 4; ++i) seen.insert(ResolveOrError(orders, "cart"));
  EXPECT_EQ(seen, (std::set<std::string>{"127.0.0.1:50002", "127.0.0.1:50003"}));
}

TEST_F(SqliteResolverTest, CloseWithdrawsTheRegistrationAtOnce) {
  SqliteResolver& orders = Start("orders", 50001, {{"updateInterval", "10s"}});
  SqliteResolver& cart = Start("cart", 50002, {{"updateInterval", "10s"}});
  auto started = std::chrono::steady_clock::now();
  cart.Close();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 500ms);  // no wait for the next tick
  EXPECT_EQ(orders.Resolve({"cart", ""}).error().code(), StatusCode::kNotFound);
  EXPECT_EQ(CountRows(), 1);
  EXPECT_EQ(cart.Resolve({"orders", ""}).error().code(), StatusCode::kUnavailable);
  cart.Close();  // idempotent
}

TEST_F(SqliteResolverTest, RenewalKeepsALiveSidecarPastItsRowLifetime) {
  SqliteResolver& orders =
      Start("orders", 50001, {{"updateInterval", "40ms"}, {"timeout", "20ms"}});
  Start("cart", 50002, {{"updateInterval", "40ms"}, {"timeout", "20ms"}});
  std::this_thread::sleep_for(300ms);  // more than 3 intervals
  EXPECT_EQ(ResolveOrError(orders, "cart"), "127.0.0.1:50002");
}

TEST_F(SqliteResolverTest, RowOfACrashedSidecarExpiresAndIsSwept) {
  SqliteResolver& orders =
      Start("orders", 50001,
            {{"updateInterval", "40ms"}, {"timeout", "20ms"}, {"cleanupInterval", "40ms"}});
  // Registered with a 150 ms lifetime, then never renewed.
  InsertRow("127.0.0.1:50002", "cart", NowMs() + 150);
  EXPECT_EQ(ResolveOrError(orders, "cart"), "127.0.0.1:50002");
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(orders.Resolve({"cart", ""}).error().code(), StatusCode::kNotFound);
  EXPECT_EQ(CountRows(), 1);  // the sweep deleted it; only orders is left
}

TEST_F(SqliteResolverTest, ExpiredRowIsIgnoredBeforeAnySweep) {
  SqliteResolver& orders = Start("orders", 50001, {{"cleanupInterval", "0"}});
  InsertRow("127.0.0.1:50002", "cart", NowMs() - 1);
  EXPECT_EQ(orders.Resolve({"cart", ""}).error().code(), StatusCode::kNotFound);
  EXPECT_EQ(CountRows(), 2);
}

TEST_F(SqliteResolverTest, RestartTakesOverTheRowLeftAtItsAddress) {
  Start("orders", 50001);
  InsertRow("127.0.0.1:50002", "old-cart", NowMs() + 60'000);  // still looks alive
  SqliteResolver& cart = Start("cart", 50002);
  EXPECT_EQ(cart.Resolve({"old-cart", ""}).error().code(), StatusCode::kNotFound);
  EXPECT_EQ(ResolveOrError(cart, "cart"), "127.0.0.1:50002");
  EXPECT_EQ(CountRows(), 2);
}

TEST_F(SqliteResolverTest, UnknownAppIdNamesTheAppInTheError) {
  SqliteResolver& orders = Start("orders", 50001);
  auto address = orders.Resolve({"nobody", ""});
  ASSERT_FALSE(address.ok());
  EXPECT_EQ(address.error().code(), StatusCode::kNotFound);
  EXPECT_NE(address.error().message().find("\"nobody\""), std::string::npos)
      << address.error().message();
}

TEST_F(SqliteResolverTest, NamespacesDoNotSeeEachOther) {
  SqliteResolver& orders = Start("orders", 50001);
  auto prod_cart = std::make_unique<SqliteResolver>();
  Registration self = Self("cart", 50002);
  self.app_namespace = "prod";
  ASSERT_TRUE(prod_cart->Init(Metadata(), self).ok());
  EXPECT_EQ(orders.Resolve({"cart", ""}).error().code(), StatusCode::kNotFound);
  EXPECT_EQ(ResolveOrError(orders, "cart", "prod"), "127.0.0.1:50002");
  EXPECT_EQ(ResolveOrError(*prod_cart, "cart"), "127.0.0.1:50002");  // own namespace
}

TEST_F(SqliteResolverTest, RefusesBadMetadata) {
  auto refused = [&](ComponentMetadata::Properties properties, const std::string& mention) {
    SqliteResolver resolver;
    Status status = resolver.Init(Metadata(std::move(properties)), Self("orders", 50001));
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << mention;
    EXPECT_NE(status.message().find(mention), std::string::npos) << status.message();
  };
  refused({{"updateInterval", "often"}}, "updateInterval");
  refused({{"timeout", "soon"}}, "timeout");
  refused({{"cleanupInterval", "x"}}, "cleanupInterval");
  refused({{"updateInterval", "1s"}, {"timeout", "2s"}}, "shorter than updateInterval");
  refused({{"tableName", "hosts; DROP TABLE x"}}, "tableName");

  SqliteResolver no_path;
  EXPECT_EQ(no_path.Init(ComponentMetadata("nr", "nameresolution.sqlite", {}), Self("a", 1)).code(),
            StatusCode::kInvalidArgument);
  EXPECT_FALSE(fs::exists(db_path_));  // nothing was created for a refused configuration
}

TEST_F(SqliteResolverTest, RegistersLoopbackAddressesOnly) {
  Registration lan = Self("orders", 50001);
  lan.host = "192.168.1.10";
  SqliteResolver refused;
  Status status = refused.Init(Metadata(), lan);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("loopback"), std::string::npos) << status.message();

  Registration missing_port = Self("orders", 0);
  EXPECT_EQ(SqliteResolver().Init(Metadata(), missing_port).code(), StatusCode::kInvalidArgument);

  Registration v6 = Self("orders", 50001);
  v6.host = "::1";
  SqliteResolver resolver;
  ASSERT_TRUE(resolver.Init(Metadata(), v6).ok());
  EXPECT_EQ(ResolveOrError(resolver, "orders"), "[::1]:50001");
}

TEST_F(SqliteResolverTest, CreatesTheDirectoryOfItsFile) {
  db_path_ = (fs::path(dir_) / "home" / ".dapr" / "nameresolution.db").string();
  SqliteResolver& orders = Start("orders", 50001);
  EXPECT_TRUE(fs::exists(db_path_));
  EXPECT_EQ(ResolveOrError(orders, "orders"), "127.0.0.1:50001");
}

TEST(SqliteResolverDefaultPath, LivesInDotDaprUnderHome) {
  std::string path = DefaultRegistryPath();
  EXPECT_EQ(fs::path(path).filename(), "nameresolution.db");
  EXPECT_EQ(fs::path(path).parent_path().filename(), ".dapr");
}

}  // namespace
}  // namespace dapr::nameresolution
