#include "components/state/in_memory/in_memory_store.h"

#include <charconv>

#include "common/time_format.h"

namespace dapr::state {
namespace {

// ETags are decimal versions; anything else cannot be one of ours.
std::optional<uint64_t> ParseEtag(const std::string& etag) {
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(etag.data(), etag.data() + etag.size(), value);
  if (ec != std::errc() || end != etag.data() + etag.size()) return std::nullopt;
  return value;
}

}  // namespace

Status InMemoryStore::Init(const ComponentMetadata&) { return Status::Ok(); }

const InMemoryStore::Entry* InMemoryStore::Live(const std::string& key, Clock::time_point now) {
  auto it = entries_.find(key);
  if (it == entries_.end()) return nullptr;
  if (it->second.expires && *it->second.expires <= now) {
    entries_.erase(it);
    return nullptr;
  }
  return &it->second;
}

Result<GetResponse> InMemoryStore::Get(const GetRequest& request) {
  std::lock_guard lock(mutex_);
  const Entry* entry = Live(request.key, Clock::now());
  if (!entry) return GetResponse{};
  GetResponse response{true, entry->data, std::to_string(entry->version), {}};
  if (entry->expires) response.metadata["ttlExpireTime"] = FormatRfc3339(*entry->expires);
  return response;
}

Status InMemoryStore::CheckSet(const SetRequest& request, Clock::time_point now) {
  const Entry* entry = Live(request.key, now);
  if (request.etag) {
    // As Dapr's in-memory store: an ETag that is not one of ours simply does not match.
    auto version = ParseEtag(*request.etag);
    if (!version || !entry || entry->version != *version) return EtagMismatch();
  } else if (request.options.concurrency == Concurrency::kFirstWrite && entry) {
    return EtagMismatch();
  }
  auto ttl = ParseTtl(request.metadata);
  if (!ttl.ok()) return ttl.error();
  return Status::Ok();
}

Status InMemoryStore::CheckDelete(const DeleteRequest& request, Clock::time_point now) {
  if (!request.etag) return Status::Ok();
  auto version = ParseEtag(*request.etag);
  const Entry* entry = Live(request.key, now);
  if (!version || !entry || entry->version != *version) return EtagMismatch();
  return Status::Ok();
}

void InMemoryStore::ApplySet(const SetRequest& request, Clock::time_point now) {
  Entry& entry = entries_[request.key];
  entry.data = request.value;
  entry.version = next_version_++;
  auto ttl = ParseTtl(request.metadata);
  entry.expires.reset();
  if (ttl.ok() && *ttl) entry.expires = now + **ttl;
}

Status InMemoryStore::Set(const SetRequest& request) {
  std::lock_guard lock(mutex_);
  auto now = Clock::now();
  Status status = CheckSet(request, now);
  if (!status.ok()) return status;
  ApplySet(request, now);
  return Status::Ok();
}

Status InMemoryStore::Delete(const DeleteRequest& request) {
  std::lock_guard lock(mutex_);
  Status status = CheckDelete(request, Clock::now());
  if (!status.ok()) return status;
  entries_.erase(request.key);
  return Status::Ok();
}

Status InMemoryStore::Multi(const std::vector<TransactionOperation>& operations) {
  std::lock_guard lock(mutex_);
  auto now = Clock::now();
  // Check everything first so that a failure leaves the store untouched. Checks run against
  // the state before the transaction, as a backend's own transaction would see it.
  for (const auto& op : operations) {
    Status status = op.kind == TransactionOperation::Kind::kUpsert ? CheckSet(op.upsert, now)
                                                                   : CheckDelete(op.remove, now);
    if (!status.ok()) return status;
  }
  for (const auto& op : operations) {
    if (op.kind == TransactionOperation::Kind::kUpsert) {
      ApplySet(op.upsert, now);
    } else {
      entries_.erase(op.remove.key);
    }
  }
  return Status::Ok();
}

Result<std::vector<StoredItem>> InMemoryStore::Scan(const std::string& prefix) {
  std::lock_guard lock(mutex_);
  auto now = Clock::now();
  std::vector<StoredItem> items;
  for (const auto& [key, entry] : entries_) {
    if (key.compare(0, prefix.size(), prefix) != 0) continue;
    if (entry.expires && *entry.expires <= now) continue;
    items.push_back({key, entry.data, std::to_string(entry.version)});
  }
  return items;
}

}  // namespace dapr::state
