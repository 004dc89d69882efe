// HTTP adapters for service invocation: the verb, method path, query, headers and body go
// to the app as they came; the app's status, headers and body come back as they are.
#include "api/http/error_response.h"
#include "api/http/routes.h"
#include "blocks/invocation/invocation_block.h"

namespace dapr::http {
namespace {

// Headers that concern the hop to this sidecar, not the app: never forwarded. (Framing
// headers are the channel's to set; content-type travels apart.)
bool IsSidecarHeader(std::string_view name) {
  return name == "dapr-api-token" || name == "dapr-app-id" || name == "expect" ||
         name == "content-type" || channel::IsFramingHeader(name);
}

// The method part of the raw path, kept encoded (the app decodes it, as it would from a
// direct call). Control characters and ".." segments are refused: the method must not
// escape the app's path space.
std::optional<std::string> MethodPath(std::string_view raw) {
  while (!raw.empty() && raw.front() == '/') raw.remove_prefix(1);
  for (char c : raw) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return std::nullopt;
  }
  for (std::string_view segment : SplitPath(raw)) {
    if (segment == ".." || segment == "%2e%2e" || segment == "%2E%2E") return std::nullopt;
  }
  return std::string(raw);
}

void Invoke(const blocks::InvocationBlock& block, std::string_view target, std::string_view method,
            std::shared_ptr<HttpRequest> request, Responder respond) {
  auto path = MethodPath(method);
  if (!path) {
    return respond(ErrorResponse(blocks::errors::BadRequest("invalid method path")));
  }
  channel::AppRequest call;
  call.verb = request->method;
  call.method = std::move(*path);
  call.query = std::move(request->query);
  if (auto type = request->Header("content-type")) call.content_type = std::string(*type);
  for (auto& [name, value] : request->headers) {
    if (!IsSidecarHeader(name)) call.headers.emplace_back(std::move(name), std::move(value));
  }
  call.body = std::move(request->body);
  call.body_reader = std::move(request->body_reader);
  call.stream_response = true;  // an HTTP caller takes a large answer as it comes
  block.Invoke(target, std::move(call),
               [respond = std::move(respond)](blocks::ApiResult<channel::AppResponse> result) {
                 if (!result.ok()) return respond(ErrorResponse(result.error()));
                 auto& app = *result;
                 respond(HttpResponse{app.status, std::move(app.content_type),
                                      std::move(app.headers), std::move(app.body),
                                      std::move(app.body_reader)});
               });
}

// The raw text after "/method/" in /v1.0/invoke/{id}/method/...
std::string_view RawMethodOf(std::string_view path) {
  size_t at = path.find("/method/");
  return at == std::string_view::npos ? std::string_view() : path.substr(at + 8);
}

// "/v1.0/invoke/http(s)://host[:port][/base]/method/<method>" -> {URL, method}.
std::optional<std::pair<std::string_view, std::string_view>> SplitUrlTarget(std::string_view path) {
  constexpr std::string_view kPrefix = "/v1.0/invoke/";
  if (path.rfind(kPrefix, 0) != 0) return std::nullopt;
  std::string_view rest = path.substr(kPrefix.size());
  size_t scheme_end = rest.find("://");
  if (rest.rfind("http://", 0) != 0 && rest.rfind("https://", 0) != 0) return std::nullopt;
  size_t method = rest.find("/method/", scheme_end + 3);
  if (method == std::string_view::npos) return std::nullopt;
  return std::pair{rest.substr(0, method), rest.substr(method + 8)};
}

}  // namespace

void AddInvokeRoutes(Router& router, const blocks::InvocationBlock& block) {
  router.Add({}, "/v1.0/invoke/{id}/method/{method*}",
             [&block](std::shared_ptr<HttpRequest> request, Responder respond) {
               // A dapr-app-id header wins, and then the whole path is the method (as Dapr).
               if (auto header = request->Header("dapr-app-id")) {
                 std::string target(*header);
                 std::string path = request->path;
                 return Invoke(block, target, path, std::move(request), std::move(respond));
               }
               std::string target = request->params.at("id");
               std::string method(RawMethodOf(request->path));
               Invoke(block, target, method, std::move(request), std::move(respond));
             },
             BodyMode::kStream);
  // A URL as the id (/v1.0/invoke/https://host:port/method/...): its slashes keep the
  // route above from matching; the id runs up to the first "/method/" after the host.
  router.Add({}, "/v1.0/invoke/{rest*}",
             [&block](std::shared_ptr<HttpRequest> request, Responder respond) {
               auto split = SplitUrlTarget(request->path);
               if (!split) return respond(ErrorResponse(blocks::errors::InvokeNoAppId()));
               auto [target, method] = *split;
               Invoke(block, std::string(target), method, std::move(request), std::move(respond));
             },
             BodyMode::kStream);
  router.SetFallback([&block](std::shared_ptr<HttpRequest> request, Responder respond) {
    auto header = request->Header("dapr-app-id");
    if (!header || header->empty()) {
      return respond(ErrorResponse(blocks::errors::InvokeNoAppId()));
    }
    std::string target(*header);
    std::string path = request->path;
    Invoke(block, target, path, std::move(request), std::move(respond));
  }, BodyMode::kStream);
}

}  // namespace dapr::http
