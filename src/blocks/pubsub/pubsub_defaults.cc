// The default of the optional pub/sub component call: bulk publish as single publishes.
#include "dapr/pubsub/pubsub.h"

namespace dapr::pubsub {

std::vector<BulkPublishFailure> PubSub::BulkPublish(const BulkPublishRequest& request) {
  std::vector<BulkPublishFailure> failed;
  for (const auto& entry : request.entries) {
    Status status = Publish({request.topic, entry.data, entry.content_type, entry.metadata});
    if (!status.ok()) failed.push_back({entry.entry_id, status.message()});
  }
  return failed;
}

}  // namespace dapr::pubsub
