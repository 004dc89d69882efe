#include "runtime/resource_loader.h"

#include <spdlog/spdlog.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace dapr::runtime {
namespace {

namespace fs = std::filesystem;

std::string Scalar(const YAML::Node& node) {
  if (!node || node.IsNull()) return "";
  if (node.IsScalar()) return node.Scalar();
  YAML::Emitter out;
  out << YAML::DoubleQuoted << YAML::Flow << node;
  return out.c_str();
}

// One metadata entry: value, envRef, or (not yet supported) secretKeyRef.
Result<std::string> MetadataValue(const YAML::Node& entry, const std::string& name) {
  if (entry["secretKeyRef"]) {
    return Unimplemented("metadata " + name +
                         ": secretKeyRef needs a secret store, which this build does not have yet");
  }
  if (const auto env = entry["envRef"]) {
    const char* value = std::getenv(Scalar(env).c_str());
    return std::string(value ? value : "");
  }
  return Scalar(entry["value"]);
}

template <class Spec>
bool VisibleTo(const Spec& spec, const LoadContext& context) {
  if (!spec.scopes.empty() &&
      std::find(spec.scopes.begin(), spec.scopes.end(), context.app_id) == spec.scopes.end()) {
    return false;
  }
  if (!context.app_namespace.empty() && !spec.namespace_.empty() &&
      spec.namespace_ != context.app_namespace) {
    return false;
  }
  return true;
}

Result<ComponentSpec> ParseComponent(const YAML::Node& doc, const std::string& source) {
  ComponentSpec spec;
  spec.source = source;
  spec.name = Scalar(doc["metadata"]["name"]);
  if (spec.name.empty()) return InvalidArgument(source + ": component without metadata.name");
  spec.namespace_ = Scalar(doc["metadata"]["namespace"]);
  const YAML::Node body = doc["spec"];
  if (!body || !body.IsMap()) return InvalidArgument(source + ": component " + spec.name + " has no spec");
  spec.type = Scalar(body["type"]);
  if (spec.type.empty()) return InvalidArgument(source + ": component " + spec.name + " has no spec.type");
  spec.version = Scalar(body["version"]);
  if (auto ignore = ParseBool(Scalar(body["ignoreErrors"]))) spec.ignore_errors = *ignore;
  if (auto timeout = Scalar(body["initTimeout"]); !timeout.empty()) {
    auto parsed = ParseGoDuration(timeout);
    if (!parsed.ok()) return InvalidArgument(source + ": component " + spec.name + ": initTimeout: " + parsed.error().message());
    spec.init_timeout = *parsed;
  }
  if (const auto metadata = body["metadata"]; metadata && metadata.IsSequence()) {
    for (const auto& entry : metadata) {
      std::string name = Scalar(entry["name"]);
      if (name.empty()) return InvalidArgument(source + ": component " + spec.name + ": metadata entry without name");
      auto value = MetadataValue(entry, name);
      if (!value.ok()) return Status(value.error().code(), source + ": component " + spec.name + ": " + value.error().message());
      spec.metadata[name] = std::move(value).value();
    }
  }
  if (const auto scopes = doc["scopes"]; scopes && scopes.IsSequence()) {
    for (const auto& scope : scopes) spec.scopes.push_back(Scalar(scope));
  }
  return spec;
}

// One value of an HTTPEndpoint: {value: ...}; a secretKeyRef needs a secret store.
Result<std::string> EndpointValue(const YAML::Node& node, const std::string& what) {
  if (!node || node.IsNull()) return std::string();
  if (!node.IsMap()) return InvalidArgument(what + " must be a map with a value");
  if (node["secretKeyRef"]) {
    return Unimplemented(what + ": secretKeyRef needs a secret store, which this build does not have yet");
  }
  return Scalar(node["value"]);
}

Result<HttpEndpointSpec> ParseHttpEndpoint(const YAML::Node& doc, const std::string& source) {
  HttpEndpointSpec spec;
  spec.source = source;
  spec.name = Scalar(doc["metadata"]["name"]);
  if (spec.name.empty()) return InvalidArgument(source + ": HTTPEndpoint without metadata.name");
  const std::string where = source + ": HTTPEndpoint " + spec.name;
  spec.namespace_ = Scalar(doc["metadata"]["namespace"]);
  const YAML::Node body = doc["spec"];
  if (!body || !body.IsMap()) return InvalidArgument(where + " has no spec");
  spec.base_url = Scalar(body["baseUrl"]);
  if (spec.base_url.rfind("http://", 0) != 0 && spec.base_url.rfind("https://", 0) != 0) {
    return InvalidArgument(where + ": spec.baseUrl must start with http:// or https://");
  }
  if (const auto headers = body["headers"]; headers && headers.IsSequence()) {
    for (const auto& header : headers) {
      std::string name = Scalar(header["name"]);
      if (name.empty()) return InvalidArgument(where + ": a header without name");
      auto value = EndpointValue(header, "header " + name);
      if (!value.ok()) return Status(value.error().code(), where + ": " + value.error().message());
      spec.headers.emplace_back(std::move(name), std::move(value).value());
    }
  }
  if (const auto tls = body["clientTLS"]; tls && tls.IsMap()) {
    std::pair<const char*, std::string*> fields[] = {{"rootCA", &spec.root_ca_pem},
                                                     {"certificate", &spec.certificate_pem},
                                                     {"privateKey", &spec.private_key_pem}};
    for (auto [field, target] : fields) {
      auto value = EndpointValue(tls[field], std::string("clientTLS.") + field);
      if (!value.ok()) return Status(value.error().code(), where + ": " + value.error().message());
      *target = std::move(value).value();
    }
  }
  if (const auto scopes = doc["scopes"]; scopes && scopes.IsSequence()) {
    for (const auto& scope : scopes) spec.scopes.push_back(Scalar(scope));
  }
  return spec;
}

}  // namespace

