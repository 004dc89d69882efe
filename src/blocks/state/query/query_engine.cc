// src/blocks/state/query/query_engine.cc
// In-memory evaluation of Dapr's state query document. Dapr translates the document into each
// database's native query (components-contrib state/query + mongodb, postgresql, redis, cosmosdb);
// we evaluate it over Scan() results instead, so where those stores disagree a choice is made
// below and said where it is made.
#include "blocks/state/query/query_engine.h"

#include <algorithm>
#include <charconv>
#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>
#include <utility>

namespace dapr::state::query {

// Types of the parsed document, named (not anonymous) because Query::Spec holds them.
namespace parsed {

using Json = nlohmann::json;
using Path = std::vector<std::string>;

enum class Op { kEq, kNeq, kGt, kGte, kLt, kLte, kIn, kAnd, kOr };

struct Filter {
  Op op = Op::kEq;
  Path path;                     // leaf operators only
  Json operand;                  // comparison value, or the IN array
  std::vector<Filter> children;  // AND / OR only
};

struct SortKey {
  Path path;
  bool descending = false;
};

}  // namespace parsed

struct Query::Spec {
  std::optional<parsed::Filter> filter;
  std::vector<parsed::SortKey> sort;
  std::int64_t limit = 0;   // 0: no limit
  std::int64_t offset = 0;  // decoded page token
};

std::int64_t Query::limit() const { return spec_->limit; }
std::int64_t Query::offset() const { return spec_->offset; }
bool Query::has_filter() const { return spec_->filter.has_value(); }
bool Query::has_sort() const { return !spec_->sort.empty(); }

namespace {

using parsed::Filter;
using parsed::Json;
using parsed::Op;
using parsed::Path;
using parsed::SortKey;

// Deeper filters are refused rather than risking the stack on hostile input.
constexpr int kMaxFilterDepth = 64;

// Dapr reports every document error as "failed to parse JSON query body: <cause>".
Status ParseError(const std::string& cause) {
  return InvalidArgument("failed to parse JSON query body: " + cause);
}

std::string Quote(std::string_view s) { return "\"" + std::string(s) + "\""; }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; };
           return lower(x) == lower(y);
         });
}

// A field of the document's own structure ("filter", "sort", "key", "limit", ...). Dapr decodes
// these with Go's encoding/json, which matches names case-insensitively (an exact match wins)
// and treats null as absent; so do we. Operator names (EQ, AND, ...) are case-sensitive.
const Json* Field(const Json& object, std::string_view name) {
  const Json* found = nullptr;
  for (auto it = object.begin(); it != object.end(); ++it) {
    if (it.key() == name) {
      found = &it.value();
      break;
    }
    if (!found && EqualsIgnoreCase(it.key(), name)) found = &it.value();
  }
  return found != nullptr && !found->is_null() ? found : nullptr;
}

// "person.org" -> {"person", "org"}. Paths are relative to the stored value, as in Dapr (its
// stores prepend "value." themselves), so a leading "value." is NOT stripped: it names a field
// called "value" inside the document.
Result<Path> ParsePath(const std::string& key) {
  if (key.empty()) return ParseError("empty key in query");
  Path path;
  std::size_t start = 0;
  while (true) {
    std::size_t dot = key.find('.', start);
    std::string segment = key.substr(start, dot == std::string::npos ? dot : dot - start);
    if (segment.empty()) return ParseError("invalid key " + Quote(key) + ": empty path segment");
    path.push_back(std::move(segment));
    if (dot == std::string::npos) return path;
    start = dot + 1;
  }
}

bool IsComparison(Op op) {
  return op == Op::kGt || op == Op::kGte || op == Op::kLt || op == Op::kLte;
}

