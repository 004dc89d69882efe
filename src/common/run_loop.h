// Runs an event loop on the calling thread, optionally spinning briefly before sleeping.
//
// Why spin: on a VM, waking a sleeping thread on another CPU costs 20-25 µs, and a sidecar
// call sleeps twice (waiting for the backend, waiting for the next request). With a spin
// budget the loop keeps polling for that long after its last event, so an answer that comes
// back quickly is taken without a wake-up. The price is CPU: up to the budget per burst of
// events, so it is off by default (daprd --busy-poll-us).
#pragma once

#include <chrono>

namespace boost::asio {
class io_context;
}

namespace dapr {

// Returns when the loop is stopped or runs out of work. spin == 0: plain run().
void RunLoop(boost::asio::io_context& loop, std::chrono::microseconds spin);

}  // namespace dapr
