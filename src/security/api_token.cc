#include "security/api_token.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

namespace dapr::security {

bool ApiToken::Matches(std::string_view presented) const {
  if (token_.empty()) return true;
  // Comparing fixed-size digests keeps the time independent of where, or whether in
  // length, the presented token differs.
  unsigned char expected[SHA256_DIGEST_LENGTH];
  unsigned char actual[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(token_.data()), token_.size(), expected);
  SHA256(reinterpret_cast<const unsigned char*>(presented.data()), presented.size(), actual);
  return CRYPTO_memcmp(expected, actual, SHA256_DIGEST_LENGTH) == 0;
}

}  // namespace dapr::security