Result<std::vector<ComponentSpec>> ParseResources(const std::string& yaml_text,
                                                  const std::string& source,
                                                  const LoadContext& context) {
  auto resources = ParseResourceDocuments(yaml_text, source, context);
  if (!resources.ok()) return resources.error();
  return std::move(resources->components);
}

Result<Resources> ParseResourceDocuments(const std::string& yaml_text, const std::string& source,
                                         const LoadContext& context) {
  std::vector<YAML::Node> documents;
  try {
    documents = YAML::LoadAll(yaml_text);
  } catch (const YAML::Exception& e) {
    return InvalidArgument(source + ": invalid YAML: " + e.what());
  }
  Resources out;
  for (const auto& doc : documents) {
    if (!doc || !doc.IsMap()) continue;
    std::string kind = Scalar(doc["kind"]);
    if (kind == "Resiliency") {
      auto policies = resiliency::ParseResiliency(doc);
      if (!policies.ok()) return InvalidArgument(source + ": " + policies.error().message());
      out.resiliency.push_back(std::move(policies).value());
      continue;
    }
    if (kind == "HTTPEndpoint") {
      Result<HttpEndpointSpec> endpoint = InvalidArgument("");
      try {
        endpoint = ParseHttpEndpoint(doc, source);
      } catch (const YAML::Exception& e) {
        return InvalidArgument(source + ": malformed HTTPEndpoint: " + e.what());
      }
      if (!endpoint.ok()) return endpoint.error();
      if (VisibleTo(*endpoint, context)) out.http_endpoints.push_back(std::move(endpoint).value());
      continue;
    }
    if (kind == "Subscription") {
      Result<blocks::pubsub::Subscription> subscription = InvalidArgument("");
      try {
        subscription = blocks::pubsub::ParseSubscriptionResource(doc, source);
      } catch (const YAML::Exception& e) {
        return InvalidArgument(source + ": malformed Subscription: " + e.what());
      }
      if (!subscription.ok()) return subscription.error();
      const auto& scopes = subscription->scopes;
      if (scopes.empty() || std::find(scopes.begin(), scopes.end(), context.app_id) != scopes.end()) {
        out.subscriptions.push_back(std::move(subscription).value());
      }
      continue;
    }
    if (kind != "Component") {
      spdlog::debug("skipping resource of kind '{}' in {} (not supported yet)", kind, source);
      continue;
    }
    Result<ComponentSpec> spec = InvalidArgument("");
    try {
      spec = ParseComponent(doc, source);
    } catch (const YAML::Exception& e) {
      return InvalidArgument(source + ": malformed component: " + e.what());
    }
    if (!spec.ok()) return spec.error();
    if (!VisibleTo(*spec, context)) {
      spdlog::debug("component {} in {} is not scoped to this app", spec->name, source);
      continue;
    }
    out.components.push_back(std::move(spec).value());
  }
  return out;
}

Result<std::vector<ComponentSpec>> LoadResources(const std::vector<std::string>& paths,
                                                 const LoadContext& context) {
  auto resources = LoadAllResources(paths, context);
  if (!resources.ok()) return resources.error();
  return std::move(resources->components);
}

Result<Resources> LoadAllResources(const std::vector<std::string>& paths,
                                   const LoadContext& context) {
  Resources out;
  for (const auto& path : paths) {
    std::error_code ec;
    if (!fs::is_directory(path, ec)) {
      return InvalidArgument("resources path " + path + " is not a directory");
    }
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(path, ec)) {
      auto ext = entry.path().extension();
      if (entry.is_regular_file() && (ext == ".yaml" || ext == ".yml")) files.push_back(entry.path());
    }
    std::sort(files.begin(), files.end());
    for (const auto& file : files) {
      std::ifstream in(file);
      std::stringstream text;
      text << in.rdbuf();
      auto resources = ParseResourceDocuments(text.str(), file.string(), context);
      if (!resources.ok()) return resources.error();
      for (auto& spec : resources->components) out.components.push_back(std::move(spec));
      for (auto& spec : resources->resiliency) out.resiliency.push_back(std::move(spec));
      for (auto& spec : resources->http_endpoints) out.http_endpoints.push_back(std::move(spec));
      for (auto& sub : resources->subscriptions) out.subscriptions.push_back(std::move(sub));
    }
  }
  return out;
}

}  // namespace dapr::runtime
