// The state building block: everything a state call means, once, for both transports.
// It finds the store, validates keys and metadata, applies Dapr's key prefixing, calls
// the component and turns its failures into catalogue errors.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "blocks/errors.h"
#include "common/worker_pool.h"
#include "dapr/state/store.h"

namespace dapr::blocks {

// One loaded state store with what the block derived from its metadata at load time.
struct StateStoreEntry {
  std::string name;
  std::shared_ptr<state::Store> store;
  state::Features features;
  std::string key_prefix;  // prepended to every key, e.g. "myapp||"
  bool non_blocking = false;  // the store serves GetAsync/SetAsync on the event loop
};

struct StateItem {
  std::string key;
  std::string value;
  std::optional<std::string> etag;
  state::Metadata metadata;
  state::Options options;
};

struct StateTransactionOp {
  std::string operation;  // "upsert" or "delete"
  StateItem item;
};

struct StateQueryItem {
  std::string key;
  std::string data;
  std::string etag;
};

struct StateQueryResult {
  std::vector<StateQueryItem> results;
  std::string token;
};

template <class T>
using ApiCallback = std::function<void(ApiResult<T>)>;

class StateBlock {
 public:
  // pool runs blocking store calls for the *Async methods; without one they run inline.
  StateBlock(std::string app_id, std::string app_namespace, WorkerPool* pool = nullptr);

  // Registers a store that has been initialised. Fails when its keyPrefix is invalid.
  Status AddStore(std::string name, std::shared_ptr<state::Store> store,
                  const ComponentMetadata& metadata);
  std::vector<std::string> Capabilities(const std::string& name) const;
  void CloseAll();

  ApiResult<state::GetResponse> Get(const std::string& store, const std::string& key,
                                    state::Consistency consistency,
                                    const state::Metadata& metadata) const;
  ApiResult<Done> Save(const std::string& store, std::vector<StateItem> items) const;
  ApiResult<Done> Delete(const std::string& store, StateItem item) const;
  ApiResult<std::vector<state::BulkGetItem>> BulkGet(const std::string& store,
                                                     const std::vector<std::string>& keys,
                                                     const state::Metadata& metadata) const;
  ApiResult<Done> BulkDelete(const std::string& store, std::vector<StateItem> items) const;
  ApiResult<Done> Transact(const std::string& store, std::vector<StateTransactionOp> operations,
                           const state::Metadata& metadata) const;
  ApiResult<StateQueryResult> Query(const std::string& store, const std::string& query_json,
                                    const state::Metadata& metadata) const;

  // The hot calls without blocking the caller: on the store's event loop when it has one,
  // else on the worker pool. done may run on another thread.
  void GetAsync(const std::string& store, std::string key, state::Consistency consistency,
                state::Metadata metadata, ApiCallback<state::GetResponse> done) const;
  void SaveAsync(const std::string& store, std::vector<StateItem> items,
                 ApiCallback<Done> done) const;

 private:
  ApiResult<std::shared_ptr<const StateStoreEntry>> Find(const std::string& store) const;
  std::optional<ApiError> CheckKey(const StateStoreEntry& entry, const std::string& key,
                                   std::string_view empty_error_code) const;
  std::string PrefixFor(const std::string& store, const ComponentMetadata& metadata) const;

  void RunBlocking(std::function<void()> work) const;

  std::string app_id_;
  std::string app_namespace_;
  WorkerPool* pool_;
  mutable std::shared_mutex mutex_;
  std::unordered_map<std::string, std::shared_ptr<const StateStoreEntry>> stores_;
};

}  // namespace dapr::blocks
