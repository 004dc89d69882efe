// How the blocks arm a timer without owning an event loop: daprd passes one that runs fn on
// its loop after delay; tests pass their own.
#pragma once

#include <chrono>
#include <functional>

namespace dapr::blocks {

// Runs fn after delay (on the sidecar's event loop, in daprd).
using Schedule = std::function<void(std::chrono::nanoseconds delay, std::function<void()> fn)>;

// Stops a timer: once it returns, fn does not start (fn that already runs is not waited for).
using CancelTimer = std::function<void()>;
// For timers that usually do not fire (a timeout on every delivery): each is cancelled when
// its call ends, so a busy sidecar does not hold one armed timer per call for the timeout.
using CancellableSchedule = std::function<CancelTimer(std::chrono::nanoseconds delay, std::function<void()> fn)>;

}  // namespace dapr::blocks
