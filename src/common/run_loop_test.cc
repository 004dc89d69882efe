// RunLoop: with or without a spin budget, it runs every handler and returns on stop.
#include "common/run_loop.h"

#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <thread>

namespace dapr {
namespace {

using namespace std::chrono_literals;

class RunLoopTest : public ::testing::TestWithParam<std::chrono::microseconds> {};

TEST_P(RunLoopTest, RunsHandlersAndTimersThenReturnsWhenWorkEnds) {
  boost::asio::io_context loop;
  int handled = 0;
  for (int i = 0; i < 10; ++i) boost::asio::post(loop, [&] { ++handled; });
  boost::asio::steady_timer timer(loop, 5ms);
  bool fired = false;
  timer.async_wait([&](boost::system::error_code ec) { fired = !ec; });
  RunLoop(loop, GetParam());
  EXPECT_EQ(handled, 10);
  EXPECT_TRUE(fired);
}

TEST_P(RunLoopTest, ReturnsWhenStoppedFromAnotherThread) {
  boost::asio::io_context loop;
  auto work = boost::asio::make_work_guard(loop);
  std::thread runner([&] { RunLoop(loop, GetParam()); });
  std::this_thread::sleep_for(10ms);
  int handled = 0;
  boost::asio::post(loop, [&] { ++handled; });
  std::this_thread::sleep_for(10ms);
  loop.stop();
  runner.join();
  EXPECT_EQ(handled, 1);
}

INSTANTIATE_TEST_SUITE_P(SpinBudgets, RunLoopTest, ::testing::Values(0us, 50us, 100ms));

TEST(SpinPolicy, AnIdleLoopDoesNotSpin) {
  SpinPolicy policy(100us);
  EXPECT_FALSE(policy.ShouldSpin());
  for (int i = 0; i < 100; ++i) policy.Waited(1ms);  // requests far apart
  EXPECT_FALSE(policy.ShouldSpin());
}

TEST(SpinPolicy, SpinsAfterARunOfQuickEventsAndStopsAtTheFirstMiss) {
  SpinPolicy policy(100us);
  int quick = 0;
  while (!policy.ShouldSpin() && quick < 100) {
    policy.Waited(30us);  // a fast store's answer, a closed-loop client's next request
    ++quick;
  }
  EXPECT_TRUE(policy.ShouldSpin());
  EXPECT_GE(quick, 10);  // not on the first quick event after idling
  EXPECT_LE(quick, 20);
  for (int i = 0; i < 100; ++i) policy.Waited(30us);  // dense traffic goes on
  policy.Waited(100us);  // a spin that found nothing: the budget is not "within"
  EXPECT_FALSE(policy.ShouldSpin());
  policy.Waited(30us);
  EXPECT_TRUE(policy.ShouldSpin());  // a single miss in dense traffic: one quick event resumes
}

TEST(SpinPolicy, AlternatingQuickAndSlowEventsDoNotSpin) {
  // A request-answer pattern with requests far apart: the store answers fast, the next
  // request comes late. Spinning would waste the budget after every answer.
  SpinPolicy policy(100us);
  for (int i = 0; i < 200; ++i) {
    policy.Waited(30us);
    policy.Waited(900us);
    EXPECT_FALSE(policy.ShouldSpin()) << "after pair " << i;
  }
}

TEST(SpinPolicy, AZeroBudgetNeverSpins) {
  SpinPolicy policy(0us);
  for (int i = 0; i < 100; ++i) policy.Waited(0us);
  EXPECT_FALSE(policy.ShouldSpin());
}

}  // namespace
}  // namespace dapr
