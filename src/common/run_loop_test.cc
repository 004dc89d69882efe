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

}  // namespace
}  // namespace dapr
