#include "channel/limited_app_channel.h"

namespace dapr::channel {

struct LimitedAppChannel::State {
  explicit State(size_t max) : max_in_flight(max) {}
  const size_t max_in_flight;
  std::mutex mutex;
  size_t in_flight = 0;
  std::deque<Waiting> waiting;
  bool closed = false;  // the channel is gone: a body released late starts nothing
};

LimitedAppChannel::~LimitedAppChannel() {
  std::lock_guard lock(state_->mutex);
  state_->closed = true;
}

LimitedAppChannel::LimitedAppChannel(std::unique_ptr<AppChannel> inner, size_t max_in_flight)
    : inner_(std::move(inner)), state_(std::make_shared<State>(max_in_flight)) {}

void LimitedAppChannel::Invoke(AppRequest request, AppCallback done) {
  {
    std::lock_guard lock(state_->mutex);
    if (state_->in_flight >= state_->max_in_flight) {
      state_->waiting.push_back({std::move(request), std::move(done)});
      return;
    }
    ++state_->in_flight;
  }
  Start(std::move(request), std::move(done));
}

namespace {

// A streamed answer keeps its call's slot until the caller is done with its body.
class SlotHoldingBody final : public BodyReader {
 public:
  SlotHoldingBody(std::shared_ptr<BodyReader> inner, std::shared_ptr<void> slot)
      : inner_(std::move(inner)), slot_(std::move(slot)) {}
  std::optional<uint64_t> Length() const override { return inner_->Length(); }
  void Read(std::function<void(Status, BodyPiece)> got) override { inner_->Read(std::move(got)); }

 private:
  std::shared_ptr<BodyReader> inner_;
  std::shared_ptr<void> slot_;
};

}  // namespace

// Runs one call; when it ends (its answer's body included), its slot goes to the next
// waiting call (or is freed).
void LimitedAppChannel::Start(AppRequest request, AppCallback done) {
  auto slot = std::shared_ptr<void>(nullptr, [this, state = state_](void*) { Release(state); });
  inner_->Invoke(std::move(request), [slot = std::move(slot), done = std::move(done)](
                                         blocks::ApiResult<AppResponse> result) mutable {
    if (result.ok() && result->body_reader) {
      result->body_reader = std::make_shared<SlotHoldingBody>(std::move(result->body_reader), slot);
    }
    done(std::move(result));
    slot.reset();  // after done, so the next call starts once this caller has its answer
  });
}

void LimitedAppChannel::Release(const std::shared_ptr<State>& state) {
  std::optional<Waiting> next;
  {
    std::lock_guard lock(state->mutex);
    if (state->closed) return;
    if (state->waiting.empty()) {
      --state->in_flight;
    } else {
      next.emplace(std::move(state->waiting.front()));
      state->waiting.pop_front();
    }
  }
  if (next) Start(std::move(next->request), std::move(next->done));
}

void LimitedAppChannel::CheckHealth(AppRequest probe, std::function<void(bool)> done) {
  inner_->CheckHealth(std::move(probe), std::move(done));
}

}  // namespace dapr::channel
