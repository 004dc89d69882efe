// The state building block: everything a state call means, once, for both transports.
// It finds the store, validates keys and metadata, applies Dapr's key prefixing, calls
// the component and turns its failures into catalogue errors.
#pragma once

#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "blocks/errors.h"
#include "dapr/state/store.h"

namespace dapr::blocks {

// One loaded state store with what the block derived from its metadata at load time.
struct StateStoreEntry {
  std::string name;
  std::shared_ptr<state::Store> store;
  state::Features features;
  std::string key_prefix;  // prepended to every key, e.g. "myapp||"
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

class StateBlock {
 public:
  StateBlock(std::string app_id, std::string app_namespace);

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

 private:
  ApiResult<std::shared_ptr<const StateStoreEntry>> Find(const std::string& store) const;
  std::optional<ApiError> CheckKey(const StateStoreEntry& entry, const std::string& key,
                                   std::string_view empty_error_code) const;
  std::string PrefixFor(const std::string& store, const ComponentMetadata& metadata) const;

  std::string app_id_;
  std::string app_namespace_;
  mutable std::shared_mutex mutex_;
  std::unordered_map<std::string, std::shared_ptr<const StateStoreEntry>> stores_;
};

}  // namespace dapr::blocks
