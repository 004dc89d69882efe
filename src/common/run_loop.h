// Runs an event loop on the calling thread, spinning briefly before it sleeps while that pays.
//
// Why spin: on a VM, waking a sleeping thread on another CPU costs 20-25 µs, and a sidecar
// call sleeps twice (waiting for the backend, waiting for the next request). With a spin
// budget the loop keeps polling for that long after its last event, so an answer that comes
// back quickly is taken without a wake-up. The price is CPU: up to the budget each time the
// next event comes later than that. So the loop spins only while recent events have come
// within the budget (SpinPolicy): under dense traffic (a closed loop against a fast store)
// it spins; with requests far apart (1000 req/s spread over many connections), or idle, it
// sleeps at once and costs nothing. Nor does it spin on a busy machine: a yield that comes
// back late means other threads wanted this CPU, and the loop sleeps instead (under a
// throughput load on 2 cores the spin only added context switches). daprd --busy-poll-us
// sets the budget; 0 turns it off.
#pragma once

#include <chrono>

namespace boost::asio {
class io_context;
}

namespace dapr {

// Decides, from how long the loop waited for each of its recent events, whether to spin for
// the next one. A miss (an event later than the budget) stops the spinning at once; it comes
// back after a run of quick events. Time is given, never read: tests drive it directly.
class SpinPolicy {
 public:
  explicit SpinPolicy(std::chrono::microseconds budget) : budget_(budget) {}

  bool ShouldSpin() const { return budget_.count() > 0 && pays_ >= kSpinAbove; }
  // The loop waited `waited` for an event (spinning or asleep); nothing came: pass the budget.
  void Waited(std::chrono::steady_clock::duration waited) {
    bool hit = waited < budget_;
    pays_ += ((hit ? kOne : 0) - pays_) / kWeight;
  }
  std::chrono::microseconds budget() const { return budget_; }

 private:
  // An average over the last ~8 waits of "the event came within the budget", in 1/1024ths;
  // spinning needs it above 7/8: about 16 quick events in a row from idle, and one miss
  // takes it below again.
  static constexpr int kOne = 1024;
  static constexpr int kWeight = 8;
  static constexpr int kSpinAbove = kOne * 7 / 8;
  std::chrono::microseconds budget_;
  int pays_ = 0;
};

// Returns when the loop is stopped or runs out of work. spin == 0: plain run().
void RunLoop(boost::asio::io_context& loop, std::chrono::microseconds spin);

}  // namespace dapr
