#include "blocks/errors.h"

namespace dapr::blocks {
namespace {

ApiError Make(int http, StatusCode grpc, std::string tag, std::string message,
              std::string reason = {}) {
  ApiError e;
  e.http_status = http;
  e.grpc_code = grpc;
  e.error_code = std::move(tag);
  e.message = std::move(message);
  e.reason = std::move(reason);
  return e;
}

// Save/delete share Dapr's mapping: ETag mismatch 409 (Aborted), bad ETag 400, else 500.
ApiError EtagAware(std::string tag, std::string message, const Status& cause) {
  switch (cause.code()) {
    case StatusCode::kAborted:
      return Make(409, StatusCode::kAborted, std::move(tag), std::move(message));
    case StatusCode::kInvalidArgument:
      return Make(400, StatusCode::kInvalidArgument, std::move(tag), std::move(message));
    default:
      return Make(500, StatusCode::kInternal, std::move(tag), std::move(message));
  }
}

}  // namespace

int HttpStatusFromCode(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return 200;
    case StatusCode::kCancelled: return 408;
    case StatusCode::kInvalidArgument: return 400;
    case StatusCode::kDeadlineExceeded: return 504;
    case StatusCode::kNotFound: return 404;
    case StatusCode::kAlreadyExists: return 409;
    case StatusCode::kPermissionDenied: return 403;
    case StatusCode::kUnauthenticated: return 401;
    case StatusCode::kResourceExhausted: return 429;
    case StatusCode::kFailedPrecondition: return 400;
    case StatusCode::kAborted: return 409;
    case StatusCode::kOutOfRange: return 400;
    case StatusCode::kUnimplemented: return 501;
    case StatusCode::kUnavailable: return 503;
    default: return 500;
  }
}

