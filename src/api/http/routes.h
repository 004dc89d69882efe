// One function per building block adds that block's HTTP routes to the table.
#pragma once

#include "api/http/router.h"
#include "common/worker_pool.h"

namespace dapr::blocks {
class StateBlock;
class MetadataBlock;
class LifecycleBlock;
}  // namespace dapr::blocks

namespace dapr::http {

void AddStateRoutes(Router& router, const blocks::StateBlock& block, WorkerPool& pool);
void AddMetadataRoutes(Router& router, blocks::MetadataBlock& block);
void AddLifecycleRoutes(Router& router, blocks::LifecycleBlock& block);
// Every path no route claims: Dapr sends these to service invocation.
void SetInvocationFallback(Router& router);

}  // namespace dapr::http
