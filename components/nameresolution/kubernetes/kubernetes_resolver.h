// nameresolution.kubernetes: an app id becomes the DNS name of the Kubernetes service that
// Dapr's sidecar injector creates for it, "{app-id}-dapr.{namespace}.svc.{clusterDomain}".
// No lookup happens here: the gRPC channel resolves the name when it connects, so Resolve
// never blocks and a cluster DNS change is picked up on the next connection.
#pragma once

#include <optional>
#include <string>

#include "components/nameresolution/kubernetes/address_template.h"
#include "dapr/nameresolution/resolver.h"

namespace dapr::nameresolution {

class KubernetesResolver final : public Resolver {
 public:
  static constexpr const char* kDefaultClusterDomain = "cluster.local";
  // The internal gRPC port of every sidecar in Kubernetes (the injector's default).
  static constexpr uint16_t kDefaultInternalGrpcPort = 50002;

  Status Init(const ComponentMetadata& metadata, const Registration& self) override;
  Result<std::string> Resolve(const ResolveRequest& request) override;

 private:
  std::string cluster_domain_ = kDefaultClusterDomain;
  std::optional<AddressTemplate> template_;
  std::string self_namespace_;
  uint16_t port_ = kDefaultInternalGrpcPort;
};

}  // namespace dapr::nameresolution
