// nameresolution.kubernetes: formats the callee's service address; see kubernetes_resolver.h.
#include "components/nameresolution/kubernetes/kubernetes_resolver.h"

namespace dapr::nameresolution {

Status KubernetesResolver::Init(const ComponentMetadata& metadata, const Registration& self) {
  // Dapr ignores an empty value and keeps the default, so we do too.
  std::string domain = metadata.GetOr("clusterDomain", "");
  if (!domain.empty()) cluster_domain_ = domain;
  std::string text = metadata.GetOr("template", "");
  if (!text.empty()) {
    auto parsed = AddressTemplate::Parse(text);
    if (!parsed.ok()) return parsed.error();
    template_ = std::move(parsed).value();
  }
  self_namespace_ = self.app_namespace;
  // Dapr asks for the caller's own internal port: every sidecar of a cluster uses the same.
  if (self.dapr_internal_grpc_port != 0) port_ = self.dapr_internal_grpc_port;
  return Status::Ok();
}

Result<std::string> KubernetesResolver::Resolve(const ResolveRequest& request) {
  if (request.app_id.empty()) return InvalidArgument("nameresolution.kubernetes: app id is empty");
  std::string ns = !request.app_namespace.empty() ? request.app_namespace
                   : !self_namespace_.empty()     ? self_namespace_
                                                  : "default";
  if (template_) return template_->Render({request.app_id, ns, port_});
  return request.app_id + "-dapr." + ns + ".svc." + cluster_domain_ + ":" + std::to_string(port_);
}

}  // namespace dapr::nameresolution
