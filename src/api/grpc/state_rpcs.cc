// gRPC adapters for the state block.
#include "api/grpc/dapr_service.h"
#include "blocks/state/state_block.h"

namespace dapr::grpcapi {
namespace {

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
grpc::Status Finish(const blocks::ApiResult<T>& result) {
  return result.ok() ? grpc::Status::OK : ToGrpcStatus(result.error());
}

}  // namespace

grpc::ServerUnaryReactor* DaprService::GetState(grpc::CallbackServerContext* context,
                                                const rt::GetStateRequest* request,
                                                rt::GetStateResponse* response) {
  return Unary(context, true, [this, request, response] {
    auto result = blocks_.state.Get(request->store_name(), request->key(),
                                    ToConsistency(request->consistency()),
                                    ToMetadata(request->metadata()));
    if (!result.ok()) return ToGrpcStatus(result.error());
    if (result->found) {
      response->set_data(std::move(result->data));
      if (result->etag) response->set_etag(*result->etag);
      response->mutable_metadata()->insert(result->metadata.begin(), result->metadata.end());
    }
    return grpc::Status::OK;
  });
}

grpc::ServerUnaryReactor* DaprService::GetBulkState(grpc::CallbackServerContext* context,
                                                    const rt::GetBulkStateRequest* request,
                                                    rt::GetBulkStateResponse* response) {
  return Unary(context, true, [this, request, response] {
    std::vector<std::string> keys(request->keys().begin(), request->keys().end());
    auto result = blocks_.state.BulkGet(request->store_name(), keys, ToMetadata(request->metadata()));
    if (!result.ok()) return ToGrpcStatus(result.error());
    for (auto& item : *result) {
      auto* out = response->add_items();
      out->set_key(item.key);
      if (item.response.found) {
        out->set_data(std::move(item.response.data));
        if (item.response.etag) out->set_etag(*item.response.etag);
        out->mutable_metadata()->insert(item.response.metadata.begin(), item.response.metadata.end());
      }
      out->set_error(item.error);
    }
    return grpc::Status::OK;
  });
}

grpc::ServerUnaryReactor* DaprService::SaveState(grpc::CallbackServerContext* context,
                                                 const rt::SaveStateRequest* request,
                                                 google::protobuf::Empty*) {
  return Unary(context, true, [this, request] {
    return Finish(blocks_.state.Save(request->store_name(), ToItems(request->states())));
  });
}

grpc::ServerUnaryReactor* DaprService::DeleteState(grpc::CallbackServerContext* context,
                                                   const rt::DeleteStateRequest* request,
                                                   google::protobuf::Empty*) {
  return Unary(context, true, [this, request] {
    StateItem item;
    item.key = request->key();
    if (request->has_etag()) item.etag = request->etag().value();
    item.options = ToOptions(request->options());
    item.metadata = ToMetadata(request->metadata());
    return Finish(blocks_.state.Delete(request->store_name(), std::move(item)));
  });
}

grpc::ServerUnaryReactor* DaprService::DeleteBulkState(grpc::CallbackServerContext* context,
                                                       const rt::DeleteBulkStateRequest* request,
                                                       google::protobuf::Empty*) {
  return Unary(context, true, [this, request] {
    if (request->states().empty()) return grpc::Status::OK;
    return Finish(blocks_.state.BulkDelete(request->store_name(), ToItems(request->states())));
  });
}

grpc::ServerUnaryReactor* DaprService::ExecuteStateTransaction(
    grpc::CallbackServerContext* context, const rt::ExecuteStateTransactionRequest* request,
    google::protobuf::Empty*) {
  return Unary(context, true, [this, request] {
    std::vector<blocks::StateTransactionOp> operations;
    operations.reserve(request->operations_size());
    for (const auto& op : request->operations()) {
      operations.push_back({op.operationtype(), ToItem(op.request())});
    }
    return Finish(blocks_.state.Transact(request->storename(), std::move(operations),
                                         ToMetadata(request->metadata())));
  });
}

grpc::ServerUnaryReactor* DaprService::QueryStateAlpha1(grpc::CallbackServerContext* context,
                                                        const rt::QueryStateRequest* request,
                                                        rt::QueryStateResponse* response) {
  return Unary(context, true, [this, request, response] {
    auto result = blocks_.state.Query(request->store_name(), request->query(),
                                      ToMetadata(request->metadata()));
    if (!result.ok()) return ToGrpcStatus(result.error());
    for (auto& item : result->results) {
      auto* out = response->add_results();
      out->set_key(item.key);
      out->set_data(std::move(item.data));
      out->set_etag(item.etag);
    }
    response->set_token(result->token);
    return grpc::Status::OK;
  });
}

}  // namespace dapr::grpcapi
