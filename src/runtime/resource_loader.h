// Reads Dapr resource files (apiVersion dapr.io/v1alpha1) from the resources paths: every
// *.yaml / *.yml file, multi-document files included. Components, Resiliency policies,
// HTTPEndpoints and Subscriptions are returned; other kinds are skipped with a debug line.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "dapr/component_metadata.h"
#include "dapr/status.h"
#include "blocks/pubsub/subscription.h"
#include "resiliency/spec.h"

namespace dapr::runtime {

struct ComponentSpec {
  std::string name;
  std::string namespace_;
  std::string type;     // e.g. state.redis
  std::string version;  // e.g. v1
  ComponentMetadata::Properties metadata;
  std::vector<std::string> scopes;
  bool ignore_errors = false;
  std::chrono::milliseconds init_timeout{5000};
  std::string source;  // file it came from, for messages
};

// kind: HTTPEndpoint: a non-Dapr HTTP service invoked by name like an app id.
struct HttpEndpointSpec {
  std::string name;
  std::string namespace_;
  std::string base_url;  // http:// or https://
  std::vector<std::pair<std::string, std::string>> headers;
  std::string root_ca_pem;  // spec.clientTLS: PEM values
  std::string certificate_pem;
  std::string private_key_pem;
  std::vector<std::string> scopes;
  std::string source;
};

struct LoadContext {
  std::string app_id;
  std::string app_namespace;  // NAMESPACE env; empty in plain standalone
};

struct Resources {
  std::vector<ComponentSpec> components;
  std::vector<resiliency::ResiliencySpec> resiliency;  // scopes are applied later
  std::vector<HttpEndpointSpec> http_endpoints;      // those visible to this app
  std::vector<blocks::pubsub::Subscription> subscriptions;  // those scoped to this app
};

// Parses one YAML text (possibly several documents). Components not visible to this app
// (scopes, namespace) are left out. Errors name the file and the field.
Result<Resources> ParseResourceDocuments(const std::string& yaml_text, const std::string& source,
                                         const LoadContext& context);

// Every resource of every file in the directories, in name order.
Result<Resources> LoadAllResources(const std::vector<std::string>& paths,
                                   const LoadContext& context);

// The components only, of one YAML text / of the directories.
Result<std::vector<ComponentSpec>> ParseResources(const std::string& yaml_text,
                                                  const std::string& source,
                                                  const LoadContext& context);

Result<std::vector<ComponentSpec>> LoadResources(const std::vector<std::string>& paths,
                                                 const LoadContext& context);

}  // namespace dapr::runtime
