#include "common/run_loop.h"

#include <boost/asio/io_context.hpp>

namespace dapr {

void RunLoop(boost::asio::io_context& loop, std::chrono::microseconds spin) {
  if (spin.count() <= 0) {
    loop.run();
    return;
  }
  using Clock = std::chrono::steady_clock;
  auto last_event = Clock::now();
  while (!loop.stopped()) {
    if (loop.poll() > 0) {
      last_event = Clock::now();
      continue;
    }
    if (loop.stopped()) break;
    if (Clock::now() - last_event < spin) continue;
    // Budget spent with nothing to do: sleep until the next event.
    if (loop.run_one() == 0) break;
    last_event = Clock::now();
  }
}

}  // namespace dapr
