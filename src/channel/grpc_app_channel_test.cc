// The HTTP status a gRPC app's failure turns into for an HTTP caller (Dapr's table).
#include "channel/grpc_app_channel.h"

#include <gtest/gtest.h>

namespace dapr::channel {
namespace {

TEST(GrpcAppChannel, MapsGrpcCodesToDaprsHttpStatuses) {
  EXPECT_EQ(HttpStatusOfGrpcCode(StatusCode::kOk), 200);
  EXPECT_EQ(HttpStatusOfGrpcCode(StatusCode::kCancelled), 408);
  EXPECT_EQ(HttpStatusOfGrpcCode(StatusCode::kUnknown), 500);
  EXPECT_EQ(HttpStatusOfGrpcCode(StatusCode::kInvalidArgument), 400);
  EXPECT_EQ(HttpStatusOfGrpcCode(StatusCode::kDeadlineExceeded), 504);
  EXPECT_EQ(HttpStatusOfGrpcCode(StatusCode::kNotFound), 404);
  EXPECT_EQ(HttpStatusOfGrpcCode(StatusCode::kAlreadyExists), 409);
  EXPECT_EQ(HttpStatusOfGrpcCode(StatusCode::kPermissionDenied), 403);
  EXPECT_EQ(HttpStatusOfGrpcCode(StatusCode::kUnauthenticated), 401);
  EXPECT_EQ(HttpStatusOfGrpcCode(StatusCode::kResourceExhausted), 429);
  EXPECT_EQ(HttpStatusOfGrpcCode(StatusCode::kFailedPrecondition), 400);
  EXPECT_EQ(HttpStatusOfGrpcCode(StatusCode::kAborted), 409);
  EXPECT_EQ(HttpStatusOfGrpcCode(StatusCode::kOutOfRange), 400);
  EXPECT_EQ(HttpStatusOfGrpcCode(StatusCode::kUnimplemented), 501);
  EXPECT_EQ(HttpStatusOfGrpcCode(StatusCode::kInternal), 500);
  EXPECT_EQ(HttpStatusOfGrpcCode(StatusCode::kUnavailable), 503);
  EXPECT_EQ(HttpStatusOfGrpcCode(StatusCode::kDataLoss), 500);
}

}  // namespace
}  // namespace dapr::channel
