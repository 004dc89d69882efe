// One invocation under an app's resiliency policy: each attempt bounded by the timeout,
// failed attempts retried after the retry policy's delays, all behind the app's circuit
// breaker. Timers come from a Schedule, so the block and its tests need no event loop.
#pragma once

#include <chrono>
#include <functional>

#include "blocks/schedule.h"
#include "channel/app_channel.h"
#include "resiliency/policies.h"

namespace dapr::blocks {

// One try of the call; done is called once with its outcome.
using Attempt = std::function<void(channel::AppCallback done)>;

// A failure, for retries and the breaker, is an error or an app status outside 200-399 (as
// Dapr counts it); after the last retry the app's own answer is returned as it is. A
// circuit that is open answers at once, without touching the app. connection_retry is
// the policy for transport errors when there is no retry policy (Dapr's built-in one).
void GuardedInvoke(const resiliency::AppPolicy& policy, const Schedule& schedule,
                   Attempt attempt, channel::AppCallback done);

}  // namespace dapr::blocks
