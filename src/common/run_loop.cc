#include "common/run_loop.h"

#include <sched.h>

#include <algorithm>

#include <boost/asio/io_context.hpp>

namespace dapr {
namespace {
// A handler that was already queued comes back sooner than this: it says nothing about how
// long the loop waits for events, and is not counted.
constexpr auto kAlreadyQueued = std::chrono::microseconds(3);
// About what waking a sleeping thread from another CPU costs on a VM (measured: 20-40 µs).
constexpr auto kWakeUp = std::chrono::microseconds(30);
// A sched_yield that returns later than this let another thread run: the CPU is busy.
constexpr auto kBusyCpu = std::chrono::microseconds(10);
}  // namespace

void RunLoop(boost::asio::io_context& loop, std::chrono::microseconds spin) {
  if (spin.count() <= 0) {
    loop.run();
    return;
  }
  using Clock = std::chrono::steady_clock;
  SpinPolicy policy(spin);
  // Asleep, a wait includes the wake-up itself, which a spin would not have waited for: a
  // store that answers in 80 µs is seen 110 µs later by a sleeping loop.
  auto note = [&](Clock::duration waited, bool asleep) {
    if (waited < kAlreadyQueued) return;
    policy.Waited(asleep ? std::max<Clock::duration>(waited - kWakeUp, Clock::duration::zero()) : waited);
  };
  while (!loop.stopped()) {
    auto waiting_since = Clock::now();
    bool missed = false;
    if (policy.ShouldSpin()) {
      bool got = false;
      auto polled_at = waiting_since;
      while (!(got = loop.poll() > 0) && !loop.stopped()) {
        polled_at = Clock::now();
        if (polled_at - waiting_since >= spin) break;
        // Another thread that is ready on this CPU (the store's server, the client) runs
        // first: spinning must not hold back the answer it waits for.
        sched_yield();
        // The yield came back late: others were ready to run here, so the CPU is not idle and
        // a spin only adds context switches to a busy machine. Sleep instead, like a miss.
        auto yielded_at = Clock::now();
        if (yielded_at - polled_at >= kBusyCpu) break;
      }
      if (got) {
        note(polled_at - waiting_since, /*asleep=*/false);  // the wait, not the handlers' work
        continue;
      }
      if (loop.stopped()) break;
      policy.Waited(spin);  // nothing came within the budget, or the CPU is wanted elsewhere
      missed = true;
    }
    if (loop.run_one() == 0) break;  // asleep until the next event
    if (!missed) note(Clock::now() - waiting_since, /*asleep=*/true);
  }
}

}  // namespace dapr
