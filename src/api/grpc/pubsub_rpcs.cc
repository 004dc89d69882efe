// gRPC adapters for the pub/sub block: PublishEvent and BulkPublishEventAlpha1.
#include "api/grpc/dapr_service.h"
#include "api/grpc/unary.h"
#include "blocks/pubsub/pubsub_block.h"
#include "common/trace_context.h"
#include "dapr/proto/runtime/v1/dapr.pb.h"

namespace dapr::grpcapi {
namespace {

namespace rt = ::dapr::proto::runtime::v1;
using google::protobuf::Empty;

std::map<std::string, std::string> ToMap(const google::protobuf::Map<std::string, std::string>& map) {
  return {map.begin(), map.end()};
}

blocks::BulkPublishItem ToBulkItem(const rt::BulkPublishRequest& request) {
  blocks::BulkPublishItem item;
  item.pubsub_name = request.pubsub_name();
  item.topic = request.topic();
  item.metadata = ToMap(request.metadata());
  item.traceparent = trace::ContinueTrace(std::nullopt);
  for (const auto& entry : request.entries()) {
    item.entries.push_back({entry.entry_id(), entry.event(), entry.content_type(), ToMap(entry.metadata())});
  }
  return item;
}

}  // namespace

void DaprService::AddPubSubRpcs(GrpcServer& server) const {
  const blocks::PubSubBlock& pubsub = blocks_.pubsub;
  AddAsyncUnary<rt::PublishEventRequest, Empty>(
      server, DaprMethod("PublishEvent"), token_, [&pubsub](const rt::PublishEventRequest& request, auto answer) {
        blocks::PublishItem item;
        item.pubsub_name = request.pubsub_name();
        item.topic = request.topic();
        item.data = request.data();
        item.content_type = request.data_content_type();
        item.metadata = ToMap(request.metadata());
        item.traceparent = trace::ContinueTrace(std::nullopt);
        pubsub.Publish(std::move(item), [answer](blocks::ApiResult<blocks::Done> result) {
          answer(result.ok() ? GrpcStatus::Ok() : ToGrpcStatus(result.error()), Empty());
        });
      });
  AddAsyncUnary<rt::BulkPublishRequest, rt::BulkPublishResponse>(
      server, DaprMethod("BulkPublishEventAlpha1"), token_,
      [&pubsub](const rt::BulkPublishRequest& request, auto answer) {
        pubsub.BulkPublish(ToBulkItem(request), [answer](blocks::ApiResult<blocks::BulkPublishFailures> result) {
          rt::BulkPublishResponse response;
          if (!result.ok()) return answer(ToGrpcStatus(result.error()), response);
          for (const auto& failure : *result) {
            auto* out = response.add_failedentries();
            out->set_entry_id(failure.entry_id);
            out->set_error(failure.error);
          }
          answer(GrpcStatus::Ok(), response);
        });
      });
}

}  // namespace dapr::grpcapi
