// The gRPC form of the topic channel (topic_channels.h): the app's AppCallback service.
#include <google/protobuf/empty.pb.h>
#include <google/protobuf/util/json_util.h>

#include "channel/topic_channels.h"
#include "channel/topic_event_proto.h"
#include "common/base64.h"
#include "dapr/proto/runtime/v1/appcallback.pb.h"

namespace dapr::channel {
namespace {

namespace ps = blocks::pubsub;
namespace rt = ::dapr::proto::runtime::v1;
using Json = nlohmann::json;

constexpr const char* kListTopicSubscriptions = "/dapr.proto.runtime.v1.AppCallback/ListTopicSubscriptions";
constexpr const char* kOnTopicEvent = "/dapr.proto.runtime.v1.AppCallback/OnTopicEvent";
constexpr const char* kOnBulkTopicEvent = "/dapr.proto.runtime.v1.AppCallbackAlpha/OnBulkTopicEventAlpha1";

// A TopicSubscription in the JSON shape of GET /dapr/subscribe, so both go through one
// parser (and one check of their match expressions). One without routes gets the route
// "/", put back to "" (OnTopicEvent's path) by the caller.
Json SubscriptionJson(const rt::TopicSubscription& s) {
  Json out = {{"pubsubname", s.pubsub_name()}, {"topic", s.topic()}};
  Json metadata = Json::object();
  for (const auto& [k, v] : s.metadata()) metadata[k] = v;
  out["metadata"] = std::move(metadata);
  if (!s.dead_letter_topic().empty()) out["deadLetterTopic"] = s.dead_letter_topic();
  if (s.has_bulk_subscribe()) {
    out["bulkSubscribe"] = {{"enabled", s.bulk_subscribe().enabled()},
                            {"maxMessagesCount", s.bulk_subscribe().max_messages_count()},
                            {"maxAwaitDurationMs", s.bulk_subscribe().max_await_duration_ms()}};
  }
  const bool has_routes = s.has_routes() && (!s.routes().default_().empty() || s.routes().rules_size() > 0);
  if (!has_routes) {
    out["route"] = "/";
    return out;
  }
  Json rules = Json::array();
  for (const auto& rule : s.routes().rules()) rules.push_back({{"match", rule.match()}, {"path", rule.path()}});
  out["routes"] = {{"rules", std::move(rules)}, {"default", s.routes().default_()}};
  return out;
}

Result<std::vector<ps::Subscription>> FromProto(const rt::ListTopicSubscriptionsResponse& response) {
  Json list = Json::array();
  std::vector<bool> routeless;
  for (const auto& s : response.subscriptions()) {
    list.push_back(SubscriptionJson(s));
    routeless.push_back(!list.back().contains("routes"));
  }
  auto parsed = ps::ParseProgrammaticSubscriptions(list.dump());
  if (!parsed.ok()) return parsed;
  for (size_t i = 0; i < parsed->size() && i < routeless.size(); ++i) {
    if (routeless[i] && !(*parsed)[i].rules.empty()) (*parsed)[i].rules.back().path.clear();
  }
  return parsed;
}


class GrpcTopicChannel final : public ps::TopicChannel {
 public:
  explicit GrpcTopicChannel(AppChannel& app) : app_(app) {}

  void ListSubscriptions(std::function<void(Result<std::vector<ps::Subscription>>)> done) override {
    app_.CallUnary(kListTopicSubscriptions, google::protobuf::Empty().SerializeAsString(),
                   [done = std::move(done)](UnaryReply reply) {
                     // An app without the method has no subscriptions.
                     if (reply.status.code() == StatusCode::kUnimplemented) return done(std::vector<ps::Subscription>{});
                     if (!reply.status.ok()) return done(reply.status);
                     rt::ListTopicSubscriptionsResponse response;
                     if (!response.ParseFromString(reply.message)) {
                       return done(InvalidArgument("the app's ListTopicSubscriptions answer does not parse"));
                     }
                     done(FromProto(response));
                   });
  }

  void Deliver(ps::TopicEvent event, std::function<void(ps::DeliveryResult)> done) override {
    app_.CallUnary(kOnTopicEvent, ToProto(event).SerializeAsString(), [done = std::move(done)](UnaryReply reply) {
      // Unimplemented is the gRPC form of a 404: the app cannot take it, ever.
      if (reply.status.code() == StatusCode::kUnimplemented) {
        return done({ps::Outcome::kDrop, "OnTopicEvent is not implemented by the app"});
      }
      if (!reply.status.ok()) {
        return done({ps::Outcome::kRetry, "OnTopicEvent failed: " + reply.status.message(), std::nullopt,
                     static_cast<int>(reply.status.code())});
      }
      rt::TopicEventResponse response;
      if (!response.ParseFromString(reply.message)) {
        return done({ps::Outcome::kRetry, "the app's TopicEventResponse does not parse"});
      }
      done({OutcomeOf(response.status()),
            "the app answered " + rt::TopicEventResponse::TopicEventResponseStatus_Name(response.status())});
    });
  }

  void DeliverBulk(ps::BulkTopicEvent event, std::function<void(ps::BulkDeliveryResult)> done) override {
    std::vector<std::string> ids;
    ids.reserve(event.entries.size());
    for (const auto& entry : event.entries) ids.push_back(entry.entry_id);
    app_.CallUnary(kOnBulkTopicEvent, ToProto(event).SerializeAsString(),
                   [done = std::move(done), ids = std::move(ids)](UnaryReply reply) {
      ps::BulkDeliveryResult result;
      // Without the method (UNIMPLEMENTED) the app cannot take them, ever: dropped, as a 404.
      const bool unimplemented = reply.status.code() == StatusCode::kUnimplemented;
      for (const auto& id : ids) result.outcomes[id] = unimplemented ? ps::Outcome::kDrop : ps::Outcome::kRetry;
      rt::TopicEventBulkResponse response;
      if (!reply.status.ok()) {
        result.detail = "OnBulkTopicEventAlpha1 failed: " + reply.status.message();
      } else if (!response.ParseFromString(reply.message)) {
        result.detail = "the app's TopicEventBulkResponse does not parse";
      } else {
        // Entries the app leaves out stay RETRY, as over HTTP.
        for (const auto& status : response.statuses()) {
          auto known = result.outcomes.find(status.entry_id());
          if (known != result.outcomes.end()) known->second = OutcomeOf(status.status());
        }
        result.detail = "per-entry statuses from the app";
      }
      done(std::move(result));
    });
  }

 private:
  AppChannel& app_;
};

}  // namespace

std::unique_ptr<ps::TopicChannel> MakeGrpcTopicChannel(AppChannel& app) {
  return std::make_unique<GrpcTopicChannel>(app);
}

}  // namespace dapr::channel
