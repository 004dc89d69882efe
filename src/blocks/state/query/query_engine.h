// src/blocks/state/query/query_engine.h
// The state query API (alpha) evaluated in memory: our components only offer Scan(prefix), so
// filtering, sorting and paging of the query document happen here, the same for every store.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dapr/state/store.h"
#include "dapr/status.h"

namespace dapr::state::query {

struct QueryResultItem {
  std::string key;
  std::string data;
  std::string etag;
};

struct QueryResult {
  std::vector<QueryResultItem> results;
  std::string token;  // offset of the next page; empty when there is no next page
};

// A parsed and validated query document:
//   {"filter": {...}, "sort": [{"key": "a.b", "order": "ASC"|"DESC"}],
//    "page": {"limit": N, "token": "<offset>"}}
// Immutable and cheap to copy (the parsed tree is shared).
class Query {
 public:
  // Parses and validates the query document (JSON text); kInvalidArgument with a clear message
  // when it is malformed (messages follow Dapr's: "failed to parse JSON query body: ...").
  static Result<Query> Parse(const std::string& json_text);

  // Page size; 0 means no limit.
  std::int64_t limit() const;
  // Offset of the first item to return, decoded from page.token (0 when absent).
  std::int64_t offset() const;
  bool has_filter() const;
  bool has_sort() const;

  struct Spec;  // defined in query_engine.cc, keeps nlohmann/json out of this header

 private:
  explicit Query(std::shared_ptr<const Spec> spec) : spec_(std::move(spec)) {}

  std::shared_ptr<const Spec> spec_;

  friend Result<QueryResult> Run(const Query& query, std::vector<StoredItem> items);
};

// Applies the filter, then the sort, then the page. Keys, data and etags are returned as given.
Result<QueryResult> Run(const Query& query, std::vector<StoredItem> items);

}  // namespace dapr::state::query
