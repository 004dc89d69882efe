// The pub/sub block's way to the app (blocks/pubsub/topic_channel.h), over the app channel:
// an HTTP app is asked GET /dapr/subscribe and gets POST /{route} with the CloudEvent; a
// gRPC app is asked AppCallback/ListTopicSubscriptions and gets AppCallback/OnTopicEvent.
#pragma once

#include <memory>

#include "blocks/pubsub/topic_channel.h"
#include "channel/app_channel.h"

namespace dapr::channel {

// The app channel must outlive the topic channel.
std::unique_ptr<blocks::pubsub::TopicChannel> MakeHttpTopicChannel(AppChannel& app);
std::unique_ptr<blocks::pubsub::TopicChannel> MakeGrpcTopicChannel(AppChannel& app);

}  // namespace dapr::channel
