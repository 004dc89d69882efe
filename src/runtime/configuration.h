// The Configuration resource (`kind: Configuration`, apiVersion dapr.io/v1alpha1) given with
// `daprd --config FILE`. What this build applies is parsed into fields; the whole spec is kept
// as YAML text so the sections other building blocks will read (tracing, metric, logging,
// accessControl, secrets, ...) are not lost in the meantime.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "dapr/status.h"

namespace dapr::runtime {

// spec.nameResolution: which resolver finds other sidecars, and its settings.
struct NameResolutionSpec {
  std::string component;  // "sqlite", "mdns", "kubernetes"...; empty: the self-hosted default
  std::string version = "v1";
  // spec.nameResolution.configuration, one entry per top-level key; a nested value is kept
  // as flow YAML text (a component that needs structure parses it).
  std::map<std::string, std::string> configuration;
};

// spec.features: preview features switched on or off by name.
struct FeatureSpec {
  std::string name;
  bool enabled = false;
};

struct Configuration {
  std::string name;
  NameResolutionSpec name_resolution;
  std::vector<FeatureSpec> features;
  std::string spec_yaml;  // the whole spec, as read
  std::string source;     // the file, for messages

  // The names of the features with enabled: true, as the metadata API lists them.
  std::vector<std::string> EnabledFeatures() const;
};

// Parses the first `kind: Configuration` document of a YAML text. Errors name the source.
Result<Configuration> ParseConfiguration(const std::string& yaml_text, const std::string& source);

// Reads and parses a file; several --config files are read in order and a later one's
// sections replace an earlier one's (MergeConfiguration).
Result<Configuration> LoadConfiguration(const std::string& path);
Result<Configuration> LoadConfigurations(const std::vector<std::string>& paths);

}  // namespace dapr::runtime
