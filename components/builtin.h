// The registries of every component type this build ships, one per building block.
#pragma once

#include "dapr/nameresolution/resolver.h"
#include "dapr/pubsub/pubsub.h"
#include "dapr/registry.h"
#include "dapr/state/store.h"

namespace dapr::components {

struct Registries {
  Registry<state::Store> state;
  Registry<::dapr::pubsub::PubSub> pubsub;
  Registry<nameresolution::Resolver> name_resolution;
};

// Fills the registries with the built-in components (the list lives in builtin.cc).
void RegisterBuiltins(Registries& registries);

}  // namespace dapr::components
