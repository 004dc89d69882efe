#include "blocks/errors.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace dapr::blocks {
namespace {

TEST(ErrorsTest, HttpStatusFromCodeMatchesDapr) {
  // Dapr pkg/messaging/v1/util.go, gRPC -> HTTP (reference §1.5).
  const std::vector<std::pair<StatusCode, int>> table = {
      {StatusCode::kOk, 200},
      {StatusCode::kCancelled, 408},
      {StatusCode::kUnknown, 500},
      {StatusCode::kInvalidArgument, 400},
      {StatusCode::kDeadlineExceeded, 504},
      {StatusCode::kNotFound, 404},
      {StatusCode::kAlreadyExists, 409},
      {StatusCode::kPermissionDenied, 403},
      {StatusCode::kResourceExhausted, 429},
      {StatusCode::kFailedPrecondition, 400},
      {StatusCode::kAborted, 409},
      {StatusCode::kOutOfRange, 400},
      {StatusCode::kUnimplemented, 501},
      {StatusCode::kInternal, 500},
      {StatusCode::kUnavailable, 503},
      {StatusCode::kDataLoss, 500},
      {StatusCode::kUnauthenticated, 401},
  };
  EXPECT_EQ(table.size(), 17u);
  for (const auto& [code, http] : table) {
    EXPECT_EQ(HttpStatusFromCode(code), http) << "code " << static_cast<int>(code);
  }
}

TEST(ErrorsTest, StateSaveMapsComponentErrors) {
  auto aborted = errors::StateSave("statestore", Aborted("etag mismatch"));
  EXPECT_EQ(aborted.http_status, 409);
  EXPECT_EQ(aborted.grpc_code, StatusCode::kAborted);
  EXPECT_EQ(aborted.error_code, "ERR_STATE_SAVE");
  EXPECT_EQ(aborted.message, "failed saving state in state store statestore: etag mismatch");

  auto invalid = errors::StateSave("statestore", InvalidArgument("invalid etag value"));
  EXPECT_EQ(invalid.http_status, 400);
  EXPECT_EQ(invalid.grpc_code, StatusCode::kInvalidArgument);
  EXPECT_EQ(invalid.error_code, "ERR_STATE_SAVE");

  for (const Status& cause : {Internal("x"), Unavailable("x"), NotFound("x"), Unimplemented("x"),
                              FailedPrecondition("x"), Status(StatusCode::kUnknown, "x"),
                              Status(StatusCode::kDeadlineExceeded, "x")}) {
    auto other = errors::StateSave("statestore", cause);
    EXPECT_EQ(other.http_status, 500) << static_cast<int>(cause.code());
    EXPECT_EQ(other.grpc_code, StatusCode::kInternal) << static_cast<int>(cause.code());
    EXPECT_EQ(other.error_code, "ERR_STATE_SAVE");
  }
}

TEST(ErrorsTest, StateDeleteAndBulkDeleteMapLikeSave) {
  auto aborted = errors::StateDelete("k", Aborted("etag mismatch"));
  EXPECT_EQ(aborted.http_status, 409);
  EXPECT_EQ(aborted.grpc_code, StatusCode::kAborted);
  EXPECT_EQ(aborted.error_code, "ERR_STATE_DELETE");
  EXPECT_EQ(aborted.message, "failed deleting state with key k: etag mismatch");
  EXPECT_EQ(errors::StateDelete("k", InvalidArgument("bad")).http_status, 400);
  EXPECT_EQ(errors::StateDelete("k", Unavailable("down")).http_status, 500);

  auto bulk = errors::StateBulkDelete(Aborted("etag mismatch"));
  EXPECT_EQ(bulk.http_status, 409);
  EXPECT_EQ(bulk.error_code, "ERR_STATE_BULK_DELETE");
  EXPECT_EQ(errors::StateBulkDelete(InvalidArgument("bad")).http_status, 400);
  EXPECT_EQ(errors::StateBulkDelete(Internal("x")).http_status, 500);
}

TEST(ErrorsTest, StateTransactionIs500EvenOnEtagMismatch) {
  auto aborted = errors::StateTransaction(Aborted("etag mismatch"));
  EXPECT_EQ(aborted.http_status, 500);
  EXPECT_EQ(aborted.grpc_code, StatusCode::kInternal);
  EXPECT_EQ(aborted.error_code, "ERR_STATE_TRANSACTION");
  EXPECT_EQ(aborted.message, "error while executing state transaction: etag mismatch");
  EXPECT_EQ(errors::StateTransaction(Internal("x")).http_status, 500);
}

TEST(ErrorsTest, StateCatalogueStatusesMatchDapr) {
  // Reference §2.17.
  struct Row {
    ApiError error;
    int http;
    StatusCode grpc;
    std::string tag;
    std::string reason;
  };
  const std::vector<Row> rows = {
      {errors::StateStoreNotConfigured("app"), 500, StatusCode::kFailedPrecondition,
       "ERR_STATE_STORE_NOT_CONFIGURED", "DAPR_STATE_NOT_CONFIGURED"},
      {errors::StateStoreNotFound("s", "app"), 400, StatusCode::kInvalidArgument,
       "ERR_STATE_STORE_NOT_FOUND", "DAPR_STATE_NOT_FOUND"},
      {errors::StateIllegalKey("s", "a||b"), 400, StatusCode::kInvalidArgument,
       "ERR_MALFORMED_REQUEST", "DAPR_STATE_ILLEGAL_KEY"},
      {errors::StateGet("s", "k", Internal("x")), 500, StatusCode::kInternal, "ERR_STATE_GET", ""},
      {errors::StateBulkGet("s", Internal("x")), 500, StatusCode::kInternal, "ERR_STATE_BULK_GET",
       ""},
      {errors::StateTransactionsNotSupported("s"), 500, StatusCode::kUnimplemented,
       "ERR_STATE_STORE_NOT_SUPPORTED", "DAPR_STATE_TRANSACTIONS_NOT_SUPPORTED"},
      {errors::StateUnknownOperation("merge"), 400, StatusCode::kUnimplemented,
       "ERR_NOT_SUPPORTED_STATE_OPERATION", ""},
      {errors::StateQueryNotSupported("s"), 500, StatusCode::kInternal,
       "ERR_STATE_STORE_NOT_SUPPORTED", "DAPR_STATE_QUERYING_NOT_SUPPORTED"},
      {errors::StateQuery("s", Internal("x")), 500, StatusCode::kInternal, "ERR_STATE_QUERY",
       "DAPR_STATE_QUERY_FAILED"},
      {errors::MalformedRequest("bad"), 400, StatusCode::kInvalidArgument,
       "ERR_MALFORMED_REQUEST", ""},
      {errors::BadRequest("bad"), 400, StatusCode::kInvalidArgument, "ERR_BAD_REQUEST", ""},
      {errors::InvokeNoAppId(), 404, StatusCode::kNotFound, "ERR_DIRECT_INVOKE", ""},
      {errors::Unclassified("boom"), 500, StatusCode::kInternal, "ERROR", ""},
  };
  for (const auto& row : rows) {
    EXPECT_EQ(row.error.error_code, row.tag);
    EXPECT_EQ(row.error.http_status, row.http) << row.tag;
    EXPECT_EQ(row.error.grpc_code, row.grpc) << row.tag;
    EXPECT_EQ(row.error.reason, row.reason) << row.tag;
  }
}

TEST(ErrorsTest, StoreNotFoundMessageAndMetadata) {
  auto e = errors::StateStoreNotFound("nope", "myapp");
  EXPECT_EQ(e.message, "state store nope is not found");
  EXPECT_EQ(e.reason_metadata, (std::map<std::string, std::string>{{"appID", "myapp"}}));
}

TEST(ErrorsTest, BadRequestMessageIsPrefixed) {
  EXPECT_EQ(errors::BadRequest("no body").message, "invalid request: no body");
}

}  // namespace
}  // namespace dapr::blocks
