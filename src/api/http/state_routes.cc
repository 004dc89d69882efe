// HTTP adapters for the state block: JSON in, block call, JSON or raw bytes out.
#include <nlohmann/json.hpp>

#include "api/http/error_response.h"
#include "api/http/offload.h"
#include "api/http/routes.h"
#include "api/http/save_body.h"
#include "blocks/state/state_block.h"

namespace dapr::http {
namespace {

using json = nlohmann::json;
using blocks::ApiError;
using blocks::ApiResult;
using blocks::StateItem;

std::string Dump(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

ApiResult<json> ParseBody(const std::string& body) {
  json parsed = json::parse(body, nullptr, false);
  if (parsed.is_discarded()) {
    return blocks::errors::MalformedRequest("failed deserializing HTTP body: invalid JSON");
  }
  return parsed;
}

// Metadata maps are string -> string in Dapr; other scalars are accepted as their text.
ApiResult<state::Metadata> ParseMetadata(const json& value) {
  state::Metadata out;
  if (value.is_null()) return out;
  if (!value.is_object()) return blocks::errors::MalformedRequest("metadata must be an object");
  for (const auto& [key, item] : value.items()) {
    out[key] = item.is_string() ? item.get<std::string>() : Dump(item);
  }
  return out;
}

std::optional<state::Concurrency> ParseConcurrency(std::string_view text) {
  if (text.empty()) return state::Concurrency::kUnspecified;
  if (text == "first-write") return state::Concurrency::kFirstWrite;
  if (text == "last-write") return state::Concurrency::kLastWrite;
  return std::nullopt;
}

std::optional<state::Consistency> ParseConsistency(std::string_view text) {
  if (text.empty()) return state::Consistency::kUnspecified;
  if (text == "eventual") return state::Consistency::kEventual;
  if (text == "strong") return state::Consistency::kStrong;
  return std::nullopt;
}

ApiResult<state::Options> ParseOptions(const json& value) {
  state::Options options;
  if (value.is_null()) return options;
  if (!value.is_object()) return blocks::errors::MalformedRequest("options must be an object");
  auto concurrency = ParseConcurrency(value.value("concurrency", ""));
  if (!concurrency) return blocks::errors::MalformedRequest("invalid concurrency option");
  auto consistency = ParseConsistency(value.value("consistency", ""));
  if (!consistency) return blocks::errors::MalformedRequest("invalid consistency option");
  options.concurrency = *concurrency;
  options.consistency = *consistency;
  return options;
}

// One state item from its JSON object; the value is kept as compact JSON text.
ApiResult<StateItem> ParseItem(const json& object, const state::Metadata& query_metadata,
                               bool needs_value) {
  if (!object.is_object()) return blocks::errors::MalformedRequest("state item must be an object");
  auto key = object.find("key");
  if (key == object.end() || !key->is_string()) {
    return blocks::errors::MalformedRequest("\"key\" is a required field");
  }
  StateItem item;
  item.key = key->get<std::string>();
  if (needs_value) {
    auto value = object.find("value");
    item.value = value == object.end() ? "null" : Dump(*value);
  }
  if (auto etag = object.find("etag"); etag != object.end() && !etag->is_null()) {
    item.etag = etag->is_string() ? etag->get<std::string>() : Dump(*etag);
  }
  auto metadata = ParseMetadata(object.value("metadata", json()));
  if (!metadata.ok()) return metadata.take_error();
  item.metadata = std::move(metadata).value();
  for (const auto& [k, v] : query_metadata) item.metadata[k] = v;
  auto options = ParseOptions(object.value("options", json()));
  if (!options.ok()) return options.take_error();
  item.options = *options;
  return item;
}

// Stored bytes that are JSON are embedded as JSON; anything else as a JSON string.
json EmbedData(const std::string& data) {
  json parsed = json::parse(data, nullptr, false);
  if (!parsed.is_discarded()) return parsed;
  return data;
}

// The items of a save body, or the error that makes it malformed.
ApiResult<std::vector<StateItem>> ParseSaveBody(const HttpRequest& request) {
  return http::ParseSaveBody(request.body, request.MetadataParams());
}

HttpResponse Saved(const blocks::ApiResult<blocks::Done>& result) {
  return result.ok() ? NoContent() : ErrorResponse(result.error());
}

HttpResponse SaveState(const blocks::StateBlock& block, const HttpRequest& request) {
  auto items = ParseSaveBody(request);
  if (!items.ok()) return ErrorResponse(items.error());
  return Saved(block.Save(request.params.at("storeName"), std::move(items).value()));
}

HttpResponse GotState(blocks::ApiResult<state::GetResponse> result) {
  if (!result.ok()) return ErrorResponse(result.error());
  if (!result->found) return NoContent();
  HttpResponse response{200, "application/json", {}, std::move(result->data)};
  if (result->etag) response.headers.emplace_back("ETag", *result->etag);
  for (const auto& [key, value] : result->metadata) {
    response.headers.emplace_back("metadata." + key, value);
  }
  return response;
}

// GET and single saves are the hot calls: they go to the block's non-blocking path, which
// uses the store's event-loop client when it has one and the worker pool otherwise.
void GetStateAsync(const blocks::StateBlock& block, std::shared_ptr<HttpRequest> request,
                   Responder respond) {
  auto consistency = ParseConsistency(request->QueryParam("consistency").value_or(""));
  if (!consistency) {
    return respond(ErrorResponse(blocks::errors::MalformedRequest("invalid consistency")));
  }
  block.GetAsync(request->params.at("storeName"), request->params.at("key"), *consistency,
                 request->MetadataParams(),
                 [respond = std::move(respond)](blocks::ApiResult<state::GetResponse> result) {
                   respond(GotState(std::move(result)));
                 });
}

// Bodies this small parse in microseconds on the event loop; larger ones parse on a worker.
constexpr size_t kInlineParseLimit = 64 * 1024;

void SaveStateAsync(const blocks::StateBlock& block, WorkerPool& pool,
                    std::shared_ptr<HttpRequest> request, Responder respond) {
  if (request->body.size() > kInlineParseLimit) {
    pool.Post([&block, request = std::move(request), respond = std::move(respond)] {
      respond(SaveState(block, *request));
    });
    return;
  }
  auto items = ParseSaveBody(*request);
  if (!items.ok()) return respond(ErrorResponse(items.error()));
  block.SaveAsync(request->params.at("storeName"), std::move(items).value(),
                  [respond = std::move(respond)](blocks::ApiResult<blocks::Done> result) {
                    respond(Saved(result));
                  });
}

HttpResponse DeleteState(const blocks::StateBlock& block, const HttpRequest& request) {
  StateItem item;
  item.key = request.params.at("key");
  if (auto etag = request.Header("if-match")) item.etag = std::string(*etag);
  auto concurrency = ParseConcurrency(request.QueryParam("concurrency").value_or(""));
  auto consistency = ParseConsistency(request.QueryParam("consistency").value_or(""));
  if (!concurrency || !consistency) {
    return ErrorResponse(blocks::errors::MalformedRequest("invalid concurrency or consistency"));
  }
  item.options = {*concurrency, *consistency};
  item.metadata = request.MetadataParams();
  auto result = block.Delete(request.params.at("storeName"), std::move(item));
  return result.ok() ? NoContent() : ErrorResponse(result.error());
}

HttpResponse BulkGetState(const blocks::StateBlock& block, const HttpRequest& request) {
  auto body = ParseBody(request.body);
  if (!body.ok()) return ErrorResponse(body.error());
  if (!body->is_object()) return ErrorResponse(blocks::errors::MalformedRequest("expected an object"));
  std::vector<std::string> keys;
  for (const auto& key : body->value("keys", json::array())) {
    if (!key.is_string()) return ErrorResponse(blocks::errors::MalformedRequest("keys must be strings"));
    keys.push_back(key.get<std::string>());
  }
  auto metadata = ParseMetadata(body->value("metadata", json()));
  if (!metadata.ok()) return ErrorResponse(metadata.error());
  for (const auto& [k, v] : request.MetadataParams()) (*metadata)[k] = v;

  auto items = block.BulkGet(request.params.at("storeName"), keys, *metadata);
  if (!items.ok()) return ErrorResponse(items.error());
  json out = json::array();
  for (auto& item : *items) {
    json entry = {{"key", item.key}};
    if (item.response.found) {
      entry["data"] = EmbedData(item.response.data);
      if (item.response.etag) entry["etag"] = *item.response.etag;
      if (!item.response.metadata.empty()) entry["metadata"] = item.response.metadata;
    }
    if (!item.error.empty()) entry["error"] = item.error;
    out.push_back(std::move(entry));
  }
  return JsonResponse(200, Dump(out));
}

HttpResponse Transaction(const blocks::StateBlock& block, const HttpRequest& request) {
  auto body = ParseBody(request.body);
  if (!body.ok()) return ErrorResponse(body.error());
  if (!body->is_object()) return ErrorResponse(blocks::errors::MalformedRequest("expected an object"));
  auto metadata = ParseMetadata(body->value("metadata", json()));
  if (!metadata.ok()) return ErrorResponse(metadata.error());
  auto query_metadata = request.MetadataParams();
  for (const auto& [k, v] : query_metadata) (*metadata)[k] = v;

  std::vector<blocks::StateTransactionOp> operations;
  const json& ops = body->value("operations", json::array());
  if (!ops.is_array()) return ErrorResponse(blocks::errors::MalformedRequest("operations must be an array"));
  for (const auto& op : ops) {
    if (!op.is_object()) return ErrorResponse(blocks::errors::MalformedRequest("operation must be an object"));
    std::string kind = op.value("operation", "");
    auto item = ParseItem(op.value("request", json::object()), query_metadata, kind == "upsert");
    if (!item.ok()) return ErrorResponse(item.error());
    operations.push_back({std::move(kind), std::move(item).value()});
  }
  auto result = block.Transact(request.params.at("storeName"), std::move(operations), *metadata);
  return result.ok() ? NoContent() : ErrorResponse(result.error());
}

HttpResponse QueryState(const blocks::StateBlock& block, const HttpRequest& request) {
  auto result = block.Query(request.params.at("storeName"), request.body, request.MetadataParams());
  if (!result.ok()) return ErrorResponse(result.error());
  if (result->results.empty()) return NoContent();
  json results = json::array();
  for (auto& item : result->results) {
    json entry = {{"key", item.key}, {"data", EmbedData(item.data)}};
    if (!item.etag.empty()) entry["etag"] = item.etag;
    results.push_back(std::move(entry));
  }
  json out = {{"results", std::move(results)}};
  if (!result->token.empty()) out["token"] = result->token;
  return JsonResponse(200, Dump(out));
}

}  // namespace

void AddStateRoutes(Router& router, const blocks::StateBlock& block, WorkerPool& pool) {
  auto bind = [&block, &pool](HttpResponse (*fn)(const blocks::StateBlock&, const HttpRequest&)) {
    return Offload(pool, [&block, fn](const HttpRequest& r) { return fn(block, r); });
  };
  router.Add({"POST", "PUT"}, "/v1.0/state/{storeName}/bulk", bind(BulkGetState));
  router.Add({"POST", "PUT"}, "/v1.0/state/{storeName}/transaction", bind(Transaction));
  router.Add({"POST", "PUT"}, "/v1.0/state/{storeName}",
             [&block, &pool](std::shared_ptr<HttpRequest> request, Responder respond) {
               SaveStateAsync(block, pool, std::move(request), std::move(respond));
             });
  router.Add({"GET"}, "/v1.0/state/{storeName}/{key}",
             [&block](std::shared_ptr<HttpRequest> request, Responder respond) {
               GetStateAsync(block, std::move(request), std::move(respond));
             });
  router.Add({"DELETE"}, "/v1.0/state/{storeName}/{key}", bind(DeleteState));
  router.Add({"POST", "PUT"}, "/v1.0-alpha1/state/{storeName}/query", bind(QueryState));
}

}  // namespace dapr::http
