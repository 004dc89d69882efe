// state.postgresql: keeps Dapr state in one PostgreSQL table laid out like Dapr's v2 component
// (key, bytea value, uuid etag, expires_at), so daprd can share a database with Go daprd and
// get ETags, TTLs and transactions from the server instead of re-implementing them.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "components/state/postgresql/pg_connection_pool.h"
#include "dapr/state/store.h"

namespace dapr::state {

class PostgresStore final : public Store {
 public:
  PostgresStore() = default;
  ~PostgresStore() override;

  Status Init(const ComponentMetadata& metadata) override;
  Features GetFeatures() const override;

  Result<GetResponse> Get(const GetRequest& request) override;
  Status Set(const SetRequest& request) override;
  Status Delete(const DeleteRequest& request) override;
  Result<std::vector<BulkGetItem>> BulkGet(const std::vector<GetRequest>& requests) override;
  Status Multi(const std::vector<TransactionOperation>& operations) override;
  Result<std::vector<StoredItem>> Scan(const std::string& prefix) override;

  Status Ping() override;
  void Close() override;

 private:
  // The statements, built once at Init around the configured table name.
  struct Statements {
    std::string create_table;
    std::string create_index;
    std::string get;
    std::string bulk_get;
    std::string scan;
    std::string upsert;
    std::string insert_first;
    std::string update_if_etag;
    std::string remove;
    std::string remove_if_etag;
    std::string delete_expired;
  };
  static Statements BuildStatements(const std::string& table);

  Status Run(const PgConnectionPool::Work& work);
  Status SetOn(PGconn* conn, const SetRequest& request) const;
  Status DeleteOn(PGconn* conn, const DeleteRequest& request) const;
  Status ApplyInTransaction(PGconn* conn,
                            const std::vector<TransactionOperation>& operations) const;

  void StartCleanup(std::chrono::milliseconds interval);
  void CleanupLoop(std::chrono::milliseconds interval);
  void StopCleanup();

  Statements sql_;
  std::unique_ptr<PgConnectionPool> pool_;

  std::mutex cleanup_mutex_;
  std::condition_variable cleanup_wake_;
  bool stopping_ = false;
  std::thread cleanup_thread_;
};

}  // namespace dapr::state