// EQ/NEQ/GT/GTE/LT/LTE/IN all take a map with exactly one "path": operand pair.
Result<Filter> ParseLeaf(Op op, const std::string& name, const Json& body) {
  if (!body.is_object()) return ParseError(name + " filter must be a map");
  if (body.size() != 1) return ParseError(name + " filter must contain a single key/value pair");
  Filter filter{op, {}, body.begin().value(), {}};
  auto path = ParsePath(body.begin().key());
  if (!path.ok()) return path.take_error();
  filter.path = std::move(path).value();
  const std::string& key = body.begin().key();
  if (op == Op::kIn) {
    if (!filter.operand.is_array()) return ParseError("IN filter value must be an array");
    // As Dapr's MongoDB and PostgreSQL stores do.
    if (filter.operand.empty()) return ParseError("empty IN operator for key " + Quote(key));
  }
  // Dapr's stores refuse strings here ("string type not permitted"); we also order strings
  // (byte-wise), a strict superset. Other types have no order and are refused.
  if (IsComparison(op) && !filter.operand.is_number() && !filter.operand.is_string()) {
    return ParseError(name + " filter value for key " + Quote(key) +
                      " must be a number or a string");
  }
  return filter;
}

Result<Filter> ParseFilter(const Json& unit, int depth);

// AND / OR: an array of at least two filters (Dapr rejects fewer).
Result<Filter> ParseJunction(Op op, const std::string& name, const Json& body, int depth) {
  if (!body.is_array()) return ParseError(name + " filter must be an array");
  if (body.size() < 2) return ParseError(name + " filter must contain at least two entries");
  Filter filter{op, {}, {}, {}};
  for (const Json& entry : body) {
    auto child = ParseFilter(entry, depth + 1);
    if (!child.ok()) return child.take_error();
    filter.children.push_back(std::move(child).value());
  }
  return filter;
}

std::optional<Op> OperatorNamed(const std::string& name) {
  static const std::pair<std::string_view, Op> kOperators[] = {
      {"EQ", Op::kEq},   {"NEQ", Op::kNeq}, {"GT", Op::kGt},   {"GTE", Op::kGte}, {"LT", Op::kLt},
      {"LTE", Op::kLte}, {"IN", Op::kIn},   {"AND", Op::kAnd}, {"OR", Op::kOr}};
  for (const auto& [n, op] : kOperators) {
    if (n == name) return op;
  }
  return std::nullopt;
}

Result<Filter> ParseFilter(const Json& unit, int depth) {
  if (depth > kMaxFilterDepth) {
    return ParseError("filter is nested more than " + std::to_string(kMaxFilterDepth) +
                      " levels deep");
  }
  if (!unit.is_object()) return ParseError("filter unit must be a map");
  if (unit.size() != 1) return ParseError("filter unit must have a single element");
  const std::string& name = unit.begin().key();
  std::optional<Op> op = OperatorNamed(name);
  if (!op) return ParseError("unsupported filter " + Quote(name));
  if (*op == Op::kAnd || *op == Op::kOr)
    return ParseJunction(*op, name, unit.begin().value(), depth);
  return ParseLeaf(*op, name, unit.begin().value());
}

Result<SortKey> ParseSortEntry(const Json& entry) {
  if (!entry.is_object()) return ParseError("sort entries must be maps with a \"key\"");
  const Json* key = Field(entry, "key");
  if (key == nullptr || !key->is_string()) {
    return ParseError("sort entry must have a string \"key\"");
  }
  auto path = ParsePath(key->get<std::string>());
  if (!path.ok()) return path.take_error();
  SortKey sort_key{std::move(path).value(), false};
  const Json* order = Field(entry, "order");
  if (order == nullptr) return sort_key;  // ASC is the default
  if (!order->is_string()) return ParseError("sort order must be a string, \"ASC\" or \"DESC\"");
  const std::string value = order->get<std::string>();
  if (value == "DESC") {
    sort_key.descending = true;
  } else if (value != "ASC" && !value.empty()) {
    return ParseError("invalid sort order " + Quote(value) + " for key " +
                      Quote(key->get<std::string>()) + ": must be \"ASC\" or \"DESC\"");
  }
  return sort_key;
}

