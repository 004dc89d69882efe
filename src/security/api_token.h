// Checks the dapr-api-token an app presents, in constant time, so the comparison leaks
// neither the token's content nor its length through timing.
#pragma once

#include <string>
#include <string_view>

namespace dapr::security {

class ApiToken {
 public:
  ApiToken() = default;
  explicit ApiToken(std::string token) : token_(std::move(token)) {}

  bool enabled() const { return !token_.empty(); }
  bool Matches(std::string_view presented) const;

 private:
  std::string token_;
};

}  // namespace dapr::security
