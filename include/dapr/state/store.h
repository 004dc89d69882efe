// The contract every state component implements (state.redis, state.sqlite, ...).
// Components see fully-prefixed keys and raw bytes; key prefixing, JSON handling, error
// codes and validation live in the state block, so a component only talks to its backend.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "dapr/component_metadata.h"
#include "dapr/status.h"

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace dapr::state {

using Metadata = std::map<std::string, std::string>;

enum class Concurrency { kUnspecified, kFirstWrite, kLastWrite };
enum class Consistency { kUnspecified, kEventual, kStrong };

struct Options {
  Concurrency concurrency = Concurrency::kUnspecified;
  Consistency consistency = Consistency::kUnspecified;
};

// Optional capabilities, declared once by the component and reported by the metadata API.
struct Features {
  bool etag = false;
  bool transactional = false;
  bool ttl = false;
  bool query = false;
  bool actor = false;  // set by the block from the actorStateStore metadata flag
};

struct GetRequest {
  std::string key;
  Metadata metadata;
  Consistency consistency = Consistency::kUnspecified;
};

struct GetResponse {
  bool found = false;
  std::string data;
  std::optional<std::string> etag;
  Metadata metadata;  // e.g. ttlExpireTime (RFC 3339) on stores with TTL
};

struct SetRequest {
  std::string key;
  std::string value;
  std::optional<std::string> etag;
  Metadata metadata;  // ttlInSeconds, contentType, ...
  Options options;
};

struct DeleteRequest {
  std::string key;
  std::optional<std::string> etag;
  Metadata metadata;
  Options options;
};

struct TransactionOperation {
  enum class Kind { kUpsert, kDelete };
  Kind kind = Kind::kUpsert;
  SetRequest upsert;     // used when kind == kUpsert
  DeleteRequest remove;  // used when kind == kDelete
};

struct BulkGetItem {
  std::string key;
  GetResponse response;
  std::string error;  // per-key failure; empty when the read worked
};

// A stored record as seen by the query engine: the key (prefixed) and its bytes.
struct StoredItem {
  std::string key;
  std::string data;
  std::string etag;
};

// Errors a component returns, by code:
//   kAborted          the ETag did not match (the API answers 409), or first-write found the key
//   kInvalidArgument  the ETag is malformed for this store (400)
//   kUnavailable      the backend could not be reached (500; the next call retries it)
//   anything else     500
inline Status EtagMismatch(std::string message = "possible etag mismatch. error from state store") {
  return Aborted(std::move(message));
}
inline Status InvalidEtag(std::string message = "invalid etag value") {
  return InvalidArgument(std::move(message));
}

class Store {
 public:
  virtual ~Store() = default;

  // Connects and prepares the backend; called once before any other call.
  virtual Status Init(const ComponentMetadata& metadata) = 0;
  virtual Features GetFeatures() const = 0;

  virtual Result<GetResponse> Get(const GetRequest& request) = 0;
  virtual Status Set(const SetRequest& request) = 0;
  virtual Status Delete(const DeleteRequest& request) = 0;

  // Reads many keys; the default reads them one by one.
  virtual Result<std::vector<BulkGetItem>> BulkGet(const std::vector<GetRequest>& requests);

  // All-or-nothing; only called when GetFeatures().transactional is true.
  virtual Status Multi(const std::vector<TransactionOperation>& operations);

  // Every live (unexpired) item whose key starts with prefix; only called when
  // GetFeatures().query is true. Filtering, sorting and paging are done by the query engine.
  virtual Result<std::vector<StoredItem>> Scan(const std::string& prefix);

  // Optional non-blocking path for the hot calls. A store whose client can run on the
  // sidecar's event loop accepts the loop here (called once, before Init) and then answers
  // SupportsAsync() with true; the block then calls GetAsync/SetAsync from the loop instead
  // of running the blocking Get/Set on a worker thread. done runs on the loop.
  virtual bool AttachEventLoop(boost::asio::io_context& loop) { return false; }
  virtual bool SupportsAsync() const { return false; }
  virtual void GetAsync(GetRequest request, std::function<void(Result<GetResponse>)> done) {
    done(Get(request));
  }
  virtual void SetAsync(SetRequest request, std::function<void(Status)> done) {
    done(Set(request));
  }

  // Liveness of the backend, for health reporting.
  virtual Status Ping() { return Status::Ok(); }
  virtual void Close() {}
};

// TTL metadata: "ttlInSeconds" as an integer; absent, or <= 0 (Dapr uses -1), means no expiry.
// Returns an error message for a value that is not an integer.
Result<std::optional<std::chrono::seconds>> ParseTtl(const Metadata& metadata);

}  // namespace dapr::state
