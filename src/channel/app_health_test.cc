// Tests for AppHealth: probes through the channel on loop timers, unhealthy after `threshold`
// failed probes in a row, healthy again after one good probe, a probe without an answer
// failed by its timeout. The channel is a fake whose answer to each probe the test scripts;
// intervals are tens of milliseconds.
#include "channel/app_health.h"

#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace dapr::channel {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

// An app channel that answers health probes as the test's script says (true, false, or
// nothing: the probe's callback is kept and never called unless the test does), and records
// each probe and how AppHealth judged the app when the probe started.
class ScriptedChannel final : public AppChannel {
 public:
  // The answer to probe number n (1-based); nullopt: no answer.
  using Script = std::function<std::optional<bool>(int n)>;

  void Invoke(AppRequest, AppCallback done) override {
    done(blocks::errors::InvokeCause("ScriptedChannel serves health probes only"));
  }

  void CheckHealth(AppRequest probe, std::function<void(bool)> done) override {
    std::optional<bool> answer;
    {
      std::lock_guard lock(mutex_);
      int n = static_cast<int>(probes_.size()) + 1;
      probes_.push_back(probe.verb + " " + probe.method);
      healthy_seen_.push_back(observe_ ? observe_() : true);
      answer = script_ ? script_(n) : std::optional<bool>(true);
      if (!answer) unanswered_.push_back(done);
      changed_.notify_all();
    }
    if (answer) done(*answer);
  }

  void SetScript(Script script) {
    std::lock_guard lock(mutex_);
    script_ = std::move(script);
  }
  void Observe(std::function<bool()> observe) {
    std::lock_guard lock(mutex_);
    observe_ = std::move(observe);
  }

  bool WaitForProbes(size_t count, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return probes_.size() >= count; });
  }
  size_t probe_count() {
    std::lock_guard lock(mutex_);
    return probes_.size();
  }
  std::vector<std::string> probes() {
    std::lock_guard lock(mutex_);
    return probes_;
  }
  // Healthy() as it was when each probe started, i.e. after the probes before it settled.
  std::vector<bool> healthy_seen() {
    std::lock_guard lock(mutex_);
    return healthy_seen_;
  }
  std::vector<std::function<void(bool)>> TakeUnanswered() {
    std::lock_guard lock(mutex_);
    return std::move(unanswered_);
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  Script script_;
  std::function<bool()> observe_;
  std::vector<std::string> probes_;
  std::vector<bool> healthy_seen_;
  std::vector<std::function<void(bool)>> unanswered_;
};

// Answers false to the first `failures` probes, true after.
ScriptedChannel::Script FailFirst(int failures) {
  return [failures](int n) { return std::optional<bool>(n > failures); };
}

class AppHealthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    loop_thread_ = std::thread([this] { loop_.run(); });
  }

  void TearDown() override {
    if (health_) health_->Stop();
    // Let the loop take the Stop before it ends, so no probe is left half done.
    std::promise<void> drained;
    asio::post(loop_, [&] { drained.set_value(); });
    drained.get_future().wait_for(1s);
    work_.reset();
    loop_.stop();
    loop_thread_.join();
  }

  void Start(AppHealthOptions options) {
    health_ = std::make_unique<AppHealth>(loop_, channel_, std::move(options));
    channel_.Observe([health = health_.get()] { return health->Healthy(); });
    health_->Start();
  }

  static AppHealthOptions Fast(int threshold) {
    AppHealthOptions options;
    options.interval = 10ms;
    options.timeout = 200ms;
    options.threshold = threshold;
    return options;
  }

  // Waits until Healthy() is `expected`, at most `timeout`.
  bool WaitForHealthy(bool expected, std::chrono::milliseconds timeout) {
    auto until = std::chrono::steady_clock::now() + timeout;
    while (health_->Healthy() != expected) {
      if (std::chrono::steady_clock::now() > until) return false;
      std::this_thread::sleep_for(1ms);
    }
    return true;
  }

  asio::io_context loop_;
  asio::executor_work_guard<asio::io_context::executor_type> work_ = asio::make_work_guard(loop_);
  std::thread loop_thread_;
  ScriptedChannel channel_;
  std::unique_ptr<AppHealth> health_;
};

TEST_F(AppHealthTest, TheFirstProbeGoesAtOnceToTheHealthPath) {
  AppHealthOptions options;
  options.path = "/custom/ready";
  options.interval = 60s;  // only the first probe can come within the test
  Start(options);

  ASSERT_TRUE(channel_.WaitForProbes(1, 500ms));
  EXPECT_EQ(channel_.probes(), (std::vector<std::string>{"GET custom/ready"}));
  EXPECT_TRUE(health_->Healthy());
}

TEST_F(AppHealthTest, HealthyUntilProbesStart) {
  channel_.SetScript([](int) { return std::optional<bool>(false); });
  health_ = std::make_unique<AppHealth>(loop_, channel_, Fast(1));
  EXPECT_TRUE(health_->Healthy());  // an app is assumed up until probes say otherwise
  std::this_thread::sleep_for(30ms);
  EXPECT_EQ(channel_.probe_count(), 0u);  // nothing probes before Start
}

