// UTF-8 validation (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF).
// Hand-written: the JSON parser on the state write path validates one character at a time,
// which cost more than the whole rest of the parse; this checks 8 ASCII bytes per step.
#pragma once

#include <string_view>

namespace dapr {

bool IsValidUtf8(std::string_view text);

}  // namespace dapr
