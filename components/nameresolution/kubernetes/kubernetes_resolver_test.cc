// Tests for nameresolution.kubernetes: the service name Dapr's injector creates, the
// namespace fallbacks, clusterDomain, and Dapr's `template` placeholders.
#include "components/nameresolution/kubernetes/kubernetes_resolver.h"

#include <gtest/gtest.h>

namespace dapr::nameresolution {
namespace {

Registration Self(const std::string& ns, uint16_t port) {
  Registration self;
  self.app_id = "caller";
  self.app_namespace = ns;
  self.dapr_internal_grpc_port = port;
  return self;
}

// Init with the given metadata, then one Resolve; errors come back as "error: ...".
std::string ResolveWith(ComponentMetadata::Properties properties, const Registration& self,
                        const ResolveRequest& request) {
  KubernetesResolver resolver;
  Status status = resolver.Init(
      ComponentMetadata("nr", "nameresolution.kubernetes", std::move(properties)), self);
  if (!status.ok()) return "error: " + status.message();
  auto address = resolver.Resolve(request);
  return address.ok() ? address.value() : "error: " + address.error().message();
}

TEST(KubernetesResolverTest, ServiceNameInTheRequestedNamespace) {
  EXPECT_EQ(ResolveWith({}, Self("shop", 50002), {"cart", "prod"}),
            "cart-dapr.prod.svc.cluster.local:50002");
}

TEST(KubernetesResolverTest, NamespaceFallsBackToOwnThenDefault) {
  EXPECT_EQ(ResolveWith({}, Self("shop", 50002), {"cart", ""}),
            "cart-dapr.shop.svc.cluster.local:50002");
  EXPECT_EQ(ResolveWith({}, Self("", 50002), {"cart", ""}),
            "cart-dapr.default.svc.cluster.local:50002");
}

TEST(KubernetesResolverTest, PortIsOwnInternalPortOrTheClusterDefault) {
  EXPECT_EQ(ResolveWith({}, Self("", 41234), {"cart", ""}),
            "cart-dapr.default.svc.cluster.local:41234");
  EXPECT_EQ(ResolveWith({}, Self("", 0), {"cart", ""}),
            "cart-dapr.default.svc.cluster.local:50002");
}

TEST(KubernetesResolverTest, ClusterDomainFromMetadataCaseInsensitively) {
  EXPECT_EQ(ResolveWith({{"CLUSTERDOMAIN", "corp.example"}}, Self("", 50002), {"cart", "prod"}),
            "cart-dapr.prod.svc.corp.example:50002");
  EXPECT_EQ(ResolveWith({{"clusterDomain", ""}}, Self("", 50002), {"cart", "prod"}),
            "cart-dapr.prod.svc.cluster.local:50002");
}

TEST(KubernetesResolverTest, TemplateFillsIdNamespaceAndPort) {
  EXPECT_EQ(ResolveWith({{"template", "{{.ID}}-{{.Namespace}}.internal:{{.Port}}"}},
                        Self("shop", 50002), {"cart", ""}),
            "cart-shop.internal:50002");
  EXPECT_EQ(ResolveWith({{"template", "{{ .ID }}.{{ .Namespace }}:{{ .Port }}"}}, Self("", 7),
                        {"cart", "prod"}),
            "cart.prod:7");
}

TEST(KubernetesResolverTest, TemplateOverridesClusterDomain) {
  EXPECT_EQ(ResolveWith({{"clusterDomain", "corp"}, {"template", "{{.ID}}:{{.Port}}"}},
                        Self("", 50002), {"cart", ""}),
            "cart:50002");
}

TEST(KubernetesResolverTest, TemplateTrimMarkersEatNeighbouringBlanks) {
  EXPECT_EQ(ResolveWith({{"template", "x  {{- .ID -}}  .y"}}, Self("", 1), {"cart", ""}),
            "xcart.y");
}

// Dapr's runtime sends no Data, and Go prints a missing map key as "<no value>".
TEST(KubernetesResolverTest, TemplateDataKeyRendersAsGoDoesWithoutData) {
  EXPECT_EQ(
      ResolveWith({{"template", "{{.ID}}-{{.Data.region}}.internal"}}, Self("", 1), {"cart", ""}),
      "cart-<no value>.internal");
}

TEST(KubernetesResolverTest, RefusesTemplatesBeyondFieldReferences) {
  for (const char* bad : {"{{.ID", "{{.Name}}", "{{printf \"%s\" .ID}}", "{{.ID | upper}}",
                          "{{.Data.}}", "{{.Data.a.b}}", "{{}}"}) {
    std::string result = ResolveWith({{"template", bad}}, Self("", 1), {"cart", ""});
    EXPECT_EQ(result.rfind("error: nameresolution.kubernetes: template", 0), 0)
        << bad << " -> " << result;
  }
}

TEST(KubernetesResolverTest, EmptyAppIdIsRefused) {
  EXPECT_EQ(ResolveWith({}, Self("", 1), {"", ""}).rfind("error:", 0), 0);
}

}  // namespace
}  // namespace dapr::nameresolution