TEST_F(AppHealthTest, ProbesRepeatEveryInterval) {
  Start(Fast(3));
  auto started = std::chrono::steady_clock::now();
  ASSERT_TRUE(channel_.WaitForProbes(5, 1s));
  // Five probes are four intervals apart at least.
  EXPECT_GE(std::chrono::steady_clock::now() - started, 40ms);
}

TEST_F(AppHealthTest, UnhealthyAfterThresholdFailuresInARow) {
  channel_.SetScript([](int) { return std::optional<bool>(false); });
  Start(Fast(3));

  ASSERT_TRUE(channel_.WaitForProbes(5, 1s));
  // As probes 1 to 5 start: 0, 1, 2 failures so far (healthy), then 3 and 4 (not).
  auto seen = channel_.healthy_seen();
  EXPECT_EQ(std::vector<bool>(seen.begin(), seen.begin() + 5),
            (std::vector<bool>{true, true, true, false, false}));
  EXPECT_FALSE(health_->Healthy());
}

TEST_F(AppHealthTest, HealthyAgainAfterOneGoodProbe) {
  channel_.SetScript(FailFirst(2));
  Start(Fast(2));

  ASSERT_TRUE(channel_.WaitForProbes(4, 1s));
  // Probes 1 and 2 fail: unhealthy as probe 3 starts; probe 3 succeeds: healthy as probe 4
  // starts.
  auto seen = channel_.healthy_seen();
  EXPECT_EQ(std::vector<bool>(seen.begin(), seen.begin() + 4),
            (std::vector<bool>{true, true, false, true}));
  EXPECT_TRUE(WaitForHealthy(true, 500ms));
}

TEST_F(AppHealthTest, AGoodProbeStartsTheCountAgain) {
  // fail, fail, ok, fail, fail, fail: only the last three make a run of three.
  channel_.SetScript([](int n) { return std::optional<bool>(n == 3 || n > 6); });
  Start(Fast(3));

  ASSERT_TRUE(channel_.WaitForProbes(8, 1s));
  auto seen = channel_.healthy_seen();
  EXPECT_EQ(std::vector<bool>(seen.begin(), seen.begin() + 8),
            (std::vector<bool>{true, true, true, true, true, true, false, true}));
}

TEST_F(AppHealthTest, AProbeWithoutAnAnswerFailsAtItsTimeout) {
  channel_.SetScript([](int) { return std::nullopt; });
  AppHealthOptions options = Fast(2);
  options.timeout = 20ms;
  Start(options);

  auto started = std::chrono::steady_clock::now();
  ASSERT_TRUE(WaitForHealthy(false, 1s));
  // Two timeouts at least, and the interval between them.
  EXPECT_GE(std::chrono::steady_clock::now() - started, 50ms);
  EXPECT_GE(channel_.probe_count(), 2u);
}

TEST_F(AppHealthTest, AnAnswerAfterTheTimeoutIsIgnored) {
  channel_.SetScript([](int) { return std::nullopt; });
  AppHealthOptions options = Fast(2);
  options.timeout = 20ms;
  Start(options);
  ASSERT_TRUE(WaitForHealthy(false, 1s));

  // Every probe but the newest has timed out: their late "healthy" answers must not count.
  auto late = channel_.TakeUnanswered();
  ASSERT_GE(late.size(), 2u);
  late.pop_back();
  size_t probes_before = channel_.probe_count();
  for (auto& answer : late) answer(true);

  // Two more probes (each started after the late answers were taken in) still see an
  // unhealthy app.
  ASSERT_TRUE(channel_.WaitForProbes(probes_before + 2, 1s));
  auto seen = channel_.healthy_seen();
  for (size_t i = probes_before; i < seen.size(); ++i) EXPECT_FALSE(seen[i]) << "probe " << i + 1;
  EXPECT_FALSE(health_->Healthy());
}

TEST_F(AppHealthTest, AnAnswerAfterAFailedProbeIsTakenBeforeTheTimeout) {
  // Probe 1 fails; probe 2 gets no answer from the script, the test answers it well.
  channel_.SetScript([](int n) { return n == 1 ? std::optional<bool>(false) : std::nullopt; });
  AppHealthOptions options = Fast(1);
  options.timeout = 2s;
  Start(options);
  ASSERT_TRUE(channel_.WaitForProbes(2, 500ms));
  EXPECT_FALSE(health_->Healthy());

  auto pending = channel_.TakeUnanswered();
  ASSERT_EQ(pending.size(), 1u);
  pending.front()(true);
  EXPECT_TRUE(WaitForHealthy(true, 500ms));  // well before the 2 s timeout
}

TEST_F(AppHealthTest, StopEndsTheProbes) {
  Start(Fast(3));
  ASSERT_TRUE(channel_.WaitForProbes(3, 1s));
  health_->Stop();
  // The loop takes the Stop first (one strand, one thread), then the marker.
  std::promise<void> stopped;
  asio::post(loop_, [&] { stopped.set_value(); });
  ASSERT_EQ(stopped.get_future().wait_for(1s), std::future_status::ready);
  size_t probes = channel_.probe_count();

  std::this_thread::sleep_for(60ms);  // six intervals
  EXPECT_EQ(channel_.probe_count(), probes);
}

}  // namespace
}  // namespace dapr::channel
