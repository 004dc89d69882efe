// Standard base64 with padding (RFC 4648 §4, Go's StdEncoding), as CloudEvents'
// data_base64 and Dapr's bulk publish of binary entries use it. Through OpenSSL's EVP.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace dapr {

std::string Base64Encode(std::string_view bytes);
// None for text that is not padded standard base64 (whitespace is not accepted).
std::optional<std::string> Base64Decode(std::string_view text);

}  // namespace dapr
