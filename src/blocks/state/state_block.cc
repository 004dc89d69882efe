#include "blocks/state/state_block.h"

#include <mutex>

#include "blocks/state/query/query_engine.h"
#include "dapr/registry.h"

namespace dapr::blocks {
namespace {

constexpr std::string_view kSeparator = "||";

state::SetRequest ToSetRequest(const std::string& prefix, StateItem item) {
  return {prefix + item.key, std::move(item.value), std::move(item.etag), std::move(item.metadata),
          item.options};
}

state::DeleteRequest ToDeleteRequest(const std::string& prefix, StateItem item) {
  return {prefix + item.key, std::move(item.etag), std::move(item.metadata), item.options};
}

// A malformed ttlInSeconds is the caller's mistake; find it before the store does.
std::optional<Status> CheckTtl(const state::Metadata& metadata) {
  auto ttl = state::ParseTtl(metadata);
  if (!ttl.ok()) return ttl.error();
  return std::nullopt;
}

}  // namespace

StateBlock::StateBlock(std::string app_id, std::string app_namespace, WorkerPool* pool)
    : app_id_(std::move(app_id)), app_namespace_(std::move(app_namespace)), pool_(pool) {}

std::string StateBlock::PrefixFor(const std::string& store, const ComponentMetadata& md) const {
  std::string mode = md.GetOr("keyPrefix", "appid");
  std::string lower = ToLower(mode);
  if (lower == "none") return "";
  if (lower == "name") return store + std::string(kSeparator);
  if (lower == "appid" || lower == "namespace") {
    if (app_id_.empty()) return "";
    if (lower == "namespace" && !app_namespace_.empty()) {
      return app_namespace_ + "." + app_id_ + std::string(kSeparator);
    }
    return app_id_ + std::string(kSeparator);
  }
  // Dapr lower-cases a custom prefix too, so data it wrote is found under the same key.
  return lower + std::string(kSeparator);
}

Status StateBlock::AddStore(std::string name, std::shared_ptr<state::Store> store,
                            const ComponentMetadata& metadata) {
  auto custom = metadata.Get("keyPrefix");
  if (custom && custom->find(kSeparator) != std::string::npos) {
    return InvalidArgument("keyPrefix '" + *custom + "' can't contain '||'");
  }
  // Parsed so a bad value fails at load time; the actor runtime will pick its store by it.
  auto actor = metadata.GetBool("actorStateStore", false);
  if (!actor.ok()) return actor.error();

  auto entry = std::make_shared<StateStoreEntry>();
  entry->name = name;
  entry->features = store->GetFeatures();
  // As Dapr reports it: any store with ETags and transactions can hold actor state.
  entry->features.actor = entry->features.etag && entry->features.transactional;
  entry->key_prefix = PrefixFor(name, metadata);
  entry->non_blocking = store->SupportsAsync();
  entry->store = std::move(store);
  std::unique_lock lock(mutex_);
  stores_[std::move(name)] = std::move(entry);
  return Status::Ok();
}

std::vector<std::string> StateBlock::Capabilities(const std::string& name) const {
  std::shared_lock lock(mutex_);
  auto it = stores_.find(name);
  if (it == stores_.end()) return {};
  const auto& f = it->second->features;
  std::vector<std::string> caps;
  if (f.etag) caps.emplace_back("ETAG");
  if (f.transactional) caps.emplace_back("TRANSACTIONAL");
  if (f.ttl) caps.emplace_back("TTL");
  if (f.query) caps.emplace_back("QUERY_API");
  if (f.actor) caps.emplace_back("ACTOR");
  return caps;
}

void StateBlock::CloseAll() {
  std::unique_lock lock(mutex_);
  for (auto& [name, entry] : stores_) entry->store->Close();
}

ApiResult<std::shared_ptr<const StateStoreEntry>> StateBlock::Find(const std::string& store) const {
  std::shared_lock lock(mutex_);
  if (stores_.empty()) return errors::StateStoreNotConfigured(app_id_);
  auto it = stores_.find(store);
  if (it == stores_.end()) return errors::StateStoreNotFound(store, app_id_);
  return it->second;
}

std::optional<ApiError> StateBlock::CheckKey(const StateStoreEntry& entry, const std::string& key,
                                             std::string_view empty_error_code) const {
  if (key.empty()) return errors::StateKeyEmpty(entry.name, empty_error_code);
  if (key.find(kSeparator) != std::string::npos) return errors::StateIllegalKey(entry.name, key);
  return std::nullopt;
}

ApiResult<state::GetResponse> StateBlock::Get(const std::string& store, const std::string& key,
                                              state::Consistency consistency,
                                              const state::Metadata& metadata) const {
  auto found = Find(store);
  if (!found.ok()) return found.take_error();
  const auto& entry = **found;
  if (auto bad = CheckKey(entry, key, "ERR_MALFORMED_REQUEST")) return *bad;

  auto response = entry.store->Get({entry.key_prefix + key, metadata, consistency});
  if (!response.ok()) return errors::StateGet(store, key, response.error());
  return std::move(response).value();
}

ApiResult<Done> StateBlock::Save(const std::string& store, std::vector<StateItem> items) const {
  auto found = Find(store);
  if (!found.ok()) return found.take_error();
  const auto& entry = **found;
  if (items.empty()) return Done{};
  for (const auto& item : items) {
    if (auto bad = CheckKey(entry, item.key, "ERR_MALFORMED_REQUEST")) return *bad;
    if (auto bad_ttl = CheckTtl(item.metadata)) return errors::StateSave(store, *bad_ttl);
  }
  // Several items go in one transaction where the store can, so a save is all-or-nothing.
  if (items.size() > 1 && entry.features.transactional) {
    std::vector<state::TransactionOperation> ops;
    ops.reserve(items.size());
    for (auto& item : items) {
      ops.push_back({state::TransactionOperation::Kind::kUpsert,
                     ToSetRequest(entry.key_prefix, std::move(item)), {}});
    }
    Status status = entry.store->Multi(ops);
    if (!status.ok()) return errors::StateSave(store, status);
    return Done{};
  }
  for (auto& item : items) {
    Status status = entry.store->Set(ToSetRequest(entry.key_prefix, std::move(item)));
    if (!status.ok()) return errors::StateSave(store, status);
  }
  return Done{};
}

ApiResult<Done> StateBlock::Delete(const std::string& store, StateItem item) const {
  auto found = Find(store);
  if (!found.ok()) return found.take_error();
  const auto& entry = **found;
  if (auto bad = CheckKey(entry, item.key, "ERR_MALFORMED_REQUEST")) return *bad;
  std::string key = item.key;
  Status status = entry.store->Delete(ToDeleteRequest(entry.key_prefix, std::move(item)));
  if (!status.ok()) return errors::StateDelete(key, status);
  return Done{};
}

ApiResult<std::vector<state::BulkGetItem>> StateBlock::BulkGet(
    const std::string& store, const std::vector<std::string>& keys,
    const state::Metadata& metadata) const {
  auto found = Find(store);
  if (!found.ok()) return found.take_error();
  const auto& entry = **found;
  if (keys.empty()) return std::vector<state::BulkGetItem>{};
  std::vector<state::GetRequest> requests;
  requests.reserve(keys.size());
  for (const auto& key : keys) {
    if (auto bad = CheckKey(entry, key, "ERR_MALFORMED_REQUEST")) return *bad;
    requests.push_back({entry.key_prefix + key, metadata, state::Consistency::kUnspecified});
  }
  auto items = entry.store->BulkGet(requests);
  if (!items.ok()) return errors::StateBulkGet(store, items.error());
  for (size_t i = 0; i < items->size() && i < keys.size(); ++i) (*items)[i].key = keys[i];
  return std::move(items).value();
}

ApiResult<Done> StateBlock::BulkDelete(const std::string& store,
                                       std::vector<StateItem> items) const {
  auto found = Find(store);
  if (!found.ok()) return found.take_error();
  const auto& entry = **found;
  for (const auto& item : items) {
    if (auto bad = CheckKey(entry, item.key, "ERR_MALFORMED_REQUEST")) return *bad;
  }
  if (items.size() > 1 && entry.features.transactional) {
    std::vector<state::TransactionOperation> ops;
    for (auto& item : items) {
      ops.push_back({state::TransactionOperation::Kind::kDelete, {},
                     ToDeleteRequest(entry.key_prefix, std::move(item))});
    }
    Status status = entry.store->Multi(ops);
    if (!status.ok()) return errors::StateBulkDelete(status);
    return Done{};
  }
  for (auto& item : items) {
    Status status = entry.store->Delete(ToDeleteRequest(entry.key_prefix, std::move(item)));
    if (!status.ok()) return errors::StateBulkDelete(status);
  }
  return Done{};
}

ApiResult<Done> StateBlock::Transact(const std::string& store,
                                     std::vector<StateTransactionOp> operations,
                                     const state::Metadata& metadata) const {
  auto found = Find(store);
  if (!found.ok()) return found.take_error();
  const auto& entry = **found;
  if (!entry.features.transactional) return errors::StateTransactionsNotSupported(store);

  std::vector<state::TransactionOperation> ops;
  ops.reserve(operations.size());
  for (auto& op : operations) {
    if (auto bad = CheckKey(entry, op.item.key, "ERR_MALFORMED_REQUEST")) return *bad;
    for (const auto& [k, v] : metadata) op.item.metadata.try_emplace(k, v);
    if (op.operation == "upsert") {
      if (auto bad_ttl = CheckTtl(op.item.metadata)) return errors::StateTransaction(*bad_ttl);
      ops.push_back({state::TransactionOperation::Kind::kUpsert,
                     ToSetRequest(entry.key_prefix, std::move(op.item)), {}});
    } else if (op.operation == "delete") {
      ops.push_back({state::TransactionOperation::Kind::kDelete, {},
                     ToDeleteRequest(entry.key_prefix, std::move(op.item))});
    } else {
      return errors::StateUnknownOperation(op.operation);
    }
  }
  if (ops.empty()) return Done{};
  Status status = entry.store->Multi(ops);
  if (!status.ok()) return errors::StateTransaction(status);
  return Done{};
}

void StateBlock::RunBlocking(std::function<void()> work) const {
  if (pool_) {
    pool_->Post(std::move(work));
  } else {
    work();
  }
}

void StateBlock::GetAsync(const std::string& store, std::string key,
                          state::Consistency consistency, state::Metadata metadata,
                          ApiCallback<state::GetResponse> done) const {
  auto found = Find(store);
  if (!found.ok()) return done(found.take_error());
  auto entry = std::move(found).value();
  if (!entry->non_blocking) {
    return RunBlocking([this, store, key = std::move(key), consistency,
                        metadata = std::move(metadata), done = std::move(done)] {
      done(Get(store, key, consistency, metadata));
    });
  }
  if (auto bad = CheckKey(*entry, key, "ERR_MALFORMED_REQUEST")) return done(*bad);
  state::GetRequest request{entry->key_prefix + key, std::move(metadata), consistency};
  entry->store->GetAsync(std::move(request), [store, key, done = std::move(done)](
                                                 Result<state::GetResponse> response) {
    if (!response.ok()) return done(errors::StateGet(store, key, response.error()));
    done(std::move(response).value());
  });
}

void StateBlock::SaveAsync(const std::string& store, std::vector<StateItem> items,
                           ApiCallback<Done> done) const {
  auto found = Find(store);
  if (!found.ok()) return done(found.take_error());
  auto entry = std::move(found).value();
  // One item is the hot case the store can do on the loop; the rest goes the blocking way.
  if (!entry->non_blocking || items.size() != 1) {
    return RunBlocking([this, store, items = std::move(items), done = std::move(done)]() mutable {
      done(Save(store, std::move(items)));
    });
  }
  StateItem& item = items.front();
  if (auto bad = CheckKey(*entry, item.key, "ERR_MALFORMED_REQUEST")) return done(*bad);
  if (auto bad_ttl = CheckTtl(item.metadata)) return done(errors::StateSave(store, *bad_ttl));
  entry->store->SetAsync(ToSetRequest(entry->key_prefix, std::move(item)),
                         [store, done = std::move(done)](Status status) {
                           if (!status.ok()) return done(errors::StateSave(store, status));
                           done(Done{});
                         });
}

ApiResult<StateQueryResult> StateBlock::Query(const std::string& store,
                                              const std::string& query_json,
                                              const state::Metadata& metadata) const {
  auto found = Find(store);
  if (!found.ok()) return found.take_error();
  const auto& entry = **found;
  if (!entry.features.query) return errors::StateQueryNotSupported(store);

  auto query = state::query::Query::Parse(query_json);
  if (!query.ok()) return errors::StateQuery(store, query.error());
  auto items = entry.store->Scan(entry.key_prefix);
  if (!items.ok()) return errors::StateQuery(store, items.error());
  auto result = state::query::Run(*query, std::move(items).value());
  if (!result.ok()) return errors::StateQuery(store, result.error());

  StateQueryResult out;
  out.token = std::move(result->token);
  out.results.reserve(result->results.size());
  for (auto& item : result->results) {
    out.results.push_back({item.key.substr(entry.key_prefix.size()), std::move(item.data),
                           std::move(item.etag)});
  }
  return out;
}

}  // namespace dapr::blocks
