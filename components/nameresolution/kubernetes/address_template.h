// The `template` of nameresolution.kubernetes: Dapr lets users replace the Kubernetes
// service name with a Go text/template over its ResolveRequest ({{.ID}}, {{.Namespace}},
// {{.Port}}, {{.Data.key}}). We accept exactly those field references, so a template written
// for Dapr renders the same here, and refuse anything else (pipes, functions) at Init.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "dapr/status.h"

namespace dapr::nameresolution {

// What a template can refer to; Data stays empty (Dapr's runtime sends none either).
struct TemplateValues {
  std::string id;
  std::string app_namespace;
  int port = 0;
};

class AddressTemplate {
 public:
  static Result<AddressTemplate> Parse(std::string_view text);

  std::string Render(const TemplateValues& values) const;

 private:
  enum class Kind { kLiteral, kId, kNamespace, kPort, kData };
  struct Piece {
    Kind kind;
    std::string text;  // the literal, or the Data key
  };
  static Result<Piece> ParseAction(std::string_view action);
  Status AddAction(std::string_view action);

  std::vector<Piece> pieces_;
};

}  // namespace dapr::nameresolution
