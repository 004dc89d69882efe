// Subscriptions from /dapr/subscribe and from Subscription resources, and how an event is
// routed by their rules.
#include "blocks/pubsub/subscription.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace dapr::blocks::pubsub {
namespace {

using Json = nlohmann::json;

TEST(ProgrammaticSubscriptions, V1RouteAndV2RulesInOneAnswer) {
  auto parsed = ParseProgrammaticSubscriptions(R"([
    {"pubsubname":"pubsub","topic":"orders","route":"/orders","metadata":{"rawPayload":"true"},
     "deadLetterTopic":"poison","bulkSubscribe":{"enabled":true,"maxMessagesCount":10,"maxAwaitDurationMs":40}},
    {"pubsubname":"pubsub","topic":"products","routes":{"rules":[
       {"match":"event.type == \"widget\"","path":"/widgets"},
       {"match":"event.type == \"gadget\"","path":"gadgets"}],"default":"/products"}}])");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  ASSERT_EQ(parsed->size(), 2u);
  const Subscription& orders = (*parsed)[0];
  EXPECT_EQ(orders.pubsub_name, "pubsub");
  EXPECT_EQ(orders.topic, "orders");
  ASSERT_EQ(orders.rules.size(), 1u);
  EXPECT_FALSE(orders.rules[0].match.has_value());
  EXPECT_EQ(orders.rules[0].path, "/orders");
  EXPECT_EQ(orders.metadata.at("rawPayload"), "true");
  EXPECT_EQ(orders.dead_letter_topic, "poison");
  EXPECT_TRUE(orders.bulk.enabled);
  EXPECT_EQ(orders.bulk.max_messages_count, 10);
  EXPECT_EQ(orders.bulk.max_await_duration_ms, 40);
  const Subscription& products = (*parsed)[1];
  ASSERT_EQ(products.rules.size(), 3u);
  EXPECT_EQ(products.rules[1].path, "/gadgets");  // a leading slash is added
  EXPECT_FALSE(products.rules[2].match.has_value());
  EXPECT_EQ(products.rules[2].path, "/products");
  EXPECT_FALSE(products.bulk.enabled);
}

TEST(ProgrammaticSubscriptions, ASubscriptionWithoutAnyRouteIsLeftOutAndNamed) {
  std::vector<std::string> skipped;
  auto parsed = ParseProgrammaticSubscriptions(
      R"([{"pubsubname":"pubsub","topic":"lost"},{"pubsubname":"pubsub","topic":"kept","route":"/k"}])", &skipped);
  ASSERT_TRUE(parsed.ok());
  ASSERT_EQ(parsed->size(), 1u);
  EXPECT_EQ((*parsed)[0].topic, "kept");
  EXPECT_EQ(skipped, std::vector<std::string>{"pubsub/lost"});
}

TEST(ProgrammaticSubscriptions, BadAnswersAreErrorsThatSayWhy) {
  struct Case {
    const char* json;
    const char* says;
  };
  for (const Case& c : {Case{"{}", "not a JSON array"}, Case{"not json", "not a JSON array"},
                        Case{R"([{"topic":"t","route":"/r"}])", "no pubsubname"},
                        Case{R"([{"pubsubname":"p","route":"/r"}])", "no topic"},
                        Case{R"([42])", "not a JSON object"},
                        Case{R"([{"pubsubname":"p","topic":"t","routes":{"rules":[{"match":"event.type = 1","path":"/x"}]}}])",
                             "event.type = 1"}}) {
    auto parsed = ParseProgrammaticSubscriptions(c.json);
    ASSERT_FALSE(parsed.ok()) << c.json;
    EXPECT_NE(parsed.error().message().find(c.says), std::string::npos) << parsed.error().message();
  }
}

TEST(SubscriptionResource, V2alpha1WithRulesScopesAndBulk) {
  YAML::Node doc = YAML::Load(R"(
apiVersion: dapr.io/v2alpha1
kind: Subscription
metadata:
  name: products
spec:
  pubsubname: pubsub
  topic: inventory
  routes:
    rules:
      - match: event.type == "widget"
        path: /widgets
    default: /products
  deadLetterTopic: dead
  metadata:
    rawPayload: "true"
  bulkSubscribe:
    enabled: true
    maxMessagesCount: 5
scopes:
  - app1
  - app2
)");
  auto parsed = ParseSubscriptionResource(doc, "subs.yaml");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  EXPECT_EQ(parsed->name, "products");
  EXPECT_EQ(parsed->topic, "inventory");
  ASSERT_EQ(parsed->rules.size(), 2u);
  EXPECT_TRUE(parsed->rules[0].match.has_value());
  EXPECT_EQ(parsed->rules[1].path, "/products");
  EXPECT_EQ(parsed->dead_letter_topic, "dead");
  EXPECT_EQ(parsed->metadata.at("rawPayload"), "true");
  EXPECT_TRUE(parsed->bulk.enabled);
  EXPECT_EQ(parsed->bulk.max_messages_count, 5);
  EXPECT_EQ(parsed->bulk.max_await_duration_ms, 1000);
  EXPECT_EQ(parsed->scopes, (std::vector<std::string>{"app1", "app2"}));
}

