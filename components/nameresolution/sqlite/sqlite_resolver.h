// nameresolution.sqlite: the sidecars of one machine find each other through a registry
// in one shared SQLite file, with no configuration and no multicast (mDNS) on the network.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include "dapr/nameresolution/resolver.h"

struct sqlite3;

namespace dapr::nameresolution {

// Where daprd keeps the registry when none is configured: $HOME/.dapr/nameresolution.db.
// daprd passes it as connectionString; the component itself has no default.
std::string DefaultRegistryPath();

// Each sidecar owns one row (address = host:internal gRPC port, unique) and renews it every
// updateInterval; a row not renewed for kRowLifetimeInIntervals intervals is ignored by
// Resolve and deleted by the next sweep. Several processes share the file, so it is opened
// in WAL mode and every call waits a bounded time for another process's lock.
class SqliteResolver final : public Resolver {
 public:
  // One missed renewal (a busy disk, a stalled process) must not make an app vanish.
  static constexpr int kRowLifetimeInIntervals = 3;

  ~SqliteResolver() override;

  Status Init(const ComponentMetadata& metadata, const Registration& self) override;
  Result<std::string> Resolve(const ResolveRequest& request) override;
  Result<std::vector<std::string>> ResolveAll(const ResolveRequest& request) override;
  void Close() override;

 private:
  struct Settings {
    std::string path;
    std::string table;
    std::chrono::milliseconds update_interval;
    std::chrono::milliseconds lock_wait;
    std::chrono::milliseconds cleanup_interval;  // 0: never sweep
  };
  static Result<Settings> ParseSettings(const ComponentMetadata& metadata);

  // Callers hold mutex_.
  Status Open();
  Status Exec(const std::string& sql);
  Status Register(bool replace);
  Status Renew();
  Status DeleteStaleRows();
  Status Unregister();

  void RenewLoop();
  void StopRenewing();

  Settings settings_;
  Registration self_;
  std::string address_;          // host:port other sidecars dial
  std::string registration_id_;  // random; tells our row from a successor at the same address
  std::atomic<uint64_t> next_pick_{0};

  std::mutex mutex_;
  sqlite3* db_ = nullptr;

  std::mutex renew_mutex_;
  std::condition_variable renew_wake_;
  bool stopping_ = false;
  std::thread renew_thread_;
};

}  // namespace dapr::nameresolution
