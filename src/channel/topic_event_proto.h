// The protos an app gets a pub/sub event in (AppCallback OnTopicEvent, AppCallbackAlpha
// OnBulkTopicEventAlpha1, and the event messages of a streaming subscription), built from
// the block's events, and what the app's status means.
#pragma once

#include "blocks/pubsub/topic_channel.h"
#include "dapr/proto/runtime/v1/appcallback.pb.h"

namespace dapr::channel {

// The CloudEvent's own fields, its data as bytes (data_base64 decoded), the rest of its
// fields as extensions.
::dapr::proto::runtime::v1::TopicEventRequest ToProto(const blocks::pubsub::TopicEvent& event);
// A raw entry goes as its bytes, any other as the CloudEvent's fields. Moves the entries' bytes.
::dapr::proto::runtime::v1::TopicEventBulkRequest ToProto(blocks::pubsub::BulkTopicEvent& event);
blocks::pubsub::Outcome OutcomeOf(::dapr::proto::runtime::v1::TopicEventResponse::TopicEventResponseStatus status);

}  // namespace dapr::channel
