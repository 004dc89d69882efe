// Every built-in component, one line each, sorted by type. Adding a component is a new
// folder under components/<block>/ plus one line here.
#include "components/builtin.h"

#include "common/module_loader.h"
#include "components/nameresolution/kubernetes/kubernetes_resolver.h"
#include "components/nameresolution/mdns/mdns_resolver.h"
#include "components/nameresolution/sqlite/sqlite_resolver.h"
#include "components/pubsub/in_memory/in_memory_pubsub.h"
#include "components/pubsub/redis/redis_pubsub.h"
#include "components/pubsub/sqlite/sqlite_pubsub.h"
#include "components/state/in_memory/in_memory_store.h"
#include "components/state/redis/redis_store.h"
#include "components/state/sqlite/sqlite_store.h"

namespace dapr::components {
namespace {

// A component linked into daprd.
template <class T, class Interface>
auto Make() {
  return []() -> Result<std::unique_ptr<Interface>> {
    return std::unique_ptr<Interface>(std::make_unique<T>());
  };
}

// A component in a module (see common/module_loader.h), loaded on first use.
template <class Interface>
auto FromModule(std::string module, std::string factory_symbol) {
  return [module, factory_symbol]() -> Result<std::unique_ptr<Interface>> {
    auto symbol = ModuleSymbol(module, factory_symbol);
    if (!symbol.ok()) return symbol.error();
    auto* factory = reinterpret_cast<Interface* (*)()>(*symbol);
    return std::unique_ptr<Interface>(factory());
  };
}

}  // namespace

void RegisterBuiltins(Registries& r) {
  auto postgres = FromModule<state::Store>("dapr_state_postgresql", "DaprCreateStateStore");
  r.state.Register("state.in-memory", "v1", Make<state::InMemoryStore, state::Store>());
  r.state.Register("state.postgres", "v1", postgres);
  r.state.Register("state.postgres", "v2", postgres);
  r.state.Register("state.postgresql", "v1", postgres);
  r.state.Register("state.postgresql", "v2", postgres);
  r.state.Register("state.redis", "v1", Make<state::RedisStore, state::Store>());
  r.state.Register("state.sqlite", "v1", Make<state::SqliteStore, state::Store>());
  r.pubsub.Register("pubsub.in-memory", "v1", Make<pubsub::InMemoryPubSub, ::dapr::pubsub::PubSub>());
  r.pubsub.Register("pubsub.mqtt3", "v1",
                    FromModule<::dapr::pubsub::PubSub>("dapr_pubsub_mqtt3", "DaprCreatePubSub"));
  r.pubsub.Register("pubsub.redis", "v1", Make<pubsub::RedisPubSub, ::dapr::pubsub::PubSub>());
  r.pubsub.Register("pubsub.sqlite", "v1", Make<pubsub::SqlitePubSub, ::dapr::pubsub::PubSub>());
  r.name_resolution.Register("nameresolution.kubernetes", "v1",
                             Make<nameresolution::KubernetesResolver, nameresolution::Resolver>());
  r.name_resolution.Register("nameresolution.mdns", "v1",
                             Make<nameresolution::MdnsResolver, nameresolution::Resolver>());
  r.name_resolution.Register("nameresolution.sqlite", "v1",
                             Make<nameresolution::SqliteResolver, nameresolution::Resolver>());
}

}  // namespace dapr::components
