// Tests for the shared SQLite helpers: schema set-up that several processes run at once on a
// fresh file, as sidecars started together on a new ~/.dapr do (here: one connection a thread,
// which SQLite locks against each other as it would separate processes).
#include "components/common/sqlite_statement.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <thread>
#include <vector>

namespace dapr::components {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

Status SetUpSchema(const std::string& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) {
    sqlite3_close(db);
    return Internal("cannot open");
  }
  sqlite3_busy_timeout(db, 2000);
  Status status = Status::Ok();
  for (const char* sql : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL",
                          "CREATE TABLE IF NOT EXISTS t (k TEXT PRIMARY KEY, v BLOB)",
                          "CREATE INDEX IF NOT EXISTS t_v ON t (v)"}) {
    status = SqliteExecSetUp(db, sql, 2000ms);
    if (!status.ok()) break;
  }
  sqlite3_close(db);
  return status;
}

TEST(SqliteExecSetUp, ConnectionsSettingUpAFreshFileTogetherAllSucceed) {
  std::string pattern = (fs::temp_directory_path() / "dapr-sqlite-setup-XXXXXX").string();
  ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
  constexpr int kRounds = 20;
  constexpr int kConnections = 6;
  int failures = 0;
  std::string first_failure;
  for (int round = 0; round < kRounds; ++round) {
    std::string path = (fs::path(pattern) / ("round" + std::to_string(round) + ".db")).string();
    std::vector<Status> results(kConnections, Status::Ok());
    std::vector<std::thread> threads;
    for (int i = 0; i < kConnections; ++i) {
      threads.emplace_back([&, i] { results[i] = SetUpSchema(path); });
    }
    for (auto& thread : threads) thread.join();
    for (const Status& result : results) {
      if (result.ok()) continue;
      ++failures;
      if (first_failure.empty()) first_failure = result.message();
    }
  }
  fs::remove_all(pattern);
  EXPECT_EQ(failures, 0) << first_failure;
}

TEST(SqliteExecSetUp, AnErrorOtherThanBusyIsReturnedAtOnce) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(":memory:", &db), SQLITE_OK);
  auto started = std::chrono::steady_clock::now();
  Status status = SqliteExecSetUp(db, "CREATE TABLE broken (a) nonsense", 2000ms);
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.message().find("unknown table option"), std::string::npos) << status.message();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 500ms);
  sqlite3_close(db);
}

}  // namespace
}  // namespace dapr::components
