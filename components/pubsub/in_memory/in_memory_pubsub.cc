#include "components/pubsub/in_memory/in_memory_pubsub.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <thread>
#include <vector>

namespace dapr::components::pubsub {
namespace {
using Clock = std::chrono::steady_clock;
using ::dapr::pubsub::Message;
using ::dapr::pubsub::MessageHandler;
}  // namespace

// A subscription's queue and its delivery thread. The thread starts deliveries in publish
// order, up to `concurrency` at once; a delivery that fails goes back in the queue, due
// again after the redelivery interval. Shared with the `done` callbacks, so a delivery
// that ends after Close finds it alive.
class InMemoryPubSub::Subscriber : public std::enable_shared_from_this<Subscriber> {
 public:
  Subscriber(MessageHandler handler, size_t concurrency, std::chrono::milliseconds redeliver)
      : handler_(std::move(handler)), concurrency_(concurrency), redeliver_(redeliver) {}

  void Start() {
    thread_ = std::thread([self = shared_from_this()] { self->Run(); });
  }

  void Push(Message message) {
    {
      std::lock_guard lock(mutex_);
      queue_.push_back({std::move(message), Clock::now()});
    }
    wake_.notify_one();
  }

  void Stop() {
    {
      std::lock_guard lock(mutex_);
      stopped_ = true;
    }
    wake_.notify_all();
    if (!thread_.joinable()) return;
    // Called from a handler, on this thread itself: it ends once the handler returns.
    if (thread_.get_id() == std::this_thread::get_id()) {
      thread_.detach();
    } else {
      thread_.join();
    }
  }

 private:
  struct Pending {
    Message message;
    Clock::time_point due;
  };

  void Run() {
    std::unique_lock lock(mutex_);
    while (!stopped_) {
      auto next = NextDue();
      if (next == queue_.end()) {
        WaitForWork(lock);
        continue;
      }
      Pending pending = std::move(*next);
      queue_.erase(next);
      ++in_flight_;
      lock.unlock();
      Deliver(std::move(pending.message));
      lock.lock();
    }
  }

  // The first message that is due, while a delivery slot is free.
  std::deque<Pending>::iterator NextDue() {
    if (in_flight_ >= concurrency_) return queue_.end();
    auto now = Clock::now();
    for (auto it = queue_.begin(); it != queue_.end(); ++it) {
      if (it->due <= now) return it;
    }
    return queue_.end();
  }

  void WaitForWork(std::unique_lock<std::mutex>& lock) {
    if (in_flight_ >= concurrency_ || queue_.empty()) {
      wake_.wait(lock);
      return;
    }
    auto earliest = queue_.front().due;
    for (const auto& p : queue_) earliest = std::min(earliest, p.due);
    wake_.wait_until(lock, earliest);
  }

  void Deliver(Message message) {
    auto copy = std::make_shared<Message>(message);
    handler_(std::move(message), [self = shared_from_this(), copy](Status status) {
      self->Finished(std::move(*copy), status.ok());
    });
  }

  void Finished(Message message, bool delivered) {
    {
      std::lock_guard lock(mutex_);
      --in_flight_;
      if (!delivered && !stopped_) queue_.push_back({std::move(message), Clock::now() + redeliver_});
    }
    wake_.notify_one();
  }

  MessageHandler handler_;
  const size_t concurrency_;
  const std::chrono::milliseconds redeliver_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Pending> queue_;
  size_t in_flight_ = 0;
  bool stopped_ = false;
  std::thread thread_;
};

InMemoryPubSub::~InMemoryPubSub() { Close(); }

Status InMemoryPubSub::Init(const ComponentMetadata& metadata) {
  auto redeliver = metadata.GetDuration("redeliverInterval", redeliver_interval_);
  if (!redeliver.ok()) return redeliver.error();
  auto concurrency = metadata.GetInt("concurrency", static_cast<long long>(concurrency_));
  if (!concurrency.ok()) return concurrency.error();
  if (*concurrency < 1) return InvalidArgument("concurrency must be at least 1");
  redeliver_interval_ = *redeliver;
  concurrency_ = static_cast<size_t>(*concurrency);
  return Status::Ok();
}

Status InMemoryPubSub::Publish(const ::dapr::pubsub::PublishRequest& request) {
  std::lock_guard lock(mutex_);
  if (closed_) return Status(StatusCode::kUnavailable, "the in-memory broker is closed");
  auto [first, last] = subscribers_.equal_range(request.topic);
  for (auto it = first; it != last; ++it) {
    it->second->Push(Message{request.topic, request.data, request.content_type, request.metadata});
  }
  return Status::Ok();
}

Status InMemoryPubSub::Subscribe(const ::dapr::pubsub::SubscribeRequest& request,
                                 MessageHandler handler) {
  auto subscriber = std::make_shared<Subscriber>(std::move(handler), std::max(concurrency_, request.min_concurrency),
                                                 redeliver_interval_);
  std::lock_guard lock(mutex_);
  if (closed_) return Status(StatusCode::kUnavailable, "the in-memory broker is closed");
  subscriber->Start();
  subscribers_.emplace(request.topic, std::move(subscriber));
  return Status::Ok();
}

Status InMemoryPubSub::Unsubscribe(const std::string& topic) {
  std::vector<std::shared_ptr<Subscriber>> ended;
  {
    std::lock_guard lock(mutex_);
    auto [first, last] = subscribers_.equal_range(topic);
    for (auto it = first; it != last; ++it) ended.push_back(std::move(it->second));
    subscribers_.erase(first, last);
  }
  for (auto& subscriber : ended) subscriber->Stop();
  return Status::Ok();
}

void InMemoryPubSub::Close() {
  std::multimap<std::string, std::shared_ptr<Subscriber>> subscribers;
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
    subscribers.swap(subscribers_);
  }
  for (auto& [topic, subscriber] : subscribers) subscriber->Stop();
}

}  // namespace dapr::components::pubsub
