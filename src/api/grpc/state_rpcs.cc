// gRPC adapters for the state block.
#include "api/grpc/dapr_service.h"
#include "api/grpc/unary.h"
#include "blocks/state/state_block.h"
#include "dapr/proto/runtime/v1/dapr.pb.h"

namespace dapr::grpcapi {
namespace {

namespace rt = ::dapr::proto::runtime::v1;
namespace common = ::dapr::proto::common::v1;
using google::protobuf::Empty;

using blocks::StateItem;

state::Metadata ToMetadata(const google::protobuf::Map<std::string, std::string>& map) {
  return state::Metadata(map.begin(), map.end());
}

state::Consistency ToConsistency(common::StateOptions::StateConsistency value) {
  switch (value) {
    case common::StateOptions::CONSISTENCY_EVENTUAL: return state::Consistency::kEventual;
    case common::StateOptions::CONSISTENCY_STRONG: return state::Consistency::kStrong;
    default: return state::Consistency::kUnspecified;
  }
}

state::Options ToOptions(const common::StateOptions& options) {
  state::Options out;
  out.consistency = ToConsistency(options.consistency());
  switch (options.concurrency()) {
    case common::StateOptions::CONCURRENCY_FIRST_WRITE:
      out.concurrency = state::Concurrency::kFirstWrite;
      break;
    case common::StateOptions::CONCURRENCY_LAST_WRITE:
      out.concurrency = state::Concurrency::kLastWrite;
      break;
    default:
      break;
  }
  return out;
}

StateItem ToItem(const common::StateItem& item) {
  StateItem out;
  out.key = item.key();
  out.value = item.value();
  if (item.has_etag()) out.etag = item.etag().value();
  out.metadata = ToMetadata(item.metadata());
  out.options = ToOptions(item.options());
  return out;
}

std::vector<StateItem> ToItems(const google::protobuf::RepeatedPtrField<common::StateItem>& items) {
  std::vector<StateItem> out;
  out.reserve(items.size());
  for (const auto& item : items) out.push_back(ToItem(item));
  return out;
}

template <class T>
GrpcStatus StatusOf(const blocks::ApiResult<T>& result) {
  return result.ok() ? GrpcStatus::Ok() : ToGrpcStatus(result.error());
}

void FillGetResponse(state::GetResponse& got, rt::GetStateResponse& response) {
  if (!got.found) return;
  response.set_data(std::move(got.data));
  if (got.etag) response.set_etag(*got.etag);
  response.mutable_metadata()->insert(got.metadata.begin(), got.metadata.end());
}

}  // namespace

void DaprService::AddStateRpcs(GrpcServer& server) const {
  const blocks::StateBlock& state = blocks_.state;

  // GetState and SaveState are the hot calls: they take the block's non-blocking path,
  // which uses the store's event-loop client when it has one and the worker pool otherwise.
  AddAsyncUnary<rt::GetStateRequest, rt::GetStateResponse>(
      server, DaprMethod("GetState"), token_, [&state](const rt::GetStateRequest& request, auto answer) {
        state.GetAsync(request.store_name(), request.key(), ToConsistency(request.consistency()),
                       ToMetadata(request.metadata()),
                       [answer](blocks::ApiResult<state::GetResponse> result) {
                         rt::GetStateResponse response;
                         if (!result.ok()) return answer(ToGrpcStatus(result.error()), response);
                         FillGetResponse(*result, response);
                         answer(GrpcStatus::Ok(), response);
                       });
      });
  AddAsyncUnary<rt::SaveStateRequest, Empty>(
      server, DaprMethod("SaveState"), token_, [&state](const rt::SaveStateRequest& request, auto answer) {
        state.SaveAsync(request.store_name(), ToItems(request.states()),
                        [answer](blocks::ApiResult<blocks::Done> result) {
                          answer(StatusOf(result), Empty());
                        });
      });

  AddUnary<rt::GetBulkStateRequest, rt::GetBulkStateResponse>(
      server, DaprMethod("GetBulkState"), token_, pool_, Blocking::kYes,
      [&state](const rt::GetBulkStateRequest& request, rt::GetBulkStateResponse& response) {
        std::vector<std::string> keys(request.keys().begin(), request.keys().end());
        auto result = state.BulkGet(request.store_name(), keys, ToMetadata(request.metadata()));
        if (!result.ok()) return ToGrpcStatus(result.error());
        for (auto& item : *result) {
          auto* out = response.add_items();
          out->set_key(item.key);
          if (item.response.found) {
            out->set_data(std::move(item.response.data));
            if (item.response.etag) out->set_etag(*item.response.etag);
            out->mutable_metadata()->insert(item.response.metadata.begin(),
                                            item.response.metadata.end());
          }
          out->set_error(item.error);
        }
        return GrpcStatus::Ok();
      });

  AddUnary<rt::DeleteStateRequest, Empty>(
      server, DaprMethod("DeleteState"), token_, pool_, Blocking::kYes,
      [&state](const rt::DeleteStateRequest& request, Empty&) {
        StateItem item;
        item.key = request.key();
        if (request.has_etag()) item.etag = request.etag().value();
        item.options = ToOptions(request.options());
        item.metadata = ToMetadata(request.metadata());
        return StatusOf(state.Delete(request.store_name(), std::move(item)));
      });

  AddUnary<rt::DeleteBulkStateRequest, Empty>(
      server, DaprMethod("DeleteBulkState"), token_, pool_, Blocking::kYes,
      [&state](const rt::DeleteBulkStateRequest& request, Empty&) {
        if (request.states().empty()) return GrpcStatus::Ok();
        return StatusOf(state.BulkDelete(request.store_name(), ToItems(request.states())));
      });

  AddUnary<rt::ExecuteStateTransactionRequest, Empty>(
      server, DaprMethod("ExecuteStateTransaction"), token_, pool_, Blocking::kYes,
      [&state](const rt::ExecuteStateTransactionRequest& request, Empty&) {
        std::vector<blocks::StateTransactionOp> operations;
        operations.reserve(request.operations_size());
        for (const auto& op : request.operations()) {
          operations.push_back({op.operationtype(), ToItem(op.request())});
        }
        return StatusOf(state.Transact(request.storename(), std::move(operations),
                                       ToMetadata(request.metadata())));
      });

  AddUnary<rt::QueryStateRequest, rt::QueryStateResponse>(
      server, DaprMethod("QueryStateAlpha1"), token_, pool_, Blocking::kYes,
      [&state](const rt::QueryStateRequest& request, rt::QueryStateResponse& response) {
        auto result = state.Query(request.store_name(), request.query(), ToMetadata(request.metadata()));
        if (!result.ok()) return ToGrpcStatus(result.error());
        for (auto& item : result->results) {
          auto* out = response.add_results();
          out->set_key(item.key);
          out->set_data(std::move(item.data));
          out->set_etag(item.etag);
        }
        response.set_token(result->token);
        return GrpcStatus::Ok();
      });
}

}  // namespace dapr::grpcapi
