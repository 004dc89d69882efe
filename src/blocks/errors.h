// The one error catalogue: every error a building block returns to an app, with its HTTP
// status, gRPC code, Dapr errorCode tag and (for Dapr's "rich" errors) ErrorInfo reason.
// Both transports render from ApiError, so HTTP and gRPC can never disagree.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "dapr/status.h"

namespace dapr::blocks {

struct ResourceInfo {
  std::string resource_type;
  std::string resource_name;
};

struct FieldViolation {
  std::string field;
  std::string description;
};

struct ApiError {
  int http_status = 500;
  StatusCode grpc_code = StatusCode::kInternal;
  std::string error_code;  // Dapr tag, e.g. ERR_STATE_STORE_NOT_FOUND
  std::string message;
  // Rich-error details (omitted when empty).
  std::string reason;  // ErrorInfo.reason, e.g. DAPR_STATE_NOT_FOUND
  std::map<std::string, std::string> reason_metadata;
  std::vector<ResourceInfo> resources;
  std::vector<FieldViolation> field_violations;
};

template <class T>
using ApiResult = Result<T, ApiError>;

// A block call that returns nothing on success.
struct Done {};

namespace errors {

// Generic
ApiError MalformedRequest(std::string message);
ApiError BadRequest(std::string message);
ApiError BodyTooLarge(size_t limit_bytes);
ApiError NotReady(std::string message);
ApiError HealthAppIdMismatch();
ApiError OutboundNotReady();
ApiError Unclassified(std::string message);

// Service invocation
ApiError InvokeNoAppId();
// Dapr-side failure of an invocation (resolution, connection, the app unreachable).
ApiError DirectInvoke(std::string_view app_id, std::string_view cause);
ApiError InvokeInvalidAppId(std::string_view app_id);
// A failure on the way to an app, before the app id is named: the cause alone (500,
// ERR_DIRECT_INVOKE). The invocation block turns it into DirectInvoke(app id, cause).
ApiError InvokeCause(std::string cause);

// State
ApiError StateStoreNotConfigured(std::string_view app_id);
ApiError StateStoreNotFound(std::string_view store, std::string_view app_id);
ApiError StateIllegalKey(std::string_view store, std::string_view key);
ApiError StateKeyEmpty(std::string_view store, std::string_view error_code);
ApiError StateGet(std::string_view store, std::string_view key, const Status& cause);
ApiError StateBulkGet(std::string_view store, const Status& cause);
ApiError StateSave(std::string_view store, const Status& cause);
ApiError StateDelete(std::string_view key, const Status& cause);
ApiError StateBulkDelete(const Status& cause);
ApiError StateTransaction(const Status& cause);
ApiError StateTransactionsNotSupported(std::string_view store);
ApiError StateUnknownOperation(std::string_view operation);
ApiError StateQueryNotSupported(std::string_view store);
ApiError StateQuery(std::string_view store, const Status& cause);
ApiError StateBadMetadata(std::string_view store, const Status& cause);

// Publish and subscribe (every one names the component in a ResourceInfo)
ApiError PubSubNotConfigured();
ApiError PubSubNameEmpty();
ApiError PubSubNotFound(std::string_view pubsub);
ApiError PubSubTopicEmpty(std::string_view pubsub);
ApiError PubSubBadMetadata(std::string_view pubsub, std::string_view cause);
ApiError PubSubCloudEventCreation(std::string_view pubsub, std::string_view cause);
ApiError PubSubForbidden(std::string_view pubsub, std::string_view topic, std::string_view app_id);
ApiError PubSubTopicNotFound(std::string_view pubsub, std::string_view topic, const Status& cause);
ApiError PubSubPublish(std::string_view pubsub, std::string_view topic, const Status& cause);
// A bulk publish body that cannot be read (reason DAPR_PUBSUB_UNMARSHAL_EVENTS) or whose
// entries are wrong, e.g. a duplicate entryId (DAPR_PUBSUB_MARSHAL_EVENTS).
ApiError PubSubUnmarshalEvents(std::string_view pubsub, std::string_view topic, std::string_view cause);
ApiError PubSubMarshalEvents(std::string_view pubsub, std::string_view topic, std::string_view cause);

}  // namespace errors

// HTTP status for a gRPC-style code, as Dapr maps them (pkg/messaging/v1/util.go).
int HttpStatusFromCode(StatusCode code);

}  // namespace dapr::blocks
