// One function per building block adds that block's HTTP routes to the table.
#pragma once

#include "api/http/router.h"
#include "common/worker_pool.h"

namespace dapr::blocks {
class StateBlock;
class MetadataBlock;
class LifecycleBlock;
class InvocationBlock;
class PubSubBlock;
}  // namespace dapr::blocks

namespace dapr::http {

void AddStateRoutes(Router& router, const blocks::StateBlock& block, WorkerPool& pool);
// POST /v1.0/publish/{pubsub}/{topic...} and the alpha bulk form.
void AddPubSubRoutes(Router& router, const blocks::PubSubBlock& block);
void AddMetadataRoutes(Router& router, blocks::MetadataBlock& block);
void AddLifecycleRoutes(Router& router, blocks::LifecycleBlock& block);
// /v1.0/invoke/{id}/method/{method...}, and every path no other route claims (Dapr sends
// those to service invocation: the dapr-app-id header names the app).
void AddInvokeRoutes(Router& router, const blocks::InvocationBlock& block);

}  // namespace dapr::http