Result<std::vector<SortKey>> ParseSort(const Json& sort) {
  if (!sort.is_array()) return ParseError("\"sort\" must be an array");
  std::vector<SortKey> keys;
  for (const Json& entry : sort) {
    auto key = ParseSortEntry(entry);
    if (!key.ok()) return key.take_error();
    keys.push_back(std::move(key).value());
  }
  return keys;
}

// The page token is the decimal offset of the next item, as in Dapr's stores.
Result<std::int64_t> ParseToken(const std::string& token) {
  std::int64_t offset = 0;
  const char* end = token.data() + token.size();
  auto [ptr, ec] = std::from_chars(token.data(), end, offset);
  if (token.empty() || token[0] == '-' || ec != std::errc() || ptr != end) {
    return InvalidArgument("invalid page token " + Quote(token) +
                           ": expected the token returned by a previous query");
  }
  return offset;
}

Status ParsePage(const Json& page, Query::Spec& spec) {
  if (!page.is_object()) return ParseError("\"page\" must be a map");
  if (const Json* limit = Field(page, "limit")) {
    if (!limit->is_number_integer()) return ParseError("page limit must be an integer");
    // Dapr treats a negative limit as "no limit"; we refuse it as a mistake.
    if (!limit->is_number_unsigned()) return ParseError("page limit must not be negative");
    if (limit->get<std::uint64_t>() > std::uint64_t(INT64_MAX)) {
      return ParseError("page limit is too large");
    }
    spec.limit = limit->get<std::int64_t>();
  }
  if (const Json* token = Field(page, "token")) {
    if (!token->is_string()) return ParseError("page token must be a string");
    if (!token->get<std::string>().empty()) {
      auto offset = ParseToken(token->get<std::string>());
      if (!offset.ok()) return offset.take_error();
      spec.offset = *offset;
    }
  }
  return Status::Ok();
}

Status ParseDocument(const Json& doc, Query::Spec& spec) {
  if (doc.is_null()) return Status::Ok();  // as Go decodes "null": an empty query
  if (!doc.is_object()) return ParseError("the query must be a JSON object");
  // Unknown top-level fields are ignored, as Go's decoder does.
  if (const Json* filter = Field(doc, "filter")) {
    if (!filter->is_object()) return ParseError("\"filter\" must be a map");
    if (!filter->empty()) {  // "filter": {} means no filter, as in Dapr
      auto parsed = ParseFilter(*filter, 1);
      if (!parsed.ok()) return parsed.take_error();
      spec.filter = std::move(parsed).value();
    }
  }
  if (const Json* sort = Field(doc, "sort")) {
    auto keys = ParseSort(*sort);
    if (!keys.ok()) return keys.take_error();
    spec.sort = std::move(keys).value();
  }
  if (const Json* page = Field(doc, "page")) return ParsePage(*page, spec);
  return Status::Ok();
}

// ---- Evaluation ----------------------------------------------------------------------------

template <class T>
int ThreeWay(const T& a, const T& b) {
  return a < b ? -1 : (b < a ? 1 : 0);
}

// Integers compare exactly (JSON allows both int64 and uint64 ranges); anything involving a
// float compares as double, which is what Dapr (Go float64) does for every number.
int CompareNumbers(const Json& a, const Json& b) {
  if (!a.is_number_integer() || !b.is_number_integer()) {
    return ThreeWay(a.get<double>(), b.get<double>());
  }
  const bool a_unsigned = a.is_number_unsigned();
  const bool b_unsigned = b.is_number_unsigned();
  if (a_unsigned && b_unsigned) return ThreeWay(a.get<std::uint64_t>(), b.get<std::uint64_t>());
  if (!a_unsigned && !b_unsigned) return ThreeWay(a.get<std::int64_t>(), b.get<std::int64_t>());
  if (a_unsigned) {
    const std::int64_t s = b.get<std::int64_t>();
    return s < 0 ? 1 : ThreeWay(a.get<std::uint64_t>(), std::uint64_t(s));
  }
  const std::int64_t s = a.get<std::int64_t>();
  return s < 0 ? -1 : ThreeWay(std::uint64_t(s), b.get<std::uint64_t>());
}

