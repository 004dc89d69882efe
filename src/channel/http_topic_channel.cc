// The HTTP form of the topic channel (topic_channels.h).
#include <cctype>

#include "channel/topic_channels.h"
#include "common/base64.h"

namespace dapr::channel {
namespace {

namespace ps = blocks::pubsub;

// Broker metadata becomes request headers; names that HTTP cannot carry are left out.
bool IsHeaderName(std::string_view name) {
  if (name.empty() || IsFramingHeader(name)) return false;
  for (char c : name) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) return false;
  }
  return true;
}

bool IsHeaderValue(std::string_view value) {
  for (char c : value) {
    if (c == '\r' || c == '\n' || c == '\0') return false;
  }
  return true;
}

class HttpTopicChannel final : public ps::TopicChannel {
 public:
  explicit HttpTopicChannel(AppChannel& app) : app_(app) {}

  void ListSubscriptions(std::function<void(Result<std::vector<ps::Subscription>>)> done) override {
    AppRequest request;
    request.verb = "GET";
    request.method = "dapr/subscribe";
    app_.Invoke(std::move(request), [done = std::move(done)](blocks::ApiResult<AppResponse> answer) {
      if (!answer.ok()) return done(Status(StatusCode::kUnavailable, answer.error().message));
      if (answer->status == 404) return done(std::vector<ps::Subscription>{});
      if (answer->status < 200 || answer->status >= 300) {
        return done(Status(StatusCode::kUnavailable,
                           "GET /dapr/subscribe answered " + std::to_string(answer->status)));
      }
      std::vector<std::string> skipped;
      auto parsed = ps::ParseProgrammaticSubscriptions(answer->body, &skipped);
      done(std::move(parsed));
    });
  }

  bool NeedsWholeEvent() const override { return false; }  // the body is the event's text

  void Deliver(ps::TopicEvent event, std::function<void(ps::DeliveryResult)> done) override {
    AppRequest request;
    request.verb = "POST";
    request.method = event.path.empty() || event.path[0] != '/' ? event.path : event.path.substr(1);
    request.content_type = "application/cloudevents+json";
    request.body = std::move(event.data);
    for (auto& [name, value] : event.metadata) {
      if (IsHeaderName(name) && IsHeaderValue(value)) request.headers.emplace_back(name, value);
    }
    for (const char* field : {"traceparent", "tracestate"}) {
      auto it = event.cloud_event.find(field);
      if (it != event.cloud_event.end() && it->is_string() && !it->get_ref<const std::string&>().empty() &&
          IsHeaderValue(it->get_ref<const std::string&>())) {
        request.headers.emplace_back(field, it->get<std::string>());
      }
    }
    app_.Invoke(std::move(request), [done = std::move(done)](blocks::ApiResult<AppResponse> answer) {
      if (!answer.ok()) return done({ps::Outcome::kRetry, answer.error().message});
      ps::Outcome outcome = ps::OutcomeOfHttpReply(answer->status, answer->body);
      // A failing status is what a retry policy's httpStatusCodes is checked against.
      std::optional<int> failing;
      if (answer->status < 200 || answer->status >= 300) failing = answer->status;
      if (outcome == ps::Outcome::kSuccess && !failing) return done({outcome, std::string(), failing});
      done({outcome,
            "the app answered " + std::to_string(answer->status) +
                (answer->body.empty() ? "" : " " + answer->body.substr(0, 200)),
            failing});
    });
  }

  // Dapr's bulk shape: the entries' CloudEvents as objects, a raw entry's bytes in base64.
  void DeliverBulk(ps::BulkTopicEvent event, std::function<void(ps::BulkDeliveryResult)> done) override {
    nlohmann::json entries = nlohmann::json::array();
    std::vector<std::string> ids;
    ids.reserve(event.entries.size());
    for (auto& entry : event.entries) {
      nlohmann::json item = {{"entryId", entry.entry_id}, {"metadata", std::move(entry.metadata)}};
      if (entry.is_raw) {
        item["event"] = Base64Encode(entry.raw);
        item["contentType"] = "application/octet-stream";
      } else {
        item["event"] = std::move(entry.cloud_event);
        item["contentType"] = "application/cloudevents+json";
      }
      entries.push_back(std::move(item));
      ids.push_back(entry.entry_id);
    }
    nlohmann::json body = {{"id", event.id},          {"type", "com.dapr.event.sent.bulk"},
                           {"topic", event.topic},    {"pubsubname", event.pubsub_name},
                           {"metadata", event.metadata}, {"entries", std::move(entries)}};
    AppRequest request;
    request.verb = "POST";
    request.method = event.path.empty() || event.path[0] != '/' ? event.path : event.path.substr(1);
    request.content_type = "application/json";
    request.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    app_.Invoke(std::move(request), [done = std::move(done), ids = std::move(ids)](blocks::ApiResult<AppResponse> answer) {
      if (!answer.ok()) return done({ps::OutcomesOfBulkReply(500, "", ids), answer.error().message});
      done({ps::OutcomesOfBulkReply(answer->status, answer->body, ids),
            "the app answered " + std::to_string(answer->status) +
                (answer->body.empty() ? "" : " " + answer->body.substr(0, 200))});
    });
  }

 private:
  AppChannel& app_;
};

}  // namespace

std::unique_ptr<ps::TopicChannel> MakeHttpTopicChannel(AppChannel& app) {
  return std::make_unique<HttpTopicChannel>(app);
}

}  // namespace dapr::channel
