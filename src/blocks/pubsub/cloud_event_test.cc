// The CloudEvent envelope of a publish: fields as Dapr sets them, the payload by content
// type, an existing CloudEvent completed, and the metadata overrides.
#include "blocks/pubsub/cloud_event.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <thread>
#include <vector>

namespace dapr::blocks::pubsub {
namespace {

using Json = nlohmann::json;

PublishContext Context(std::string content_type = "application/json") {
  PublishContext context;
  context.app_id = "orders";
  context.pubsub_name = "pubsub";
  context.topic = "new-orders";
  context.content_type = std::move(content_type);
  context.traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
  context.tracestate = "vendor=1";
  context.now = std::chrono::system_clock::time_point(std::chrono::seconds(1764770400));  // 2025-12-03T14:00:00Z
  context.id = "fixed-id";
  return context;
}

Json Build(std::string_view body, const PublishContext& context) {
  auto built = BuildCloudEvent(body, context);
  EXPECT_TRUE(built.ok()) << built.error().message();
  return built.ok() ? Json::parse(*built) : Json();
}

TEST(CloudEvent, ANewEnvelopeHasDaprsFields) {
  Json event = Build(R"({"orderId": 7})", Context());
  EXPECT_EQ(event["id"], "fixed-id");
  EXPECT_EQ(event["source"], "orders");
  EXPECT_EQ(event["type"], "com.dapr.event.sent");
  EXPECT_EQ(event["specversion"], "1.0");
  EXPECT_EQ(event["datacontenttype"], "application/json");
  EXPECT_EQ(event["topic"], "new-orders");
  EXPECT_EQ(event["pubsubname"], "pubsub");
  EXPECT_EQ(event["time"], "2025-12-03T14:00:00Z");
  EXPECT_EQ(event["traceid"], "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
  EXPECT_EQ(event["traceparent"], event["traceid"]);
  EXPECT_EQ(event["tracestate"], "vendor=1");
  EXPECT_FALSE(event.contains("expiration"));
}

TEST(CloudEvent, JsonIsNestedAsJson) {
  Json event = Build(R"({"orderId": 7, "items": ["a"]})", Context("application/json; charset=utf-8"));
  EXPECT_EQ(event["data"]["orderId"], 7);
  EXPECT_EQ(event["data"]["items"][0], "a");
  EXPECT_EQ(event["datacontenttype"], "application/json; charset=utf-8");
}

// The JSON payload is written into the envelope as it came: any JSON value, blanks around
// it kept, exactly one data field, and every other field still there.
TEST(CloudEvent, JsonDataOfAnyKindIsWrittenAsItCame) {
  for (const char* body : {"7", "\"text\"", "null", "[1, 2]", " \n {\"a\": {\"b\": [true]}} \n", "{}"}) {
    auto context = Context();
    context.metadata = {{"ttlInSeconds", "60"}, {"cloudevent.type", "custom"}};
    auto built = BuildCloudEvent(body, context);
    ASSERT_TRUE(built.ok()) << body;
    Json event = Json::parse(*built);  // the whole text is one valid JSON object
    EXPECT_EQ(event["data"], Json::parse(body)) << body;
    EXPECT_EQ(event["type"], "custom");
    EXPECT_EQ(event["expiration"], "2025-12-03T14:01:00Z");
    EXPECT_EQ(event["topic"], "new-orders");
    size_t fields = 0;
    for (size_t at = built->find("\"data\""); at != std::string::npos; at = built->find("\"data\"", at + 1)) ++fields;
    EXPECT_EQ(fields, std::string(body).find("data") == std::string::npos ? 1u : 2u) << *built;
  }
}

TEST(CloudEvent, JsonThatDoesNotParseBecomesAString) {
  Json event = Build("{not json", Context());
  EXPECT_EQ(event["data"], "{not json");
}

TEST(CloudEvent, TextIsAStringAndTheDefaultContentTypeIsTextPlain) {
  Json event = Build("hello", Context(""));
  EXPECT_EQ(event["data"], "hello");
  EXPECT_EQ(event["datacontenttype"], "text/plain");
  Json xml = Build("<a/>", Context("application/xml"));
  EXPECT_EQ(xml["data"], "<a/>");
}

TEST(CloudEvent, BytesGoInDataBase64WithPadding) {
  Json event = Build(std::string("\x00\xff\x10\x20", 4), Context("application/octet-stream"));
  EXPECT_FALSE(event.contains("data"));
  EXPECT_EQ(event["data_base64"], "AP8QIA==");
}

TEST(CloudEvent, TextThatIsNotUtf8IsReplacedNotRefused) {
  auto built = BuildCloudEvent(std::string("ok\xff", 3), Context("text/plain"));
  ASSERT_TRUE(built.ok());
  EXPECT_NE(Json::parse(*built)["data"].get<std::string>().find("ok"), std::string::npos);
}

TEST(CloudEvent, TextAndFieldsThatNeedEscapingStayTheirOwnStrings) {
  PublishContext context = Context("text/plain");
  context.metadata = {{"cloudevent.source", "a \"quoted\"\\source"}};
  context.tracestate = "tab\there";
  std::string body = "line one\nsaid \"hi\" \\ \x01 caf\xc3\xa9";
  Json event = Build(body, context);
  EXPECT_EQ(event["data"], body);
  EXPECT_EQ(event["source"], "a \"quoted\"\\source");
  EXPECT_EQ(event["tracestate"], "tab\there");
}

// The envelope is written field by field; its text is the one a sorted JSON object of the
// same fields prints, JSON data last as it came.
TEST(CloudEvent, TheEnvelopesTextIsTheSortedObjectWithJsonDataLast) {
  auto built = BuildCloudEvent(R"({"b": 1, "a": [true]})", Context());
  ASSERT_TRUE(built.ok());
  EXPECT_EQ(*built,
            R"({"datacontenttype":"application/json","id":"fixed-id","pubsubname":"pubsub","source":"orders",)"
            R"("specversion":"1.0","time":"2025-12-03T14:00:00Z","topic":"new-orders",)"
            R"("traceid":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",)"
            R"("traceparent":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01","tracestate":"vendor=1",)"
            R"("type":"com.dapr.event.sent","data":{"b": 1, "a": [true]}})");
  auto text = BuildCloudEvent("hello", Context("text/plain"));
  ASSERT_TRUE(text.ok());
  Json tree = Json::parse(*text);
  EXPECT_EQ(*text, tree.dump());  // nlohmann's object is sorted: data first
}

TEST(CloudEvent, AnExistingCloudEventKeepsItsFieldsAndGetsTopicAndPubsubOverwritten) {
  std::string body = R"({"id":"mine","source":"elsewhere","type":"order.created","specversion":"1.0",
                         "topic":"wrong","pubsubname":"wrong","data":{"x":1},"traceid":"t-1","tracestate":"s-1",
                         "custom":"kept"})";
  Json event = Build(body, Context("application/cloudevents+json"));
  EXPECT_EQ(event["id"], "mine");
  EXPECT_EQ(event["source"], "elsewhere");
  EXPECT_EQ(event["type"], "order.created");
  EXPECT_EQ(event["topic"], "new-orders");
  EXPECT_EQ(event["pubsubname"], "pubsub");
  EXPECT_EQ(event["data"]["x"], 1);
  EXPECT_EQ(event["traceid"], "t-1");  // its own trace is kept
  EXPECT_EQ(event["tracestate"], "s-1");
  EXPECT_EQ(event["custom"], "kept");
  EXPECT_EQ(event["time"], "2025-12-03T14:00:00Z");  // added: it had none
}

