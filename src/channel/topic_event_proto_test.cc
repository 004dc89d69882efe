#include "channel/topic_event_proto.h"

#include <gtest/gtest.h>

#include "common/base64.h"

namespace dapr::channel {
namespace {

using Json = nlohmann::json;

blocks::pubsub::TopicEvent EventOf(Json cloud_event) {
  blocks::pubsub::TopicEvent event;
  event.pubsub_name = "broker";
  event.topic = "orders";
  event.path = "/orders";
  event.data = cloud_event.dump();
  event.cloud_event = std::move(cloud_event);
  return event;
}

TEST(TopicEventProto, JsonDataGoesAsItsTextWithTheCoreFields) {
  auto request = ToProto(EventOf({{"id", "1"}, {"source", "app"}, {"type", "t"}, {"specversion", "1.0"},
                                  {"datacontenttype", "application/json"}, {"data", {{"n", 1}}},
                                  {"traceid", "x"}}));
  EXPECT_EQ(request.id(), "1");
  EXPECT_EQ(request.source(), "app");
  EXPECT_EQ(request.data_content_type(), "application/json");
  EXPECT_EQ(request.data(), R"({"n":1})");
  EXPECT_EQ(request.topic(), "orders");
  EXPECT_EQ(request.pubsub_name(), "broker");
  EXPECT_EQ(request.path(), "/orders");
  EXPECT_EQ(request.extensions().fields().at("traceid").string_value(), "x");
  EXPECT_FALSE(request.extensions().fields().contains("data"));
}

// A raw subscription's envelope: the bytes, decoded from data_base64, whatever they are.
TEST(TopicEventProto, DataBase64GoesDecoded) {
  const std::string bytes("{\"id\":2}\0\xff", 10);
  auto request = ToProto(EventOf({{"id", "1"}, {"specversion", "1.0"}, {"datacontenttype", "application/octet-stream"},
                                  {"data_base64", Base64Encode(bytes)}}));
  EXPECT_EQ(request.data(), bytes);
  EXPECT_EQ(request.data_content_type(), "application/octet-stream");
}

TEST(TopicEventProto, TextDataGoesAsItIs) {
  auto request = ToProto(EventOf({{"id", "1"}, {"datacontenttype", "text/plain"}, {"data", "hello"}}));
  EXPECT_EQ(request.data(), "hello");
}

}  // namespace
}  // namespace dapr::channel
