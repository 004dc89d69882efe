// Tests for LimitedAppChannel (--app-max-concurrency): at most N calls reach the inner
// channel at once, the others wait in arrival order, and health probes never wait. The inner
// channel is a fake that holds every call until the test completes it.
#include "channel/limited_app_channel.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace dapr::channel {
namespace {

using namespace std::chrono_literals;

AppRequest Request(std::string method) {
  AppRequest request;
  request.method = std::move(method);
  return request;
}

AppResponse Response(std::string body) {
  AppResponse response;
  response.body = std::move(body);
  return response;
}

// An app channel that keeps each call until the test completes it, and records what it saw:
// the order calls started in and the most that were in flight at once.
class HeldChannel final : public AppChannel {
 public:
  void Invoke(AppRequest request, AppCallback done) override {
    std::lock_guard lock(mutex_);
    started_.push_back(request.method);
    held_.push_back({request.method, std::move(done)});
    max_in_flight_ = std::max(max_in_flight_, held_.size());
    changed_.notify_all();
  }

  void CheckHealth(AppRequest probe, std::function<void(bool)> done) override {
    {
      std::lock_guard lock(mutex_);
      probes_.push_back(probe.method);
    }
    done(true);
  }

  // Ends the held call of `method`. The callback runs outside the lock: the limited channel
  // starts the next waiting call from it, which comes back into Invoke.
  bool Complete(const std::string& method, blocks::ApiResult<AppResponse> result) {
    AppCallback done;
    {
      std::lock_guard lock(mutex_);
      auto found = std::find_if(held_.begin(), held_.end(),
                                [&](const Held& held) { return held.method == method; });
      if (found == held_.end()) return false;
      done = std::move(found->done);
      held_.erase(found);
    }
    done(std::move(result));
    return true;
  }

  // Ends the oldest held call, answering with its method name; false when none is held.
  bool CompleteOldest() {
    std::string method;
    {
      std::lock_guard lock(mutex_);
      if (held_.empty()) return false;
      method = held_.front().method;
    }
    return Complete(method, Response(method));
  }

  std::vector<std::string> started() {
    std::lock_guard lock(mutex_);
    return started_;
  }
  size_t in_flight() {
    std::lock_guard lock(mutex_);
    return held_.size();
  }
  size_t max_in_flight() {
    std::lock_guard lock(mutex_);
    return max_in_flight_;
  }
  std::vector<std::string> probes() {
    std::lock_guard lock(mutex_);
    return probes_;
  }
  bool WaitForHeld(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return !held_.empty(); });
  }

 private:
  struct Held {
    std::string method;
    AppCallback done;
  };
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::string> started_;
  std::vector<Held> held_;
  size_t max_in_flight_ = 0;
  std::vector<std::string> probes_;
};

// What the callers got back, in the order their callbacks ran.
class Answers {
 public:
  AppCallback For(std::string caller) {
    return [this, caller = std::move(caller)](blocks::ApiResult<AppResponse> result) {
      std::lock_guard lock(mutex_);
      std::string what = result.ok() ? result->body : "error:" + result.error().message;
      answers_.push_back(caller + "=" + what);
    };
  }
  std::vector<std::string> all() {
    std::lock_guard lock(mutex_);
    return answers_;
  }
  size_t size() {
    std::lock_guard lock(mutex_);
    return answers_.size();
  }

 private:
  std::mutex mutex_;
  std::vector<std::string> answers_;
};

class LimitedAppChannelTest : public ::testing::Test {
 protected:
  void Limit(size_t max_in_flight) {
    auto inner = std::make_unique<HeldChannel>();
    inner_ = inner.get();
    channel_ = std::make_unique<LimitedAppChannel>(std::move(inner), max_in_flight);
  }

  void Invoke(const std::string& method) {
    channel_->Invoke(Request(method), answers_.For(method));
  }

  Answers answers_;
  HeldChannel* inner_ = nullptr;
  std::unique_ptr<LimitedAppChannel> channel_;
};

