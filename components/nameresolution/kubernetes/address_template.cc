// Parses and renders the Go text/template subset described in address_template.h.
#include "components/nameresolution/kubernetes/address_template.h"

namespace dapr::nameresolution {
namespace {

bool Blank(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// "{{- " and " -}}": Go trims the blanks of the text next to the action.
bool TrimsLeft(std::string_view action) {
  return action.size() >= 2 && action[0] == '-' && Blank(action[1]);
}
bool TrimsRight(std::string_view action) {
  return action.size() >= 2 && action.back() == '-' && Blank(action[action.size() - 2]);
}

std::string_view TrimAction(std::string_view action) {
  if (TrimsLeft(action)) action.remove_prefix(1);
  if (TrimsRight(action)) action.remove_suffix(1);
  while (!action.empty() && Blank(action.front())) action.remove_prefix(1);
  while (!action.empty() && Blank(action.back())) action.remove_suffix(1);
  return action;
}

bool IsIdentifier(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok) return false;
  }
  return !(name[0] >= '0' && name[0] <= '9');
}

}  // namespace

Result<AddressTemplate::Piece> AddressTemplate::ParseAction(std::string_view action) {
  std::string_view field = TrimAction(action);
  if (field == ".ID") return Piece{Kind::kId, ""};
  if (field == ".Namespace") return Piece{Kind::kNamespace, ""};
  if (field == ".Port") return Piece{Kind::kPort, ""};
  constexpr std::string_view kData = ".Data.";
  if (field.substr(0, kData.size()) == kData && IsIdentifier(field.substr(kData.size()))) {
    return Piece{Kind::kData, std::string(field.substr(kData.size()))};
  }
  return InvalidArgument("nameresolution.kubernetes: template: unsupported action {{" +
                         std::string(action) +
                         "}} (use {{.ID}}, {{.Namespace}}, {{.Port}} or {{.Data.key}})");
}

// "{{- " also trims the blanks that the text before the action ends with.
Status AddressTemplate::AddAction(std::string_view action) {
  auto piece = ParseAction(action);
  if (!piece.ok()) return piece.error();
  if (TrimsLeft(action) && !pieces_.empty() && pieces_.back().kind == Kind::kLiteral) {
    std::string& before = pieces_.back().text;
    while (!before.empty() && Blank(before.back())) before.pop_back();
  }
  pieces_.push_back(std::move(piece).value());
  return Status::Ok();
}

Result<AddressTemplate> AddressTemplate::Parse(std::string_view text) {
  AddressTemplate parsed;
  size_t at = 0;
  while (at < text.size()) {
    size_t open = text.find("{{", at);
    if (open == std::string_view::npos) open = text.size();
    if (open > at)
      parsed.pieces_.push_back({Kind::kLiteral, std::string(text.substr(at, open - at))});
    if (open == text.size()) break;
    size_t close = text.find("}}", open + 2);
    if (close == std::string_view::npos) {
      return InvalidArgument("nameresolution.kubernetes: template: unclosed {{ in \"" +
                             std::string(text) + "\"");
    }
    std::string_view action = text.substr(open + 2, close - open - 2);
    Status added = parsed.AddAction(action);
    if (!added.ok()) return added;
    at = close + 2;
    if (TrimsRight(action)) {
      while (at < text.size() && Blank(text[at])) ++at;
    }
  }
  return parsed;
}

std::string AddressTemplate::Render(const TemplateValues& values) const {
  std::string out;
  for (const Piece& piece : pieces_) {
    switch (piece.kind) {
      case Kind::kLiteral:
        out += piece.text;
        break;
      case Kind::kId:
        out += values.id;
        break;
      case Kind::kNamespace:
        out += values.app_namespace;
        break;
      case Kind::kPort:
        out += std::to_string(values.port);
        break;
      // What Go's text/template prints for a key missing from a map.
      case Kind::kData:
        out += "<no value>";
        break;
    }
  }
  return out;
}

}  // namespace dapr::nameresolution
