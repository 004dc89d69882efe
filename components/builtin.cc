// Every built-in component, one line each, sorted by type. Adding a component is a new
// folder under components/<block>/ plus one line here.
#include "components/builtin.h"

#include "components/state/in_memory/in_memory_store.h"
#include "components/state/postgresql/postgres_store.h"
#include "components/state/redis/redis_store.h"
#include "components/state/sqlite/sqlite_store.h"

namespace dapr::components {
namespace {

template <class T, class Interface>
auto Make() {
  return []() -> std::unique_ptr<Interface> { return std::make_unique<T>(); };
}

}  // namespace

void RegisterBuiltins(Registries& r) {
  r.state.Register("state.in-memory", "v1", Make<state::InMemoryStore, state::Store>());
  r.state.Register("state.postgres", "v1", Make<state::PostgresStore, state::Store>());
  r.state.Register("state.postgres", "v2", Make<state::PostgresStore, state::Store>());
  r.state.Register("state.postgresql", "v1", Make<state::PostgresStore, state::Store>());
  r.state.Register("state.postgresql", "v2", Make<state::PostgresStore, state::Store>());
  r.state.Register("state.redis", "v1", Make<state::RedisStore, state::Store>());
  r.state.Register("state.sqlite", "v1", Make<state::SqliteStore, state::Store>());
}

}  // namespace dapr::components
