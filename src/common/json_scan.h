// Quick reads of JSON text that build no tree, for hot paths where only a yes/no or a few
// top-level fields are needed (RapidJSON's SAX reader, iterative: no recursion, whatever
// the nesting; UTF-8 validated, like nlohmann's parser). The rest of the code keeps
// nlohmann::json.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dapr::json_scan {

// True when text is exactly one JSON value (blanks around it allowed).
bool IsJson(std::string_view text);

using Fields = std::vector<std::pair<std::string, std::string>>;

// When text is a JSON object: its top-level members named in `wanted` whose values are
// strings, in document order. Nothing when text is not (exactly) one JSON object.
std::optional<Fields> TopLevelStrings(std::string_view text, const std::vector<std::string_view>& wanted);

}  // namespace dapr::json_scan