namespace errors {

ApiError MalformedRequest(std::string message) {
  return Make(400, StatusCode::kInvalidArgument, "ERR_MALFORMED_REQUEST", std::move(message));
}

ApiError BadRequest(std::string message) {
  return Make(400, StatusCode::kInvalidArgument, "ERR_BAD_REQUEST",
              "invalid request: " + std::move(message));
}

// Dapr's limiter surfaces as a body that fails to decode, hence its 400 and error code.
ApiError BodyTooLarge(size_t limit_bytes) {
  return Make(400, StatusCode::kInvalidArgument, "ERR_MALFORMED_REQUEST",
              "failed deserializing HTTP body: http: request body too large (limit " +
                  std::to_string(limit_bytes) + " bytes)");
}

ApiError NotReady(std::string message) {
  return Make(500, StatusCode::kInternal, "ERR_HEALTH_NOT_READY", std::move(message));
}

ApiError HealthAppIdMismatch() {
  return Make(500, StatusCode::kInternal, "ERR_HEALTH_APPID_NOT_MATCH", "dapr app-id does not match");
}

ApiError OutboundNotReady() {
  return Make(500, StatusCode::kInternal, "ERR_OUTBOUND_HEALTH_NOT_READY", "dapr outbound is not ready");
}

ApiError Unclassified(std::string message) {
  return Make(500, StatusCode::kInternal, "ERROR", std::move(message));
}

ApiError InvokeNoAppId() {
  return Make(404, StatusCode::kNotFound, "ERR_DIRECT_INVOKE",
              "failed getting app id either from the URL path or the header dapr-app-id");
}

ApiError DirectInvoke(std::string_view app_id, std::string_view cause) {
  return Make(500, StatusCode::kInternal, "ERR_DIRECT_INVOKE",
              "failed to invoke, id: " + std::string(app_id) + ", err: " + std::string(cause));
}

ApiError InvokeCause(std::string cause) {
  return Make(500, StatusCode::kInternal, "ERR_DIRECT_INVOKE", std::move(cause));
}

ApiError InvokeInvalidAppId(std::string_view app_id) {
  return Make(400, StatusCode::kInvalidArgument, "ERR_DIRECT_INVOKE",
              "failed to invoke, id: " + std::string(app_id) + ", err: invalid app id");
}

ApiError StateStoreNotConfigured(std::string_view app_id) {
  auto e = Make(500, StatusCode::kFailedPrecondition, "ERR_STATE_STORE_NOT_CONFIGURED",
                "state store is not configured", "DAPR_STATE_NOT_CONFIGURED");
  e.reason_metadata["appID"] = std::string(app_id);
  return e;
}

ApiError StateStoreNotFound(std::string_view store, std::string_view app_id) {
  auto e = Make(400, StatusCode::kInvalidArgument, "ERR_STATE_STORE_NOT_FOUND",
                "state store " + std::string(store) + " is not found", "DAPR_STATE_NOT_FOUND");
  e.reason_metadata["appID"] = std::string(app_id);
  return e;
}

ApiError StateIllegalKey(std::string_view store, std::string_view key) {
  auto e = Make(400, StatusCode::kInvalidArgument, "ERR_MALFORMED_REQUEST",
                "input key/keyPrefix '" + std::string(key) + "' can't contain '||'",
                "DAPR_STATE_ILLEGAL_KEY");
  e.resources.push_back({"state", std::string(store)});
  e.field_violations.push_back({std::string(key), e.message});
  return e;
}

ApiError StateKeyEmpty(std::string_view store, std::string_view error_code) {
  auto e = Make(400, StatusCode::kInvalidArgument, std::string(error_code),
                "key is empty");
  e.resources.push_back({"state", std::string(store)});
  return e;
}

ApiError StateGet(std::string_view store, std::string_view key, const Status& cause) {
  return Make(500, StatusCode::kInternal, "ERR_STATE_GET",
              "fail to get " + std::string(key) + " from state store " + std::string(store) +
                  ": " + cause.message());
}

ApiError StateBulkGet(std::string_view store, const Status& cause) {
  return Make(500, StatusCode::kInternal, "ERR_STATE_BULK_GET",
              "failed getting state in state store " + std::string(store) + ": " + cause.message());
}

ApiError StateSave(std::string_view store, const Status& cause) {
  return EtagAware("ERR_STATE_SAVE",
                   "failed saving state in state store " + std::string(store) + ": " +
                       cause.message(),
                   cause);
}

ApiError StateDelete(std::string_view key, const Status& cause) {
  return EtagAware("ERR_STATE_DELETE",
                   "failed deleting state with key " + std::string(key) + ": " + cause.message(),
                   cause);
}

ApiError StateBulkDelete(const Status& cause) {
  return EtagAware("ERR_STATE_BULK_DELETE", "failed deleting state: " + cause.message(), cause);
}

ApiError StateTransaction(const Status& cause) {
  auto e = EtagAware("ERR_STATE_TRANSACTION",
                     "error while executing state transaction: " + cause.message(), cause);
  // Dapr reports every transaction failure as 500 except a malformed request.
  if (e.http_status == 409) {
    e.http_status = 500;
    e.grpc_code = StatusCode::kInternal;
  }
  return e;
}

ApiError StateTransactionsNotSupported(std::string_view store) {
  auto e = Make(500, StatusCode::kUnimplemented, "ERR_STATE_STORE_NOT_SUPPORTED",
                "state store " + std::string(store) + " doesn't support transactions",
                "DAPR_STATE_TRANSACTIONS_NOT_SUPPORTED");
  e.resources.push_back({"state", std::string(store)});
  return e;
}

ApiError StateUnknownOperation(std::string_view operation) {
  return Make(400, StatusCode::kUnimplemented, "ERR_NOT_SUPPORTED_STATE_OPERATION",
              "operation type " + std::string(operation) + " not supported");
}

ApiError StateQueryNotSupported(std::string_view store) {
  auto e = Make(500, StatusCode::kInternal, "ERR_STATE_STORE_NOT_SUPPORTED",
                "state store " + std::string(store) + " doesn't support query",
                "DAPR_STATE_QUERYING_NOT_SUPPORTED");
  e.resources.push_back({"state", std::string(store)});
  return e;
}

ApiError StateQuery(std::string_view store, const Status& cause) {
  auto e = Make(500, StatusCode::kInternal, "ERR_STATE_QUERY",
                "failed query in state store " + std::string(store) + ": " + cause.message(),
                "DAPR_STATE_QUERY_FAILED");
  e.resources.push_back({"state", std::string(store)});
  return e;
}

ApiError StateBadMetadata(std::string_view store, const Status& cause) {
  return Make(400, StatusCode::kInvalidArgument, "ERR_MALFORMED_REQUEST",
              "invalid metadata for state store " + std::string(store) + ": " + cause.message());
}

namespace {

ApiError PubSubError(int http, StatusCode grpc, std::string tag, std::string message,
                     std::string reason, std::string_view pubsub) {
  auto e = Make(http, grpc, std::move(tag), std::move(message), std::move(reason));
  e.resources.push_back({"pubsub", std::string(pubsub)});
  return e;
}

}  // namespace

ApiError PubSubNotConfigured() {
  return PubSubError(400, StatusCode::kFailedPrecondition, "ERR_PUBSUB_NOT_CONFIGURED",
                     "pubsub is not configured", "DAPR_PUBSUB_NOT_CONFIGURED", "");
}

ApiError PubSubNameEmpty() {
  return PubSubError(404, StatusCode::kInvalidArgument, "ERR_PUBSUB_EMPTY", "pubsub name is empty",
                     "DAPR_PUBSUB_NAME_EMPTY", "");
}

ApiError PubSubNotFound(std::string_view pubsub) {
  return PubSubError(404, StatusCode::kInvalidArgument, "ERR_PUBSUB_NOT_FOUND",
                     "pubsub " + std::string(pubsub) + " not found", "DAPR_PUBSUB_NOT_FOUND", pubsub);
}

ApiError PubSubTopicEmpty(std::string_view pubsub) {
  return PubSubError(404, StatusCode::kInvalidArgument, "ERR_TOPIC_NAME_EMPTY",
                     "topic is empty in pubsub " + std::string(pubsub),
                     "DAPR_PUBSUB_TOPIC_NAME_EMPTY", pubsub);
}

ApiError PubSubBadMetadata(std::string_view pubsub, std::string_view cause) {
  return PubSubError(400, StatusCode::kInvalidArgument, "ERR_PUBSUB_REQUEST_METADATA",
                     "failed deserializing metadata. Error: " + std::string(cause),
                     "DAPR_PUBSUB_METADATA_DESERIALIZATION", pubsub);
}

ApiError PubSubCloudEventCreation(std::string_view pubsub, std::string_view cause) {
  return PubSubError(500, StatusCode::kInvalidArgument, "ERR_PUBSUB_CLOUD_EVENTS_SER",
                     "cannot create cloudevent: " + std::string(cause),
                     "DAPR_PUBSUB_CLOUD_EVENT_CREATION", pubsub);
}

ApiError PubSubForbidden(std::string_view pubsub, std::string_view topic, std::string_view app_id) {
  std::string message =
      "topic " + std::string(topic) + " is not allowed for app id " + std::string(app_id);
  auto e = PubSubError(403, StatusCode::kPermissionDenied, "ERR_PUBSUB_FORBIDDEN", message,
                       "DAPR_PUBSUB_FORBIDDEN", pubsub);
  e.reason_metadata["topic"] = std::string(topic);
  return e;
}

ApiError PubSubTopicNotFound(std::string_view pubsub, std::string_view topic, const Status& cause) {
  auto e = PubSubError(400, StatusCode::kNotFound, "ERR_PUBSUB_NOT_FOUND",
                       "pubsub '" + std::string(pubsub) + "' not found", "DAPR_PUBSUB_TEST_NOT_FOUND",
                       pubsub);
  e.reason_metadata["topic"] = std::string(topic);
  e.reason_metadata["error"] = cause.message();
  return e;
}

ApiError PubSubPublish(std::string_view pubsub, std::string_view topic, const Status& cause) {
  auto e = PubSubError(500, StatusCode::kInternal, "ERR_PUBSUB_PUBLISH_MESSAGE",
                       "error when publishing to topic " + std::string(topic) + " in pubsub " +
                           std::string(pubsub) + ": " + cause.message(),
                       "DAPR_PUBSUB_PUBLISH_MESSAGE", pubsub);
  e.reason_metadata["topic"] = std::string(topic);
  e.reason_metadata["error"] = cause.message();
  return e;
}

ApiError PubSubUnmarshalEvents(std::string_view pubsub, std::string_view topic, std::string_view cause) {
  return PubSubError(400, StatusCode::kInvalidArgument, "ERR_PUBSUB_EVENTS_SER",
                     "error when unmarshaling the request for topic " + std::string(topic) +
                         " pubsub " + std::string(pubsub) + ": " + std::string(cause),
                     "DAPR_PUBSUB_UNMARSHAL_EVENTS", pubsub);
}

ApiError PubSubMarshalEvents(std::string_view pubsub, std::string_view topic, std::string_view cause) {
  auto e = PubSubError(400, StatusCode::kInvalidArgument, "ERR_PUBSUB_EVENTS_SER",
                       "error marshaling events to bytes for topic " + std::string(topic) +
                           " pubsub " + std::string(pubsub) + ". error: " + std::string(cause),
                       "DAPR_PUBSUB_MARSHAL_EVENTS", pubsub);
  e.reason_metadata["error"] = std::string(cause);
  return e;
}

}  // namespace errors
}  // namespace dapr::blocks
