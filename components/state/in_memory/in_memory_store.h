// state.in-memory: a process-local store for tests and quick starts, with the full
// feature set (ETags, transactions, TTL, query) so apps can be developed against it.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "dapr/state/store.h"

namespace dapr::state {

class InMemoryStore final : public Store {
 public:
  Status Init(const ComponentMetadata& metadata) override;
  Features GetFeatures() const override { return {true, true, true, true, false}; }

  Result<GetResponse> Get(const GetRequest& request) override;
  Status Set(const SetRequest& request) override;
  Status Delete(const DeleteRequest& request) override;
  Status Multi(const std::vector<TransactionOperation>& operations) override;
  Result<std::vector<StoredItem>> Scan(const std::string& prefix) override;

 private:
  using Clock = std::chrono::system_clock;
  struct Entry {
    std::string data;
    uint64_t version = 0;
    std::optional<Clock::time_point> expires;
  };

  // Callers hold mutex_.
  const Entry* Live(const std::string& key, Clock::time_point now);
  Status CheckSet(const SetRequest& request, Clock::time_point now);
  Status CheckDelete(const DeleteRequest& request, Clock::time_point now);
  void ApplySet(const SetRequest& request, Clock::time_point now);

  std::mutex mutex_;
  std::unordered_map<std::string, Entry> entries_;
  uint64_t next_version_ = 1;
};

}  // namespace dapr::state
