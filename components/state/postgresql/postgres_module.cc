// Entry point of the state.postgresql module (libdapr_state_postgresql.so): daprd loads it
// only when a PostgreSQL state store is configured, so libpq's dependencies stay unmapped
// otherwise.
#include "components/state/postgresql/postgres_store.h"

extern "C" __attribute__((visibility("default"))) dapr::state::Store* DaprCreateStateStore() {
  return new dapr::state::PostgresStore();
}
