#include "api/http/http_types.h"

#include "common/hex.h"

namespace dapr::http {
std::optional<std::string> UrlDecode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size()) return std::nullopt;
      int hi = HexDigitValue(text[i + 1]);
      int lo = HexDigitValue(text[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::optional<std::string_view> HttpRequest::Header(std::string_view lower_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_name) return std::string_view(value);
  }
  return std::nullopt;
}

std::vector<std::pair<std::string, std::string>> HttpRequest::QueryParams() const {
  std::vector<std::pair<std::string, std::string>> out;
  std::string_view rest = query;
  while (!rest.empty()) {
    size_t amp = rest.find('&');
    std::string_view part = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    if (part.empty()) continue;
    size_t eq = part.find('=');
    auto name = UrlDecode(part.substr(0, eq), true);
    auto value = UrlDecode(eq == std::string_view::npos ? "" : part.substr(eq + 1), true);
    if (name && value) out.emplace_back(std::move(*name), std::move(*value));
  }
  return out;
}

std::optional<std::string> HttpRequest::QueryParam(std::string_view name) const {
  for (auto& [key, value] : QueryParams()) {
    if (key == name) return value;
  }
  return std::nullopt;
}

std::map<std::string, std::string> HttpRequest::MetadataParams() const {
  constexpr std::string_view kPrefix = "metadata.";
  std::map<std::string, std::string> out;
  for (auto& [key, value] : QueryParams()) {
    if (key.size() > kPrefix.size() && key.compare(0, kPrefix.size(), kPrefix) == 0) {
      out.try_emplace(key.substr(kPrefix.size()), value);
    }
  }
  return out;
}

HttpResponse NoContent() { return HttpResponse{204, "", {}, ""}; }

HttpResponse JsonResponse(int status, std::string body) {
  return HttpResponse{status, "application/json", {}, std::move(body)};
}

}  // namespace dapr::http
