#include "channel/internal_invoke.h"

#include "channel/http_verb.h"

#include <boost/beast/core/string.hpp>

namespace dapr::channel {
namespace {

namespace beast = boost::beast;

namespace common = ::dapr::proto::common::v1;
using StringListMap = google::protobuf::Map<std::string, internals::ListStringValue>;

void PutHeaders(HeaderList headers, StringListMap& out) {
  for (auto& [name, value] : headers) out[name].add_values(std::move(value));
}

// Several values of one header travel as a list; HTTP joins them with ", ".
HeaderList TakeHeaders(StringListMap& in) {
  HeaderList out;
  out.reserve(in.size());
  for (auto& [name, list] : in) {
    std::string joined;
    for (const auto& value : list.values()) {
      if (!joined.empty()) joined += ", ";
      joined += value;
    }
    out.emplace_back(name, std::move(joined));
  }
  return out;
}

// Digits only, and no more of them than a 64-bit size takes.
std::optional<uint64_t> ParseLength(const std::string& text) {
  if (text.empty() || text.size() > 19) return std::nullopt;
  uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<uint64_t>(c - '0');
  }
  return value;
}

}  // namespace

internals::InternalInvokeRequest ToInternalRequest(AppRequest request) {
  internals::InternalInvokeRequest out;
  out.set_ver(internals::V1);
  PutHeaders(std::move(request.headers), *out.mutable_metadata());
  auto* message = out.mutable_message();
  message->set_method(std::move(request.method));
  message->set_content_type(std::move(request.content_type));
  message->mutable_data()->set_value(std::move(request.body));
  auto* http = message->mutable_http_extension();
  http->set_verb(VerbToWire(request.verb));
  http->set_querystring(std::move(request.query));
  return out;
}

AppRequest FromInternalRequest(internals::InternalInvokeRequest& request) {
  AppRequest out;
  auto& message = *request.mutable_message();
  out.verb = VerbFromWire(message.http_extension().verb());
  out.method = std::move(*message.mutable_method());
  out.query = std::move(*message.mutable_http_extension()->mutable_querystring());
  out.content_type = std::move(*message.mutable_content_type());
  out.body = std::move(*message.mutable_data()->mutable_value());
  out.headers = TakeHeaders(*request.mutable_metadata());
  return out;
}

internals::InternalInvokeResponse ToInternalResponse(AppResponse response) {
  internals::InternalInvokeResponse out;
  out.mutable_status()->set_code(response.status);  // an HTTP app's status, as Dapr sends it
  PutHeaders(std::move(response.headers), *out.mutable_headers());
  auto* message = out.mutable_message();
  message->set_content_type(std::move(response.content_type));
  message->mutable_data()->set_value(std::move(response.body));
  return out;
}

AppResponse FromInternalResponse(internals::InternalInvokeResponse& response) {
  AppResponse out;
  out.status = response.status().code();
  out.headers = TakeHeaders(*response.mutable_headers());
  auto& message = *response.mutable_message();
  out.content_type = std::move(*message.mutable_content_type());
  out.body = std::move(*message.mutable_data()->mutable_value());
  return out;
}

void PutContentLength(uint64_t length, InternalMetadata& metadata) {
  auto& list = metadata["content-length"];
  list.clear_values();
  list.add_values(std::to_string(length));
}

std::optional<uint64_t> TakeContentLength(InternalMetadata& metadata) {
  std::optional<uint64_t> length;
  for (auto it = metadata.begin(); it != metadata.end();) {
    if (!beast::iequals(it->first, "content-length")) {
      ++it;
      continue;
    }
    const auto& values = it->second.values();
    if (!length && values.size() == 1) length = ParseLength(values[0]);
    it = metadata.erase(it);
  }
  return length;
}

}  // namespace dapr::channel
