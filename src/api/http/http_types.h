// Transport-neutral HTTP request and response as the route adapters see them, so that
// adapters never touch Beast (and compile quickly).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/body_reader.h"

namespace dapr::http {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method;  // upper case, e.g. "GET"
  std::string path;    // raw path without the query string
  std::string query;   // raw query string without '?'
  HeaderList headers;  // names lower-cased
  std::string body;
  // Set instead of `body` for a large body on a route that takes it as a stream (Router:
  // BodyMode::kStream): the bytes are still on the connection, read as the handler asks.
  std::shared_ptr<BodyReader> body_reader;
  std::map<std::string, std::string> params;  // filled by the router, URL-decoded

  std::optional<std::string_view> Header(std::string_view lower_name) const;
  // Decoded query parameters in order (repeated names kept).
  std::vector<std::pair<std::string, std::string>> QueryParams() const;
  std::optional<std::string> QueryParam(std::string_view name) const;
  // Every "metadata.<key>=<value>" query parameter as key -> value (first value wins).
  std::map<std::string, std::string> MetadataParams() const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type;  // empty: none
  HeaderList headers;
  std::string body;
  // Set instead of `body` to send a large body as it comes (with Content-Length when the
  // reader knows it, else chunked).
  std::shared_ptr<BodyReader> body_reader = nullptr;
};

using Responder = std::function<void(HttpResponse)>;
using Handler = std::function<void(std::shared_ptr<HttpRequest>, Responder)>;

// Percent-decoding; '+' is a space only in query strings. nullopt on a bad escape.
std::optional<std::string> UrlDecode(std::string_view text, bool plus_is_space);

HttpResponse NoContent();
HttpResponse JsonResponse(int status, std::string body);

}  // namespace dapr::http
