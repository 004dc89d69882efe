// One delivery of an event to the app under the component's inbound resiliency policy
// (targets.components.<name>.inbound, or Dapr's defaults for pub/sub): every attempt is
// bounded by a timeout, an attempt that the app answers with RETRY (or fails) is tried again
// after the retry policy's delays, and all of it sits behind the component's circuit breaker.
// The last attempt's result is the delivery's: RETRY then means "give it back to the broker
// or to the dead-letter topic", which is the caller's business.
#pragma once

#include <chrono>
#include <functional>
#include <memory>

#include "blocks/pubsub/topic_channel.h"
#include "blocks/schedule.h"
#include "resiliency/policies.h"

namespace dapr::blocks::pubsub {

// Dapr has no delivery timeout of its own; without one an app that never answers would
// hold a delivery slot for ever. This bound applies when the policy sets no timeout. It is
// pubsub.redis's default processingTimeout, after which Dapr itself redelivers.
inline constexpr std::chrono::seconds kDefaultDeliveryTimeout{60};

struct DeliveryGuard {
  resiliency::ComponentPolicy policy;
  std::chrono::nanoseconds default_timeout = kDefaultDeliveryTimeout;
  CancellableSchedule schedule;  // empty: no timeout and no retries (one attempt)
};

// One try: hands the event to the app; done runs once, on any thread.
using DeliverAttempt = std::function<void(std::function<void(DeliveryResult)> done)>;

// guard is shared with the subscription: a retry may outlive the subscription's other parts.
void GuardedDeliver(std::shared_ptr<const DeliveryGuard> guard, DeliverAttempt attempt,
                    std::function<void(DeliveryResult)> done);

}  // namespace dapr::blocks::pubsub