TEST(SubscriptionResource, V1alpha1Route) {
  YAML::Node doc = YAML::Load(
      "apiVersion: dapr.io/v1alpha1\nkind: Subscription\nmetadata: {name: s}\n"
      "spec: {pubsubname: pubsub, topic: orders, route: /checkout}\n");
  auto parsed = ParseSubscriptionResource(doc, "s.yaml");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  ASSERT_EQ(parsed->rules.size(), 1u);
  EXPECT_EQ(parsed->rules[0].path, "/checkout");
  EXPECT_TRUE(parsed->scopes.empty());
}

TEST(SubscriptionResource, ErrorsNameTheResourceAndTheField) {
  struct Case {
    const char* yaml;
    const char* says;
  };
  for (const Case& c :
       {Case{"metadata: {name: a}\nspec: {topic: t, route: /r}\n", "spec.pubsubname"},
        Case{"metadata: {name: a}\nspec: {pubsubname: p, route: /r}\n", "spec.topic"},
        Case{"metadata: {name: a}\nspec: {pubsubname: p, topic: t}\n", "neither spec.route nor spec.routes"},
        Case{"metadata: {name: a}\n", "spec is missing"},
        Case{"metadata: {name: a}\nspec: {pubsubname: p, topic: t, routes: {rules: [{match: 'event.type +', path: /x}]}}\n",
             "event.type +"},
        Case{"metadata: {name: a}\nspec: {pubsubname: p, topic: t, route: /r, bulkSubscribe: {enabled: maybe}}\n",
             "subscription a"}}) {
    auto parsed = ParseSubscriptionResource(YAML::Load(c.yaml), "bad.yaml");
    ASSERT_FALSE(parsed.ok()) << c.yaml;
    EXPECT_NE(parsed.error().message().find(c.says), std::string::npos) << parsed.error().message();
    EXPECT_NE(parsed.error().message().find("bad.yaml"), std::string::npos) << parsed.error().message();
  }
}

TEST(RouteFor, TheFirstMatchingRuleWinsAndTheDefaultCatchesTheRest) {
  auto parsed = ParseProgrammaticSubscriptions(R"([{"pubsubname":"p","topic":"t","routes":{"rules":[
      {"match":"event.data.amount > 100","path":"/big"},
      {"match":"event.type == \"widget\"","path":"/widgets"}],"default":"/other"}}])");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  const Subscription& s = (*parsed)[0];
  EXPECT_EQ(RouteFor(s, Json::parse(R"({"type":"widget","data":{"amount":500}})")), "/big");
  EXPECT_EQ(RouteFor(s, Json::parse(R"({"type":"widget","data":{"amount":5}})")), "/widgets");
  EXPECT_EQ(RouteFor(s, Json::parse(R"({"type":"gadget","data":{"amount":5}})")), "/other");
  // No amount: the first rule cannot be evaluated, so it does not match; the next ones are tried.
  EXPECT_EQ(RouteFor(s, Json::parse(R"({"type":"widget","data":{}})")), "/widgets");
}

TEST(RouteFor, WithoutADefaultAnEventNoRuleMatchesHasNoRoute) {
  auto parsed = ParseProgrammaticSubscriptions(
      R"([{"pubsubname":"p","topic":"t","routes":{"rules":[{"match":"event.type == \"a\"","path":"/a"}]}}])");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  EXPECT_EQ(RouteFor((*parsed)[0], Json::parse(R"({"type":"b"})")), std::nullopt);
  EXPECT_EQ(RouteFor((*parsed)[0], Json::parse(R"({"type":"a"})")), "/a");
}

TEST(RouteFor, AnEmptyMatchMatchesEveryEvent) {
  auto parsed = ParseProgrammaticSubscriptions(
      R"([{"pubsubname":"p","topic":"t","routes":{"rules":[{"match":"","path":"/all"}],"default":"/never"}}])");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  EXPECT_EQ(RouteFor((*parsed)[0], Json::parse(R"({"type":"x"})")), "/all");
}

}  // namespace
}  // namespace dapr::blocks::pubsub
