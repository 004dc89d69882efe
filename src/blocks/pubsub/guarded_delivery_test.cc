// GuardedDeliver: RETRY answers are tried again under the retry policy until the app acks,
// the last answer is given back when retries run out, DROP is final, a silent app is ended
// by the timeout (the policy's or the default) and a late answer is ignored, `matching`
// limits what is retried, and an open breaker answers without calling the app. Timers are
// a queue run by hand; cancelled ones are marked.
#include "blocks/pubsub/guarded_delivery.h"

#include <gtest/gtest.h>

#include <deque>
#include <optional>

namespace dapr::blocks::pubsub {
namespace {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using namespace std::chrono_literals;

struct ManualTimers {
  struct Pending {
    nanoseconds delay;
    std::function<void()> fn;
    std::shared_ptr<bool> cancelled;
  };
  std::deque<Pending> pending;
  CancellableSchedule schedule() {
    return [this](nanoseconds delay, std::function<void()> fn) -> CancelTimer {
      auto cancelled = std::make_shared<bool>(false);
      pending.push_back({delay, std::move(fn), cancelled});
      return [cancelled] { *cancelled = true; };
    };
  }
  // Runs the oldest timer that was not cancelled (dropping cancelled ones); false when none.
  bool RunNext(nanoseconds* delay = nullptr) {
    while (!pending.empty()) {
      auto next = std::move(pending.front());
      pending.pop_front();
      if (*next.cancelled) continue;
      if (delay) *delay = next.delay;
      next.fn();
      return true;
    }
    return false;
  }
  size_t Armed() const {
    size_t n = 0;
    for (const auto& p : pending) n += !*p.cancelled;
    return n;
  }
};

std::shared_ptr<const resiliency::RetryPolicy> ConstantRetry(int max_retries, std::string http_codes = "") {
  resiliency::RetrySpec spec;
  spec.duration = milliseconds(10);
  spec.max_retries = max_retries;
  if (!http_codes.empty()) spec.http_status_codes = resiliency::ParseStatusCodes(http_codes, resiliency::kValidHttpStatusCodes).value();
  return std::make_shared<const resiliency::RetryPolicy>(spec);
}

// An app answering from a script, one entry per attempt (the last one repeats); an entry
// without a value never answers until Answer is called.
struct ScriptedApp {
  std::vector<std::optional<DeliveryResult>> answers;
  int attempts = 0;
  std::function<void(DeliveryResult)> silent;  // the unanswered attempt's callback
  DeliverAttempt attempt() {
    return [this](std::function<void(DeliveryResult)> done) {
      const auto& answer = answers[std::min<size_t>(attempts++, answers.size() - 1)];
      if (answer) return done(*answer);
      silent = std::move(done);
    };
  }
};

struct Outcomes {
  std::optional<DeliveryResult> result;
  int calls = 0;
};

std::shared_ptr<DeliveryGuard> Guard(ManualTimers& timers, resiliency::ComponentPolicy policy = {}) {
  auto guard = std::make_shared<DeliveryGuard>();
  guard->policy = std::move(policy);
  guard->schedule = timers.schedule();
  return guard;
}

void Deliver(std::shared_ptr<const DeliveryGuard> guard, ScriptedApp& app, Outcomes& run) {
  GuardedDeliver(std::move(guard), app.attempt(), [&run](DeliveryResult result) {
    ++run.calls;
    run.result = std::move(result);
  });
}

const DeliveryResult kRetry{Outcome::kRetry, "RETRY"};
const DeliveryResult kSuccess{Outcome::kSuccess, ""};

TEST(GuardedDeliveryTest, RetryAnswersAreDeliveredAgainUntilTheAppAcks) {
  ManualTimers timers;
  ScriptedApp app;
  app.answers = {kRetry, kRetry, kSuccess};
  Outcomes run;
  Deliver(Guard(timers, {std::nullopt, ConstantRetry(5), nullptr}), app, run);
  nanoseconds delay{};
  while (!run.result && timers.RunNext(&delay)) {
  }
  ASSERT_TRUE(run.result);
  EXPECT_EQ(run.result->outcome, Outcome::kSuccess);
  EXPECT_EQ(app.attempts, 3);
  EXPECT_EQ(run.calls, 1);
  EXPECT_EQ(timers.Armed(), 0u);  // each attempt's timeout was cancelled by its answer
}

TEST(GuardedDeliveryTest, TheLastRetryAnswerIsGivenBackWhenRetriesRunOut) {
  ManualTimers timers;
  ScriptedApp app;
  app.answers = {kRetry};
  Outcomes run;
  Deliver(Guard(timers, {std::nullopt, ConstantRetry(2), nullptr}), app, run);
  while (!run.result && timers.RunNext()) {
  }
  ASSERT_TRUE(run.result);
  EXPECT_EQ(run.result->outcome, Outcome::kRetry);
  EXPECT_EQ(app.attempts, 3);  // the first try and two retries
}

TEST(GuardedDeliveryTest, WithoutARetryPolicyOneAttemptDecides) {
  ManualTimers timers;
  ScriptedApp app;
  app.answers = {kRetry, kSuccess};
  Outcomes run;
  Deliver(Guard(timers), app, run);
  ASSERT_TRUE(run.result);
  EXPECT_EQ(run.result->outcome, Outcome::kRetry);
  EXPECT_EQ(app.attempts, 1);
}

TEST(GuardedDeliveryTest, DropIsTheAppsDecisionAndIsNotRetried) {
  ManualTimers timers;
  ScriptedApp app;
  app.answers = {DeliveryResult{Outcome::kDrop, "DROP"}};
  Outcomes run;
  Deliver(Guard(timers, {std::nullopt, ConstantRetry(5), nullptr}), app, run);
  ASSERT_TRUE(run.result);
  EXPECT_EQ(run.result->outcome, Outcome::kDrop);
  EXPECT_EQ(app.attempts, 1);
}

TEST(GuardedDeliveryTest, AnAppThatNeverAnswersIsEndedByThePolicyTimeoutAndRetried) {
  ManualTimers timers;
  ScriptedApp app;
  app.answers = {std::nullopt, kSuccess};
  Outcomes run;
  Deliver(Guard(timers, {250ms, ConstantRetry(3), nullptr}), app, run);
  nanoseconds delay{};
  ASSERT_TRUE(timers.RunNext(&delay));  // the timeout of the silent first attempt
  EXPECT_EQ(delay, 250ms);
  EXPECT_FALSE(run.result);
  ASSERT_TRUE(timers.RunNext(&delay));  // the retry's delay
  EXPECT_EQ(delay, 10ms);
  ASSERT_TRUE(run.result);
  EXPECT_EQ(run.result->outcome, Outcome::kSuccess);
  // The first attempt's answer, coming late, changes nothing.
  app.silent(kRetry);
  EXPECT_EQ(run.calls, 1);
  EXPECT_EQ(run.result->outcome, Outcome::kSuccess);
}

TEST(GuardedDeliveryTest, WithoutAPolicyTimeoutTheDefaultBoundsADelivery) {
  ManualTimers timers;
  ScriptedApp app;
  app.answers = {std::nullopt};
  Outcomes run;
  Deliver(Guard(timers), app, run);
  nanoseconds delay{};
  ASSERT_TRUE(timers.RunNext(&delay));
  EXPECT_EQ(delay, kDefaultDeliveryTimeout);
  ASSERT_TRUE(run.result);
  EXPECT_EQ(run.result->outcome, Outcome::kRetry);
  EXPECT_NE(run.result->detail.find("did not answer"), std::string::npos) << run.result->detail;
}

TEST(GuardedDeliveryTest, MatchingLimitsRetriesToTheListedStatuses) {
  ManualTimers timers;
  DeliveryResult unavailable{Outcome::kRetry, "503", 503, std::nullopt};
  DeliveryResult bad_request{Outcome::kRetry, "400", 400, std::nullopt};
  ScriptedApp app;
  app.answers = {unavailable, bad_request, kSuccess};
  Outcomes run;
  Deliver(Guard(timers, {std::nullopt, ConstantRetry(5, "500-599"), nullptr}), app, run);
  while (!run.result && timers.RunNext()) {
  }
  ASSERT_TRUE(run.result);
  EXPECT_EQ(run.result->http_status, 400);  // not listed: given back at once
  EXPECT_EQ(app.attempts, 2);
}

TEST(GuardedDeliveryTest, AnOpenBreakerAnswersRetryWithoutCallingTheApp) {
  ManualTimers timers;
  resiliency::BreakerSpec spec;
  spec.trip = "consecutiveFailures >= 2";
  auto trip = resiliency::TripExpression::Parse(spec.trip);
  ASSERT_TRUE(trip.ok());
  auto breaker = std::make_shared<resiliency::CircuitBreaker>(spec, *trip);
  auto guard = Guard(timers, {std::nullopt, nullptr, breaker});
  ScriptedApp app;
  app.answers = {kRetry};
  for (int i = 0; i < 2; ++i) {
    Outcomes run;
    Deliver(guard, app, run);
  }
  EXPECT_EQ(app.attempts, 2);
  Outcomes run;
  Deliver(guard, app, run);
  EXPECT_EQ(app.attempts, 2);
  ASSERT_TRUE(run.result);
  EXPECT_EQ(run.result->outcome, Outcome::kRetry);
  EXPECT_NE(run.result->detail.find("circuit breaker"), std::string::npos);
}

TEST(GuardedDeliveryTest, WithoutTimersThereIsOneAttemptAndNoTimeout) {
  auto guard = std::make_shared<DeliveryGuard>();
  guard->policy.retry = ConstantRetry(5);
  ScriptedApp app;
  app.answers = {kRetry};
  Outcomes run;
  Deliver(guard, app, run);
  ASSERT_TRUE(run.result);
  EXPECT_EQ(app.attempts, 1);
}

}  // namespace
}  // namespace dapr::blocks::pubsub
