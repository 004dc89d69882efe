#include "channel/limited_app_channel.h"

namespace dapr::channel {

struct LimitedAppChannel::State {
  explicit State(size_t max) : max_in_flight(max) {}
  const size_t max_in_flight;
  std::mutex mutex;
  size_t in_flight = 0;
  std::deque<Waiting> waiting;
};

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

// Runs one call; when it ends, its slot goes to the next waiting call (or is freed).
void LimitedAppChannel::Start(AppRequest request, AppCallback done) {
  inner_->Invoke(std::move(request), [this, state = state_, done = std::move(done)](
                                         blocks::ApiResult<AppResponse> result) mutable {
    std::optional<Waiting> next;
    {
      std::lock_guard lock(state->mutex);
      if (state->waiting.empty()) {
        --state->in_flight;
      } else {
        next.emplace(std::move(state->waiting.front()));
        state->waiting.pop_front();
      }
    }
    done(std::move(result));
    if (next) Start(std::move(next->request), std::move(next->done));
  });
}

void LimitedAppChannel::CheckHealth(AppRequest probe, std::function<void(bool)> done) {
  inner_->CheckHealth(std::move(probe), std::move(done));
}

}  // namespace dapr::channel
