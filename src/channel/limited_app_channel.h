// --app-max-concurrency for any app channel: at most N calls in flight to the app, the rest
// waiting in a FIFO queue (no thread per waiting call, nothing refused). Health probes pass
// straight through: a busy app must not look dead.
#pragma once

#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>

#include "channel/app_channel.h"

namespace dapr::channel {

class LimitedAppChannel final : public AppChannel {
 public:
  LimitedAppChannel(std::unique_ptr<AppChannel> inner, size_t max_in_flight);
  ~LimitedAppChannel() override;

  void Invoke(AppRequest request, AppCallback done) override;
  void CheckHealth(AppRequest probe, std::function<void(bool)> done) override;
  bool StreamsBodies() const override { return inner_->StreamsBodies(); }
  // Not counted against the limit yet: only pub/sub deliveries to gRPC apps use it.
  void CallUnary(std::string path, std::string request, std::function<void(UnaryReply)> done) override {
    inner_->CallUnary(std::move(path), std::move(request), std::move(done));
  }

 private:
  struct Waiting {
    AppRequest request;
    AppCallback done;
  };
  struct State;  // shared with the callbacks of calls in flight

  void Start(AppRequest request, AppCallback done);
  void Release(const std::shared_ptr<State>& state);

  std::unique_ptr<AppChannel> inner_;
  std::shared_ptr<State> state_;
};

}  // namespace dapr::channel
