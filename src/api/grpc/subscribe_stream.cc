// SubscribeTopicEventsAlpha1: a streaming subscription. The client opens a bidirectional
// stream and sends initial_request {pubsub_name, topic, metadata, dead_letter_topic}; the
// sidecar subscribes, answers initial_response, then sends each message as event_message
// (a TopicEventRequest) and waits for the client's event_processed {id, status}, which
// decides as an app's OnTopicEvent answer would. The subscription lasts as long as the
// stream: when the client ends it (or goes away) the sidecar unsubscribes, and events it did
// not ack go back to the broker. The metadata API lists it with type STREAMING.
#include "api/grpc/dapr_service.h"
#include "api/grpc/unary.h"
#include "blocks/metadata/metadata_block.h"
#include "blocks/pubsub/pubsub_block.h"
#include "channel/topic_event_proto.h"
#include "dapr/proto/runtime/v1/dapr.pb.h"

#include <spdlog/spdlog.h>

#include <map>
#include <mutex>

namespace dapr::grpcapi {
namespace {

namespace rt = ::dapr::proto::runtime::v1;
namespace ps = blocks::pubsub;

constexpr size_t kMaxMessageBytes = 4 << 20;
constexpr const char* kStreaming = "STREAMING";

std::string Framed(const rt::SubscribeTopicEventsResponseAlpha1& response) {
  return FrameMessage(response.SerializeAsString());
}

// The stream as the block's way to the app. What is delivered before Open (the component
// may deliver as soon as it subscribes) waits, so that initial_response goes out first.
class StreamChannel final : public ps::TopicChannel {
 public:
  explicit StreamChannel(std::shared_ptr<ServerStream> stream) : stream_(std::move(stream)) {}

  void ListSubscriptions(std::function<void(Result<std::vector<ps::Subscription>>)> done) override {
    done(std::vector<ps::Subscription>{});
  }

  void Deliver(ps::TopicEvent event, std::function<void(ps::DeliveryResult)> done) override {
    rt::SubscribeTopicEventsResponseAlpha1 response;
    *response.mutable_event_message() = channel::ToProto(event);
    const std::string id = response.event_message().id();
    std::string frame = Framed(response);
    std::unique_lock lock(mutex_);
    if (closed_) {
      lock.unlock();
      return done({ps::Outcome::kRetry, "the subscription's stream has closed"});
    }
    waiting_.emplace(id, std::move(done));
    if (!open_) return held_.push_back(std::move(frame));
    stream_->SendData(std::move(frame));
  }

  // A streaming subscription has no bulk form: its initial request cannot ask for one.
  void DeliverBulk(ps::BulkTopicEvent event, std::function<void(ps::BulkDeliveryResult)> done) override {
    ps::BulkDeliveryResult result;
    for (const auto& entry : event.entries) result.outcomes[entry.entry_id] = ps::Outcome::kRetry;
    result.detail = "a streaming subscription takes events one by one";
    done(std::move(result));
  }

  // The subscription exists: headers and initial_response, then what waited.
  void Open() {
    rt::SubscribeTopicEventsResponseAlpha1 initial;
    initial.mutable_initial_response();
    std::lock_guard lock(mutex_);
    if (closed_) return;
    stream_->SendHeaders({});
    stream_->SendData(Framed(initial));
    for (auto& frame : held_) stream_->SendData(std::move(frame));
    held_.clear();
    open_ = true;
  }

  // The client's answer for an event (the oldest one waiting with that id).
  void Processed(const std::string& id, rt::TopicEventResponse::TopicEventResponseStatus status) {
    std::function<void(ps::DeliveryResult)> done;
    {
      std::lock_guard lock(mutex_);
      auto it = waiting_.find(id);
      if (it == waiting_.end()) return;  // unknown, or already answered by the timeout
      done = std::move(it->second);
      waiting_.erase(it);
    }
    done({channel::OutcomeOf(status), "the client answered " + rt::TopicEventResponse::TopicEventResponseStatus_Name(status)});
  }

  // Every event still waiting goes back to the broker (RETRY); later ones are refused.
  void Close() {
    std::multimap<std::string, std::function<void(ps::DeliveryResult)>> waiting;
    {
      std::lock_guard lock(mutex_);
      closed_ = true;
      waiting.swap(waiting_);
      held_.clear();
    }
    for (auto& [id, done] : waiting) done({ps::Outcome::kRetry, "the subscription's stream closed before its answer"});
  }

 private:
  const std::shared_ptr<ServerStream> stream_;
  std::mutex mutex_;
  bool open_ = false;
  bool closed_ = false;
  std::vector<std::string> held_;
  std::multimap<std::string, std::function<void(ps::DeliveryResult)>> waiting_;  // by event id
};

// One call of SubscribeTopicEventsAlpha1.
class StreamingSubscription : public std::enable_shared_from_this<StreamingSubscription> {
 public:
  StreamingSubscription(std::shared_ptr<ServerStream> stream, blocks::PubSubBlock& pubsub,
                        blocks::MetadataBlock& metadata, WorkerPool& pool)
      : stream_(std::move(stream)),
        channel_(std::make_shared<StreamChannel>(stream_)),
        pubsub_(pubsub),
        metadata_(metadata),
        pool_(pool),
        reader_(kMaxMessageBytes) {}

  void Start() {
    auto self = shared_from_this();
    stream_->OnRequest([self](std::string_view bytes) { self->OnData(bytes); },
                       [self] { self->Finish(GrpcStatus::Ok()); },  // the client ended its side: the subscription ends
                       [self] { self->Finish(std::nullopt); });
  }