// Numbers against numbers, strings against strings (byte-wise, as Go does); other pairs have
// no order and never satisfy GT/GTE/LT/LTE.
std::optional<int> CompareOrdered(const Json& a, const Json& b) {
  if (a.is_number() && b.is_number()) return CompareNumbers(a, b);
  if (a.is_string() && b.is_string()) {
    return ThreeWay(a.get_ref<const std::string&>(), b.get_ref<const std::string&>());
  }
  return std::nullopt;
}

// Deep equality; numbers are equal by value (1 == 1.0), different types are never equal.
bool JsonEqual(const Json& a, const Json& b) {
  if (a.is_number() && b.is_number()) return CompareNumbers(a, b) == 0;
  return a == b;
}

// The value at path inside doc, or nullptr when any step is missing. A numeric segment indexes
// an array (as MongoDB does for "a.0"). A document that is not JSON has no fields.
const Json* Resolve(const Json& doc, const Path& path) {
  const Json* node = &doc;
  for (const std::string& segment : path) {
    if (node->is_object()) {
      auto it = node->find(segment);
      if (it == node->end()) return nullptr;
      node = &*it;
    } else if (node->is_array()) {
      std::size_t index = 0;
      const char* end = segment.data() + segment.size();
      auto [ptr, ec] = std::from_chars(segment.data(), end, index);
      if (ec != std::errc() || ptr != end || index >= node->size()) return nullptr;
      node = &(*node)[index];
    } else {
      return nullptr;
    }
  }
  return node;
}

bool MatchLeaf(const Filter& filter, const Json& field) {
  if (filter.op == Op::kEq) return JsonEqual(field, filter.operand);
  if (filter.op == Op::kNeq) return !JsonEqual(field, filter.operand);
  if (filter.op == Op::kIn) {
    return std::any_of(filter.operand.begin(), filter.operand.end(),
                       [&](const Json& v) { return JsonEqual(field, v); });
  }
  std::optional<int> c = CompareOrdered(field, filter.operand);
  if (!c) return false;
  switch (filter.op) {
    case Op::kGt:
      return *c > 0;
    case Op::kGte:
      return *c >= 0;
    case Op::kLt:
      return *c < 0;
    case Op::kLte:
      return *c <= 0;
    default:
      return false;
  }
}

bool Matches(const Filter& filter, const Json& doc) {
  auto match_child = [&](const Filter& child) { return Matches(child, doc); };
  if (filter.op == Op::kAnd) {
    return std::all_of(filter.children.begin(), filter.children.end(), match_child);
  }
  if (filter.op == Op::kOr) {
    return std::any_of(filter.children.begin(), filter.children.end(), match_child);
  }
  // A missing field (or a value that is not JSON) matches nothing, NEQ included. That is SQL's
  // NULL logic, as in Dapr's PostgreSQL and Cosmos DB stores; MongoDB's $ne would match it.
  const Json* field = Resolve(doc, filter.path);
  return field != nullptr && MatchLeaf(filter, *field);
}

// Each item's value is parsed once; a value that is not JSON becomes a discarded value, which
// has no fields.
std::vector<Json> ParseValues(const std::vector<StoredItem>& items) {
  std::vector<Json> docs;
  docs.reserve(items.size());
  for (const StoredItem& item : items) {
    try {
      docs.push_back(Json::parse(item.data, nullptr, /*allow_exceptions=*/false));
    } catch (const Json::exception&) {
      docs.push_back(Json(Json::value_t::discarded));
    }
  }
  return docs;
}

// A total order across JSON types for sorting mixed values: null < numbers < strings <
// objects < arrays < booleans (MongoDB's order).
int TypeRank(const Json& v) {
  if (v.is_null()) return 0;
  if (v.is_number()) return 1;
  if (v.is_string()) return 2;
  if (v.is_object()) return 3;
  if (v.is_array()) return 4;
  return 5;
}

