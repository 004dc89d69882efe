#include "channel/http_verb.h"

namespace dapr::channel {

using proto::common::v1::HTTPExtension;

HTTPExtension::Verb VerbToWire(const std::string& verb) {
  HTTPExtension::Verb out = HTTPExtension::NONE;
  if (!HTTPExtension::Verb_Parse(verb, &out) || out == HTTPExtension::NONE)
    return HTTPExtension::POST;
  return out;
}

std::string VerbFromWire(HTTPExtension::Verb verb) {
  return verb == HTTPExtension::NONE ? "POST" : HTTPExtension::Verb_Name(verb);
}

}  // namespace dapr::channel
