// Tests for the sidecar-to-sidecar protos in proto/dapr/proto/internals/v1/: a
// serialize/parse round trip of InternalInvokeRequest and the shape of the
// ServiceInvocation service as registered in the generated descriptor pool.
#include <gtest/gtest.h>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/wrappers.pb.h>

#include <iterator>
#include <string>

#include "dapr/proto/common/v1/common.pb.h"
#include "dapr/proto/internals/v1/apiversion.pb.h"
#include "dapr/proto/internals/v1/service_invocation.pb.h"

namespace {

namespace common = dapr::proto::common::v1;
namespace internals = dapr::proto::internals::v1;

TEST(InternalProtos, InvokeRequestRoundTrip) {
  internals::InternalInvokeRequest req;
  req.set_ver(internals::V1);

  auto& md = *req.mutable_metadata();
  md["content-type"].add_values("application/json");
  md["x-multi"].add_values("one");
  md["x-multi"].add_values("two");
  md["empty"];  // present key with no values

  common::InvokeRequest* msg = req.mutable_message();
  msg->set_method("orders/create");
  msg->set_content_type("application/json");
  google::protobuf::BytesValue body;
  body.set_value(std::string("{\"id\":1}\0\xff", 10));
  ASSERT_TRUE(msg->mutable_data()->PackFrom(body));
  msg->mutable_http_extension()->set_verb(common::HTTPExtension::POST);
  msg->mutable_http_extension()->set_querystring("a=1&b=two%20words");

  std::string wire;
  ASSERT_TRUE(req.SerializeToString(&wire));
  ASSERT_FALSE(wire.empty());

  internals::InternalInvokeRequest got;
  ASSERT_TRUE(got.ParseFromString(wire));

  EXPECT_EQ(got.ver(), internals::V1);
  EXPECT_FALSE(got.has_actor());
  ASSERT_EQ(got.metadata_size(), 3);
  ASSERT_TRUE(got.metadata().contains("content-type"));
  ASSERT_EQ(got.metadata().at("content-type").values_size(), 1);
  EXPECT_EQ(got.metadata().at("content-type").values(0), "application/json");
  ASSERT_TRUE(got.metadata().contains("x-multi"));
  ASSERT_EQ(got.metadata().at("x-multi").values_size(), 2);
  EXPECT_EQ(got.metadata().at("x-multi").values(0), "one");
  EXPECT_EQ(got.metadata().at("x-multi").values(1), "two");
  ASSERT_TRUE(got.metadata().contains("empty"));
  EXPECT_EQ(got.metadata().at("empty").values_size(), 0);

  ASSERT_TRUE(got.has_message());
  const common::InvokeRequest& gm = got.message();
  EXPECT_EQ(gm.method(), "orders/create");
  EXPECT_EQ(gm.content_type(), "application/json");
  ASSERT_TRUE(gm.has_http_extension());
  EXPECT_EQ(gm.http_extension().verb(), common::HTTPExtension::POST);
  EXPECT_EQ(gm.http_extension().querystring(), "a=1&b=two%20words");
  google::protobuf::BytesValue got_body;
  ASSERT_TRUE(gm.data().UnpackTo(&got_body));
  EXPECT_EQ(got_body.value(), body.value());

  // Re-serializing the parsed message gives the same bytes for this input
  // (deterministic map ordering so the comparison is stable).
  {
    std::string a, b;
    google::protobuf::io::StringOutputStream sa(&a), sb(&b);
    {
      google::protobuf::io::CodedOutputStream ca(&sa), cb(&sb);
      ca.SetSerializationDeterministic(true);
      cb.SetSerializationDeterministic(true);
      ASSERT_TRUE(req.SerializeToCodedStream(&ca));
      ASSERT_TRUE(got.SerializeToCodedStream(&cb));
    }
    EXPECT_EQ(a, b);
  }

  // Actor field survives as well.
  req.mutable_actor()->set_actor_type("Cart");
  req.mutable_actor()->set_actor_id("42");
  ASSERT_TRUE(got.ParseFromString(req.SerializeAsString()));
  ASSERT_TRUE(got.has_actor());
  EXPECT_EQ(got.actor().actor_type(), "Cart");
  EXPECT_EQ(got.actor().actor_id(), "42");
}

TEST(InternalProtos, ServiceInvocationMethods) {
  // Touch a generated type so the file is registered in the generated pool.
  internals::InternalInvokeRequest touch;
  (void)touch;

  const google::protobuf::ServiceDescriptor* svc =
      google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
          "dapr.proto.internals.v1.ServiceInvocation");
  ASSERT_NE(svc, nullptr);

  struct Expected {
    const char* name;
    const char* input;
    const char* output;
    bool client_streaming;
    bool server_streaming;
  };
  const Expected expected[] = {
      {"CallActor", "dapr.proto.internals.v1.InternalInvokeRequest",
       "dapr.proto.internals.v1.InternalInvokeResponse", false, false},
      {"CallLocal", "dapr.proto.internals.v1.InternalInvokeRequest",
       "dapr.proto.internals.v1.InternalInvokeResponse", false, false},
      {"CallActorReminder", "dapr.proto.internals.v1.Reminder", "google.protobuf.Empty", false,
       false},
      {"CallLocalStream", "dapr.proto.internals.v1.InternalInvokeRequestStream",
       "dapr.proto.internals.v1.InternalInvokeResponseStream", true, true},
      {"CallActorStream", "dapr.proto.internals.v1.InternalInvokeRequest",
       "dapr.proto.internals.v1.InternalInvokeResponse", false, true},
  };

  EXPECT_EQ(svc->method_count(), static_cast<int>(std::size(expected)));
  for (const Expected& e : expected) {
    SCOPED_TRACE(e.name);
    const google::protobuf::MethodDescriptor* m = svc->FindMethodByName(e.name);
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(m->input_type()->full_name(), e.input);
    EXPECT_EQ(m->output_type()->full_name(), e.output);
    EXPECT_EQ(m->client_streaming(), e.client_streaming);
    EXPECT_EQ(m->server_streaming(), e.server_streaming);
  }
}

}  // namespace