int CompareForSort(const Json& a, const Json& b) {
  const int rank = ThreeWay(TypeRank(a), TypeRank(b));
  if (rank != 0) return rank;
  if (std::optional<int> c = CompareOrdered(a, b)) return *c;
  if (a.is_boolean()) return ThreeWay(a.get<bool>(), b.get<bool>());
  if (a.is_null()) return 0;
  return ThreeWay(a.dump(), b.dump());  // objects and arrays: any stable, total order
}

struct SortRow {
  std::size_t index;
  std::vector<const Json*> keys;  // nullptr: the item lacks this sort key
};

// Stable; items missing a sort key come after every item that has it, in both directions
// (Dapr's stores differ here: PostgreSQL puts NULLs last ascending and first descending,
// MongoDB the reverse).
bool SortsBefore(const std::vector<SortKey>& sort, const SortRow& x, const SortRow& y) {
  for (std::size_t k = 0; k < sort.size(); ++k) {
    const Json* a = x.keys[k];
    const Json* b = y.keys[k];
    if (a == nullptr || b == nullptr) {
      if (a != b) return a != nullptr;
      continue;
    }
    const int c = CompareForSort(*a, *b);
    if (c != 0) return sort[k].descending ? c > 0 : c < 0;
  }
  return false;
}

void SortSelected(const std::vector<SortKey>& sort, const std::vector<Json>& docs,
                  std::vector<std::size_t>& selected) {
  std::vector<SortRow> rows;
  rows.reserve(selected.size());
  for (std::size_t index : selected) {
    SortRow row{index, {}};
    for (const SortKey& key : sort) row.keys.push_back(Resolve(docs[index], key.path));
    rows.push_back(std::move(row));
  }
  std::stable_sort(rows.begin(), rows.end(),
                   [&](const SortRow& x, const SortRow& y) { return SortsBefore(sort, x, y); });
  for (std::size_t i = 0; i < rows.size(); ++i) selected[i] = rows[i].index;
}

// Paging follows Dapr's Redis store: with a limit, a non-empty page carries the token of the
// next offset, even when it happens to be the last page; the page after that is empty and has
// no token. Dapr's docs tell clients to "iterate until no more records are returned", so an
// empty token on a non-empty last page would send such a client back to page one forever.
// A token without a limit still skips, as in Dapr's MongoDB and PostgreSQL stores.
QueryResult TakePage(const Query::Spec& spec, std::vector<StoredItem>& items,
                     const std::vector<std::size_t>& order) {
  const std::uint64_t total = order.size();
  const std::uint64_t begin = std::min<std::uint64_t>(std::uint64_t(spec.offset), total);
  std::uint64_t end = total;
  if (spec.limit > 0) end = std::min<std::uint64_t>(total, begin + std::uint64_t(spec.limit));
  QueryResult out;
  out.results.reserve(end - begin);
  for (std::uint64_t i = begin; i < end; ++i) {
    StoredItem& item = items[order[i]];
    out.results.push_back({std::move(item.key), std::move(item.data), std::move(item.etag)});
  }
  if (spec.limit > 0 && end > begin) out.token = std::to_string(end);
  return out;
}

}  // namespace

Result<Query> Query::Parse(const std::string& json_text) {
  Json doc;
  try {
    doc = Json::parse(json_text);
  } catch (const Json::exception& e) {
    return ParseError(std::string("the query is not valid JSON: ") + e.what());
  }
  auto spec = std::make_shared<Spec>();
  Status status = ParseDocument(doc, *spec);
  if (!status.ok()) return status;
  return Query(std::move(spec));
}

Result<QueryResult> Run(const Query& query, std::vector<StoredItem> items) {
  const Query::Spec& spec = *query.spec_;
  std::vector<Json> docs;
  if (spec.filter || !spec.sort.empty()) docs = ParseValues(items);

  std::vector<std::size_t> selected;
  selected.reserve(items.size());
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (!spec.filter || Matches(*spec.filter, docs[i])) selected.push_back(i);
  }
  if (!spec.sort.empty()) SortSelected(spec.sort, docs, selected);
  return TakePage(spec, items, selected);
}

}  // namespace dapr::state::query