TEST_F(LimitedAppChannelTest, NeverMoreThanTheLimitInFlight) {
  Limit(2);
  for (const char* method : {"a", "b", "c", "d", "e"}) Invoke(method);

  EXPECT_EQ(inner_->started(), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(answers_.size(), 0u);

  // Each completion lets exactly one waiting call through.
  ASSERT_TRUE(inner_->Complete("b", Response("b")));
  EXPECT_EQ(inner_->started(), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(inner_->in_flight(), 2u);
  while (inner_->CompleteOldest()) {
    EXPECT_LE(inner_->in_flight(), 2u);
  }
  EXPECT_EQ(inner_->started().size(), 5u);
  EXPECT_EQ(inner_->max_in_flight(), 2u);
  EXPECT_EQ(answers_.size(), 5u);
}

TEST_F(LimitedAppChannelTest, WaitingCallsStartInArrivalOrder) {
  Limit(1);
  for (const char* method : {"first", "second", "third", "fourth"}) Invoke(method);
  EXPECT_EQ(inner_->started(), (std::vector<std::string>{"first"}));

  while (inner_->CompleteOldest()) {
  }

  EXPECT_EQ(inner_->started(), (std::vector<std::string>{"first", "second", "third", "fourth"}));
  // Each caller gets its own answer.
  EXPECT_EQ(answers_.all(), (std::vector<std::string>{"first=first", "second=second", "third=third",
                                                      "fourth=fourth"}));
}

TEST_F(LimitedAppChannelTest, AFailedCallReleasesItsSlot) {
  Limit(1);
  Invoke("fails");
  Invoke("waits");
  EXPECT_EQ(inner_->started(), (std::vector<std::string>{"fails"}));

  ASSERT_TRUE(inner_->Complete("fails", blocks::errors::InvokeCause("app unreachable")));
  EXPECT_EQ(inner_->started(), (std::vector<std::string>{"fails", "waits"}));
  ASSERT_TRUE(inner_->Complete("waits", Response("ok")));

  // Nothing is left counted in flight: the next call starts at once.
  Invoke("later");
  EXPECT_EQ(inner_->started(), (std::vector<std::string>{"fails", "waits", "later"}));
  ASSERT_TRUE(inner_->Complete("later", Response("ok")));
  EXPECT_EQ(answers_.all(),
            (std::vector<std::string>{"fails=error:app unreachable", "waits=ok", "later=ok"}));
}

TEST_F(LimitedAppChannelTest, ACallWithNothingWaitingFreesItsSlot) {
  Limit(2);
  Invoke("a");
  ASSERT_TRUE(inner_->Complete("a", Response("a")));
  Invoke("b");
  Invoke("c");
  EXPECT_EQ(inner_->started(), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(inner_->in_flight(), 2u);
}

// A streamed answer is still in flight until its caller has read or dropped its body.
TEST_F(LimitedAppChannelTest, AStreamedAnswerHoldsItsSlotUntilItsBodyIsDone) {
  Limit(1);
  std::shared_ptr<BodyReader> body;
  channel_->Invoke(Request("streams"), [&](blocks::ApiResult<AppResponse> result) {
    ASSERT_TRUE(result.ok());
    body = std::move(result->body_reader);
  });
  Invoke("waits");
  AppResponse streamed;
  streamed.body_reader = BodyFromString("the body");
  ASSERT_TRUE(inner_->Complete("streams", std::move(streamed)));
  ASSERT_NE(body, nullptr);
  EXPECT_EQ(inner_->started(), (std::vector<std::string>{"streams"}));

  std::string read;
  body->Read([&](Status status, BodyPiece piece) {
    EXPECT_TRUE(status.ok());
    EXPECT_TRUE(piece.last);
    read = piece.bytes;
  });
  EXPECT_EQ(read, "the body");
  EXPECT_EQ(inner_->started(), (std::vector<std::string>{"streams"}));
  body.reset();  // the caller is done with it
  EXPECT_EQ(inner_->started(), (std::vector<std::string>{"streams", "waits"}));
}

TEST_F(LimitedAppChannelTest, HealthProbesPassWhileTheQueueIsFull) {
  Limit(1);
  for (const char* method : {"busy", "queued-1", "queued-2"}) Invoke(method);

  std::optional<bool> healthy;
  channel_->CheckHealth(Request("healthz"), [&](bool ok) { healthy = ok; });

  ASSERT_TRUE(healthy.has_value());
  EXPECT_TRUE(*healthy);
  EXPECT_EQ(inner_->probes(), (std::vector<std::string>{"healthz"}));
  EXPECT_EQ(inner_->started(), (std::vector<std::string>{"busy"}));  // the queue is unchanged
}

// Callers on several threads, and completions on another: the limit holds throughout and
// every caller gets exactly one answer.
TEST_F(LimitedAppChannelTest, TheLimitHoldsAcrossThreads) {
  constexpr size_t kLimit = 3;
  constexpr int kThreads = 4;
  constexpr int kCallsEach = 50;
  Limit(kLimit);

  std::atomic<bool> callers_done{false};
  std::thread completer([&] {
    auto until = std::chrono::steady_clock::now() + 5s;
    while (std::chrono::steady_clock::now() < until) {
      if (inner_->CompleteOldest()) continue;
      if (callers_done && answers_.size() == kThreads * kCallsEach) return;
      inner_->WaitForHeld(1ms);
    }
  });
  std::vector<std::thread> callers;
  for (int t = 0; t < kThreads; ++t) {
    callers.emplace_back([&, t] {
      for (int i = 0; i < kCallsEach; ++i) Invoke(std::to_string(t) + "-" + std::to_string(i));
    });
  }
  for (auto& caller : callers) caller.join();
  callers_done = true;
  completer.join();

  EXPECT_EQ(answers_.size(), static_cast<size_t>(kThreads * kCallsEach));
  EXPECT_EQ(inner_->started().size(), static_cast<size_t>(kThreads * kCallsEach));
  EXPECT_LE(inner_->max_in_flight(), kLimit);
  EXPECT_EQ(inner_->in_flight(), 0u);
}

}  // namespace
}  // namespace dapr::channel
