// Turns component specs into initialised components and hands each to its building block.
#pragma once

#include <set>
#include <string>

#include "blocks/metadata/metadata_block.h"
#include "blocks/state/state_block.h"
#include "components/builtin.h"
#include "runtime/resource_loader.h"

namespace dapr::runtime {

class ComponentLoader {
 public:
  ComponentLoader(const components::Registries& registries, blocks::StateBlock& state,
                  blocks::MetadataBlock& metadata)
      : registries_(registries), state_(state), metadata_(metadata) {}

  // Creates, initialises (within spec.init_timeout) and registers one component. The error
  // names the component; the caller decides whether ignoreErrors lets it pass.
  Status Load(const ComponentSpec& spec);

 private:
  Status LoadState(const ComponentSpec& spec);

  const components::Registries& registries_;
  std::set<std::string> loaded_names_;
  blocks::StateBlock& state_;
  blocks::MetadataBlock& metadata_;
};

}  // namespace dapr::runtime
