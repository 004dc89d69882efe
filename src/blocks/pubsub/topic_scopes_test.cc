#include "blocks/pubsub/topic_scopes.h"

#include <gtest/gtest.h>

namespace dapr::blocks::pubsub {
namespace {

TopicScopes Scopes(ComponentMetadata::Properties properties, std::string app = "app1") {
  return TopicScopes::FromMetadata(ComponentMetadata("p", "pubsub.in-memory", std::move(properties)), app);
}

TEST(TopicScopes, NoMetadataAllowsEverything) {
  auto scopes = Scopes({});
  EXPECT_TRUE(scopes.MayPublish("orders"));
  EXPECT_TRUE(scopes.MaySubscribe("orders"));
}

TEST(TopicScopes, AnAppWithAnEntryGetsOnlyItsTopics) {
  auto scopes = Scopes({{"publishingScopes", "app1=a, b;app2=c"}, {"subscriptionScopes", "app1="}});
  EXPECT_TRUE(scopes.MayPublish("a"));
  EXPECT_TRUE(scopes.MayPublish("b"));
  EXPECT_FALSE(scopes.MayPublish("c"));
  EXPECT_FALSE(scopes.MaySubscribe("a"));  // an empty entry: nothing
  auto other = Scopes({{"publishingScopes", "app2=c"}});
  EXPECT_TRUE(other.MayPublish("anything"));  // app1 has no entry
}

TEST(TopicScopes, AllowedTopicsBoundEveryone) {
  auto scopes = Scopes({{"allowedTopics", "a,b"}, {"publishingScopes", "app1=a,z"}});
  EXPECT_TRUE(scopes.MayPublish("a"));
  EXPECT_FALSE(scopes.MayPublish("z"));  // scoped, but not an allowed topic
  EXPECT_TRUE(scopes.MaySubscribe("b"));
  EXPECT_FALSE(scopes.MaySubscribe("c"));
}

TEST(TopicScopes, ProtectedTopicsNeedAScope) {
  auto scopes = Scopes({{"protectedTopics", "secret"}, {"subscriptionScopes", "app1=secret"}});
  EXPECT_FALSE(scopes.MayPublish("secret"));
  EXPECT_TRUE(scopes.MayPublish("open"));
  EXPECT_TRUE(scopes.MaySubscribe("secret"));
}

}  // namespace
}  // namespace dapr::blocks::pubsub
