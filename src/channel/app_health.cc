#include "channel/app_health.h"

#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include "common/loop_types.h"

namespace dapr::channel {

class AppHealth::Impl : public std::enable_shared_from_this<AppHealth::Impl> {
 public:
  Impl(boost::asio::io_context& loop, AppChannel& channel, AppHealthOptions options)
      : strand_(boost::asio::make_strand(loop)),
        channel_(channel),
        options_(std::move(options)),
        next_probe_(strand_),
        probe_timeout_(strand_) {}

  void Start() {
    boost::asio::post(strand_, [self = shared_from_this()] { self->Probe(); });
  }

  void Stop() {
    boost::asio::post(strand_, [self = shared_from_this()] {
      self->stopped_ = true;
      self->next_probe_.cancel();
      self->probe_timeout_.cancel();
    });
  }

  bool Healthy() const { return healthy_.load(std::memory_order_relaxed); }

 private:
  void Probe() {
    if (stopped_) return;
    auto round = ++round_;
    probe_timeout_.expires_after(options_.timeout);
    probe_timeout_.async_wait([self = shared_from_this(), round](boost::system::error_code ec) {
      if (!ec) self->Settle(round, false);
    });
    AppRequest request;
    request.verb = "GET";
    std::string_view path = options_.path;
    while (!path.empty() && path.front() == '/') path.remove_prefix(1);
    request.method = std::string(path);
    channel_.CheckHealth(std::move(request), [self = shared_from_this(), round](bool ok) {
      boost::asio::post(self->strand_, [self, round, ok] { self->Settle(round, ok); });
    });
  }

  // The first of the answer and the timeout decides a probe; the next one is scheduled.
  void Settle(uint64_t round, bool ok) {
    if (round != round_ || settled_ == round) return;
    settled_ = round;
    probe_timeout_.cancel();
    if (ok) {
      failures_ = 0;
      if (!healthy_.exchange(true)) spdlog::info("app is healthy again");
    } else if (++failures_ >= options_.threshold && healthy_.exchange(false)) {
      spdlog::warn("app is not healthy: {} failed health probes in a row", failures_);
    }
    if (stopped_) return;
    next_probe_.expires_after(options_.interval);
    next_probe_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (!ec) self->Probe();
    });
  }

  loop::Strand strand_;
  AppChannel& channel_;
  AppHealthOptions options_;
  loop::Timer next_probe_;
  loop::Timer probe_timeout_;
  std::atomic<bool> healthy_{true};
  int failures_ = 0;
  uint64_t round_ = 0;
  uint64_t settled_ = 0;
  bool stopped_ = false;
};

AppHealth::AppHealth(boost::asio::io_context& loop, AppChannel& channel, AppHealthOptions options)
    : impl_(std::make_shared<Impl>(loop, channel, std::move(options))) {}
AppHealth::~AppHealth() { impl_->Stop(); }
void AppHealth::Start() { impl_->Start(); }
void AppHealth::Stop() { impl_->Stop(); }
bool AppHealth::Healthy() const { return impl_->Healthy(); }

}  // namespace dapr::channel
