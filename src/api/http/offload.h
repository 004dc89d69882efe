// Adapts a synchronous route function (one that calls a building block, which may block on
// a backend) into an async Handler that runs it on the worker pool, off the I/O threads.
#pragma once

#include <functional>

#include "api/http/http_types.h"
#include "common/worker_pool.h"

namespace dapr::http {

using BlockingRoute = std::function<HttpResponse(const HttpRequest&)>;

inline Handler Offload(WorkerPool& pool, BlockingRoute route) {
  return [&pool, route = std::move(route)](std::shared_ptr<HttpRequest> request,
                                           Responder respond) {
    pool.Post([route, request = std::move(request), respond = std::move(respond)] {
      respond(route(*request));
    });
  };
}

}  // namespace dapr::http