 private:
  enum class State { kWaitingForInitial, kSubscribing, kSubscribed, kEnded };

  void OnData(std::string_view bytes) {
    reader_.Append(bytes);
    while (true) {
      auto next = reader_.Next();
      if (!next.ok()) return Finish(next.error());
      if (!next->has_value()) return;
      rt::SubscribeTopicEventsRequestAlpha1 request;
      if (!request.ParseFromString(**next)) {
        return Finish(GrpcStatus{StatusCode::kInvalidArgument, "the subscription request does not parse", {}});
      }
      if (!Handle(request)) return;
    }
  }

  // False once the call has ended.
  bool Handle(const rt::SubscribeTopicEventsRequestAlpha1& request) {
    std::unique_lock lock(mutex_);
    if (state_ == State::kEnded) return false;
    if (request.has_event_processed()) {
      if (state_ != State::kSubscribed) {
        lock.unlock();
        Finish(GrpcStatus{StatusCode::kInvalidArgument,
                          "the first message must be an initial_request (event_processed came before it)", {}});
        return false;
      }
      lock.unlock();
      channel_->Processed(request.event_processed().id(), request.event_processed().status().status());
      return true;
    }
    if (!request.has_initial_request() || state_ != State::kWaitingForInitial) {
      lock.unlock();
      Finish(GrpcStatus{StatusCode::kInvalidArgument,
                        request.has_initial_request() ? "initial_request sent twice"
                                                      : "the first message must be an initial_request",
                        {}});
      return false;
    }
    state_ = State::kSubscribing;
    lock.unlock();
    // The component's Subscribe may block (it creates its consumer group): on a worker.
    pool_.Post([self = shared_from_this(), initial = request.initial_request()] { self->Subscribe(initial); });
    return true;
  }

  void Subscribe(const rt::SubscribeTopicEventsRequestInitialAlpha1& initial) {
    if (initial.pubsub_name().empty() || initial.topic().empty()) {
      return Finish(GrpcStatus{StatusCode::kInvalidArgument,
                               initial.pubsub_name().empty() ? "pubsub name is required" : "topic is required", {}});
    }
    ps::Subscription subscription;
    subscription.pubsub_name = initial.pubsub_name();
    subscription.topic = initial.topic();
    subscription.metadata = {initial.metadata().begin(), initial.metadata().end()};
    subscription.rules.push_back({std::nullopt, ""});
    subscription.dead_letter_topic = initial.dead_letter_topic();
    subscription.source = "streaming subscription";
    blocks::SubscriptionInfo info;
    info.pubsub_name = subscription.pubsub_name;
    info.topic = subscription.topic;
    info.metadata = subscription.metadata;
    info.rules.emplace_back("", "");
    info.dead_letter_topic = subscription.dead_letter_topic;
    info.type = kStreaming;
    Status status = pubsub_.SubscribeStream(std::move(subscription), channel_);
    if (!status.ok()) return Finish(GrpcStatus{status.code(), status.message(), {}});
    metadata_.AddSubscription(std::move(info));
    spdlog::info("streaming subscription to topic {} on pubsub {} started", initial.topic(), initial.pubsub_name());
    std::unique_lock lock(mutex_);
    pubsub_name_ = initial.pubsub_name();
    topic_ = initial.topic();
    if (state_ == State::kEnded) {  // the client left while we subscribed
      lock.unlock();
      return Unsubscribe();
    }
    state_ = State::kSubscribed;
    lock.unlock();
    channel_->Open();
  }

  // Ends the call once: with status (nullopt: the client is gone, nothing to send).
  void Finish(std::optional<GrpcStatus> status) {
    std::unique_lock lock(mutex_);
    if (state_ == State::kEnded) return;
    const bool subscribed = state_ == State::kSubscribed;
    state_ = State::kEnded;
    lock.unlock();
    channel_->Close();
    if (status) stream_->End(std::move(*status), {});
    if (subscribed) pool_.Post([self = shared_from_this()] { self->Unsubscribe(); });
  }

  void Unsubscribe() {
    pubsub_.UnsubscribeStream(pubsub_name_, topic_);
    metadata_.RemoveSubscription(pubsub_name_, topic_, kStreaming);
    spdlog::info("streaming subscription to topic {} on pubsub {} ended", topic_, pubsub_name_);
  }

  const std::shared_ptr<ServerStream> stream_;
  const std::shared_ptr<StreamChannel> channel_;
  blocks::PubSubBlock& pubsub_;
  blocks::MetadataBlock& metadata_;
  WorkerPool& pool_;
  MessageReader reader_;  // on the loop only
  std::mutex mutex_;
  State state_ = State::kWaitingForInitial;
  std::string pubsub_name_;  // set once subscribed
  std::string topic_;
};

}  // namespace

void DaprService::AddStreamingSubscriptionRpc(GrpcServer& server) const {
  server.AddStream(DaprMethod("SubscribeTopicEventsAlpha1"), [this](std::shared_ptr<ServerStream> stream) {
    if (token_.enabled()) {
      auto sent = stream->Metadata("dapr-api-token");
      if (!sent || !token_.Matches(*sent)) return stream->End(Unauthenticated(), {});
    }
    std::make_shared<StreamingSubscription>(std::move(stream), blocks_.pubsub, blocks_.metadata, pool_)->Start();
  });
}

}  // namespace dapr::grpcapi
