#include "runtime/configuration.h"

#include <yaml-cpp/yaml.h>

#include <fstream>
#include <sstream>

#include "dapr/component_metadata.h"

namespace dapr::runtime {
namespace {

std::string Text(const YAML::Node& node) {
  if (!node || node.IsNull()) return "";
  if (node.IsScalar()) return node.Scalar();
  YAML::Emitter out;
  out << YAML::Flow << node;
  return out.c_str();
}

Result<NameResolutionSpec> ParseNameResolution(const YAML::Node& node, const std::string& where) {
  NameResolutionSpec spec;
  if (!node || node.IsNull()) return spec;
  if (!node.IsMap()) return InvalidArgument(where + ": spec.nameResolution must be a map");
  spec.component = Text(node["component"]);
  if (auto version = Text(node["version"]); !version.empty()) spec.version = version;
  const YAML::Node settings = node["configuration"];
  if (settings && !settings.IsNull()) {
    if (!settings.IsMap()) {
      return InvalidArgument(where + ": spec.nameResolution.configuration must be a map");
    }
    for (const auto& entry : settings) spec.configuration[Text(entry.first)] = Text(entry.second);
  }
  return spec;
}

Result<std::vector<FeatureSpec>> ParseFeatures(const YAML::Node& node, const std::string& where) {
  std::vector<FeatureSpec> features;
  if (!node || node.IsNull()) return features;
  if (!node.IsSequence()) return InvalidArgument(where + ": spec.features must be a list");
  for (const auto& entry : node) {
    FeatureSpec feature;
    if (!entry.IsMap()) return InvalidArgument(where + ": a spec.features entry must be a map");
    feature.name = Text(entry["name"]);
    if (feature.name.empty()) return InvalidArgument(where + ": a spec.features entry has no name");
    auto enabled = ParseBool(Text(entry["enabled"]));
    if (!enabled) {
      return InvalidArgument(where + ": feature " + feature.name + ": enabled must be true or false");
    }
    feature.enabled = *enabled;
    features.push_back(std::move(feature));
  }
  return features;
}

Result<Configuration> ParseDocument(const YAML::Node& doc, const std::string& source) {
  Configuration config;
  config.source = source;
  if (const YAML::Node metadata = doc["metadata"]; metadata && metadata.IsMap()) {
    config.name = Text(metadata["name"]);
  }
  const YAML::Node spec = doc["spec"];
  if (!spec || spec.IsNull()) return config;
  if (!spec.IsMap()) return InvalidArgument(source + ": Configuration spec must be a map");
  auto name_resolution = ParseNameResolution(spec["nameResolution"], source);
  if (!name_resolution.ok()) return name_resolution.error();
  config.name_resolution = std::move(name_resolution).value();
  auto features = ParseFeatures(spec["features"], source);
  if (!features.ok()) return features.error();
  config.features = std::move(features).value();
  YAML::Emitter out;
  out << spec;
  config.spec_yaml = out.c_str();
  return config;
}

}  // namespace

std::vector<std::string> Configuration::EnabledFeatures() const {
  std::vector<std::string> names;
  for (const auto& feature : features) {
    if (feature.enabled) names.push_back(feature.name);
  }
  return names;
}

Result<Configuration> ParseConfiguration(const std::string& yaml_text, const std::string& source) {
  try {
    for (const auto& doc : YAML::LoadAll(yaml_text)) {
      if (doc && doc.IsMap() && Text(doc["kind"]) == "Configuration") {
        return ParseDocument(doc, source);
      }
    }
  } catch (const YAML::Exception& e) {
    return InvalidArgument(source + ": invalid Configuration: " + e.what());
  }
  return InvalidArgument(source + ": no document of kind Configuration");
}

Result<Configuration> LoadConfiguration(const std::string& path) {
  std::ifstream in(path);
  if (!in) return NotFound("configuration file " + path + " cannot be read");
  std::stringstream text;
  text << in.rdbuf();
  return ParseConfiguration(text.str(), path);
}

Result<Configuration> LoadConfigurations(const std::vector<std::string>& paths) {
  Configuration merged;
  for (const auto& path : paths) {
    auto config = LoadConfiguration(path);
    if (!config.ok()) return config.error();
    if (!config->name_resolution.component.empty()) {
      merged.name_resolution = config->name_resolution;
    }
    if (!config->features.empty()) merged.features = config->features;
    merged.name = config->name;
    merged.spec_yaml = config->spec_yaml;
    merged.source = config->source;
  }
  return merged;
}

}  // namespace dapr::runtime