TEST(CloudEvent, AnExistingCloudEventGetsWhatItLacks) {
  Json event = Build(R"({"data":"x"})", Context("application/cloudevents+json"));
  EXPECT_EQ(event["id"], "fixed-id");
  EXPECT_EQ(event["source"], "Dapr");
  EXPECT_EQ(event["type"], "com.dapr.event.sent");
  EXPECT_EQ(event["specversion"], "1.0");
  EXPECT_EQ(event["traceid"], "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
  EXPECT_EQ(event["traceparent"], event["traceid"]);
}

TEST(CloudEvent, ACloudEventBodyThatIsNotAnObjectIsRefused) {
  for (std::string_view body : {"[1,2]", "{broken", "\"text\"", ""}) {
    auto built = BuildCloudEvent(body, Context("application/cloudevents+json"));
    ASSERT_FALSE(built.ok()) << body;
    EXPECT_EQ(built.error().code(), StatusCode::kInvalidArgument);
  }
}

TEST(CloudEvent, MetadataOverridesTheEnvelopeFieldsInAnyCase) {
  PublishContext context = Context();
  context.metadata = {{"cloudevent.id", "id-2"},
                      {"CloudEvent.Source", "src-2"},
                      {"cloudevent.type", "type-2"},
                      {"cloudevent.traceparent", "00-11111111111111111111111111111111-2222222222222222-01"},
                      {"cloudevent.tracestate", "st-2"}};
  Json event = Build("{}", context);
  EXPECT_EQ(event["id"], "id-2");
  EXPECT_EQ(event["source"], "src-2");
  EXPECT_EQ(event["type"], "type-2");
  EXPECT_EQ(event["traceparent"], "00-11111111111111111111111111111111-2222222222222222-01");
  EXPECT_EQ(event["traceid"], event["traceparent"]);
  EXPECT_EQ(event["tracestate"], "st-2");
}

TEST(CloudEvent, TtlAddsAnExpirationUnlessTheBrokerExpiresMessagesItself) {
  PublishContext context = Context();
  context.metadata = {{"ttlInSeconds", "90"}};
  EXPECT_EQ(Build("{}", context)["expiration"], "2025-12-03T14:01:30Z");
  context.broker_has_ttl = true;
  EXPECT_FALSE(Build("{}", context).contains("expiration"));
}

TEST(CloudEvent, ABadTtlIsRefused) {
  PublishContext context = Context();
  for (const char* bad : {"-1", "ten", "1.5", ""}) {
    context.metadata = {{"ttlInSeconds", bad}};
    auto built = BuildCloudEvent("{}", context);
    ASSERT_FALSE(built.ok()) << bad;
    EXPECT_NE(built.error().message().find("ttlInSeconds"), std::string::npos);
  }
}

TEST(CloudEvent, WithoutAGivenIdEachEventGetsAFreshUuid) {
  PublishContext context = Context();
  context.id.clear();
  std::set<std::string> ids;
  for (int i = 0; i < 50; ++i) ids.insert(Build("{}", context)["id"].get<std::string>());
  EXPECT_EQ(ids.size(), 50u);
}

TEST(CloudEvent, UuidsAreVersion4) {
  std::regex v4("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");
  for (int i = 0; i < 20; ++i) {
    std::string id = NewUuid();
    EXPECT_TRUE(std::regex_match(id, v4)) << id;
  }
}

// Each thread draws from a generator of its own, seeded apart: no two threads repeat ids.
TEST(CloudEvent, UuidsAreUniqueAcrossThreads) {
  std::vector<std::vector<std::string>> drawn(8);
  std::vector<std::thread> threads;
  for (auto& ids : drawn) {
    threads.emplace_back([&ids] {
      for (int i = 0; i < 2000; ++i) ids.push_back(NewUuid());
    });
  }
  for (auto& thread : threads) thread.join();
  std::set<std::string> all;
  for (const auto& ids : drawn) all.insert(ids.begin(), ids.end());
  EXPECT_EQ(all.size(), 8u * 2000u);
}

TEST(CloudEvent, JsonContentTypes) {
  EXPECT_TRUE(IsJsonContentType("application/json"));
  EXPECT_TRUE(IsJsonContentType(" Application/JSON ; charset=utf-8"));
  EXPECT_TRUE(IsJsonContentType("application/vnd.api+json"));
  EXPECT_FALSE(IsJsonContentType("text/plain"));
  EXPECT_FALSE(IsJsonContentType("application/jsonx"));
  EXPECT_FALSE(IsJsonContentType("+json"));
}

}  // namespace
}  // namespace dapr::blocks::pubsub
