// WorkerPool: threads start only as work needs them, never beyond the cap, and Stop runs
// what is queued.
#include "common/worker_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

namespace dapr {
namespace {

using namespace std::chrono_literals;

TEST(WorkerPool, StartsNoThreadUntilWorkArrives) {
  WorkerPool pool(4);
  EXPECT_EQ(pool.Threads(), 0u);
  std::promise<void> ran;
  pool.Post([&] { ran.set_value(); });
  EXPECT_EQ(ran.get_future().wait_for(2s), std::future_status::ready);
  EXPECT_EQ(pool.Threads(), 1u);
}

TEST(WorkerPool, ReusesAnIdleThreadForSequentialWork) {
  WorkerPool pool(4);
  for (int i = 0; i < 20; ++i) {
    std::promise<void> ran;
    pool.Post([&] { ran.set_value(); });
    ASSERT_EQ(ran.get_future().wait_for(2s), std::future_status::ready);
    std::this_thread::sleep_for(1ms);  // let the thread go back to waiting
  }
  EXPECT_EQ(pool.Threads(), 1u);
}

TEST(WorkerPool, GrowsForBlockedWorkUpToItsCap) {
  WorkerPool pool(3);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<int> running{0};
  for (int i = 0; i < 10; ++i) {
    pool.Post([&, released] {
      ++running;
      released.wait();
    });
  }
  auto deadline = std::chrono::steady_clock::now() + 2s;
  while (running.load() < 3 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(1ms);
  }
  EXPECT_EQ(running.load(), 3);
  EXPECT_EQ(pool.Threads(), 3u);
  release.set_value();
  pool.Stop();
  EXPECT_EQ(running.load(), 10);  // Stop ran the queued tasks
}

TEST(WorkerPool, PostAfterStopIsIgnored) {
  WorkerPool pool(2);
  pool.Stop();
  bool ran = false;
  pool.Post([&] { ran = true; });
  EXPECT_FALSE(ran);
  EXPECT_EQ(pool.Threads(), 0u);
}

}  // namespace
}  // namespace dapr
