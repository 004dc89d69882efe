// Turns component specs into initialised components and hands each to its building block.
#pragma once

#include <set>
#include <string>

#include "blocks/metadata/metadata_block.h"
#include "blocks/pubsub/pubsub_block.h"
#include "blocks/state/state_block.h"
#include "components/builtin.h"
#include "runtime/resource_loader.h"

namespace dapr::runtime {

class ComponentLoader {
 public:
  // loop, when given, is offered to components that can run a non-blocking client on it.
  ComponentLoader(const components::Registries& registries, blocks::StateBlock& state,
                  blocks::PubSubBlock& pubsub, blocks::MetadataBlock& metadata,
                  std::string app_id, boost::asio::io_context* loop = nullptr)
      : registries_(registries), state_(state), pubsub_(pubsub), metadata_(metadata),
        app_id_(std::move(app_id)), loop_(loop) {}

  // Creates, initialises (within spec.init_timeout) and registers one component. The error
  // names the component; the caller decides whether ignoreErrors lets it pass.
  Status Load(const ComponentSpec& spec);

 private:
  Status LoadState(const ComponentSpec& spec);
  Status LoadPubSub(const ComponentSpec& spec);

  const components::Registries& registries_;
  std::set<std::string> loaded_names_;
  blocks::StateBlock& state_;
  blocks::PubSubBlock& pubsub_;
  blocks::MetadataBlock& metadata_;
  std::string app_id_;
  boost::asio::io_context* loop_;
};

}  // namespace dapr::runtime
