// state.sqlite: a durable local store in one file, the embedded default of daprd, so that
// a newcomer keeps state across restarts without running any server.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>

#include "dapr/state/store.h"

struct sqlite3;

namespace dapr::state {

class SqliteStore final : public Store {
 public:
  ~SqliteStore() override;

  Status Init(const ComponentMetadata& metadata) override;
  Features GetFeatures() const override { return {true, true, true, true, false}; }

  Result<GetResponse> Get(const GetRequest& request) override;
  Status Set(const SetRequest& request) override;
  Status Delete(const DeleteRequest& request) override;
  Status Multi(const std::vector<TransactionOperation>& operations) override;
  Result<std::vector<StoredItem>> Scan(const std::string& prefix) override;
  Status Ping() override;
  void Close() override;

 private:
  struct Row {
    std::string etag;
    std::optional<int64_t> expires_ms;
  };

  // Callers hold mutex_.
  Status Exec(const std::string& sql);
  Result<std::optional<Row>> LiveRow(const std::string& key);
  Status SetLocked(const SetRequest& request);
  Status DeleteLocked(const DeleteRequest& request);
  std::string NewEtag();
  void CleanupLoop(std::chrono::milliseconds interval);
  Status DeleteExpired();

  std::mutex mutex_;
  sqlite3* db_ = nullptr;
  std::string table_;
  std::mt19937_64 random_{std::random_device{}()};

  std::mutex cleanup_mutex_;
  std::condition_variable cleanup_wake_;
  bool stopping_ = false;
  std::thread cleanup_thread_;
};

}  // namespace dapr::state
