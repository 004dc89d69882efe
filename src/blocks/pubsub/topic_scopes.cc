#include "blocks/pubsub/topic_scopes.h"

#include <algorithm>
#include <cctype>

namespace dapr::blocks::pubsub {
namespace {

std::string Trim(std::string_view text) {
  auto blank = [](unsigned char c) { return std::isspace(c) != 0; };
  while (!text.empty() && blank(text.front())) text.remove_prefix(1);
  while (!text.empty() && blank(text.back())) text.remove_suffix(1);
  return std::string(text);
}

std::set<std::string> CommaList(std::string_view text) {
  std::set<std::string> out;
  while (!text.empty()) {
    size_t comma = text.find(',');
    std::string item = Trim(text.substr(0, comma));
    if (!item.empty()) out.insert(std::move(item));
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

// "app1=t1,t2;app2=t3" -> app_id's topics, when app_id has an entry.
std::optional<std::set<std::string>> ScopesOf(std::string_view text, std::string_view app_id) {
  while (!text.empty()) {
    size_t semicolon = text.find(';');
    std::string_view entry = text.substr(0, semicolon);
    size_t equals = entry.find('=');
    if (equals != std::string_view::npos && Trim(entry.substr(0, equals)) == app_id) {
      return CommaList(entry.substr(equals + 1));
    }
    if (semicolon == std::string_view::npos) break;
    text.remove_prefix(semicolon + 1);
  }
  return std::nullopt;
}

}  // namespace

TopicScopes TopicScopes::FromMetadata(const ComponentMetadata& metadata, std::string_view app_id) {
  TopicScopes scopes;
  scopes.allowed_ = CommaList(metadata.GetOr("allowedTopics", ""));
  scopes.protected_ = CommaList(metadata.GetOr("protectedTopics", ""));
  scopes.publishing_ = ScopesOf(metadata.GetOr("publishingScopes", ""), app_id);
  scopes.subscribing_ = ScopesOf(metadata.GetOr("subscriptionScopes", ""), app_id);
  return scopes;
}

bool TopicScopes::Allowed(const std::string& topic, const std::optional<std::set<std::string>>& scoped) const {
  if (!allowed_.empty() && !allowed_.count(topic)) return false;
  if (scoped) return scoped->count(topic) > 0;
  return !protected_.count(topic);
}

}  // namespace dapr::blocks::pubsub
