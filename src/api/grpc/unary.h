// Typed unary methods on the gRPC server: the request proto is parsed, the API token
// checked, the work run, and its response serialized. Work that may block runs on the
// worker pool; the rest runs on the event loop, where the call arrived.
#pragma once

#include <memory>
#include <string>
#include <utility>

#include "api/grpc/server.h"
#include "common/worker_pool.h"
#include "security/api_token.h"

namespace dapr::grpcapi {

inline GrpcStatus Unauthenticated() {
  return {StatusCode::kUnauthenticated, "authentication error: api token mismatch", {}};
}

inline bool Authorized(const security::ApiToken& token, const ServerCall& call) {
  if (!token.enabled()) return true;
  auto sent = call.Metadata("dapr-api-token");
  return sent && token.Matches(*sent);
}

// Answers a call with a response, or with the status when it is not OK.
template <class Response>
void Reply(ServerCall& call, GrpcStatus status, const Response& response) {
  if (!status.ok()) return call.Finish(std::move(status));
  size_t size = response.ByteSizeLong();
  std::string framed(kFrameHeaderBytes + size, '\0');
  WriteFrameHeader(framed.data(), static_cast<uint32_t>(size));
  response.SerializeWithCachedSizesToArray(reinterpret_cast<uint8_t*>(framed.data() + kFrameHeaderBytes));
  call.FinishFramed(std::move(framed));
}

enum class Blocking { kNo, kYes };

// Registers a method whose work is `GrpcStatus work(const Request&, Response&)`.
template <class Request, class Response, class Work>
void AddUnary(GrpcServer& server, std::string path, const security::ApiToken& token,
              WorkerPool& pool, Blocking blocking, Work work) {
  server.AddUnary(std::move(path), [&token, &pool, blocking, work = std::move(work)](
                                       std::shared_ptr<ServerCall> call) {
    if (!Authorized(token, *call)) return call->Finish(Unauthenticated());
    auto run = [work, call] {
      Request request;
      if (!request.ParseFromArray(call->request().data(), static_cast<int>(call->request().size()))) {
        return call->Finish({StatusCode::kInternal, "grpc: error unmarshalling request", {}});
      }
      Response response;
      GrpcStatus status = work(request, response);
      Reply(*call, std::move(status), response);
    };
    if (blocking == Blocking::kYes) {
      pool.Post(std::move(run));
    } else {
      run();
    }
  });
}

// Registers a method that answers when it is ready: `void work(const Request&, Answer)`,
// where Answer is a callable taking (GrpcStatus, Response) once, from any thread.
template <class Request, class Response, class Work>
void AddAsyncUnary(GrpcServer& server, std::string path, const security::ApiToken& token,
                   Work work) {
  server.AddUnary(std::move(path), [&token, work = std::move(work)](std::shared_ptr<ServerCall> call) {
    if (!Authorized(token, *call)) return call->Finish(Unauthenticated());
    auto request = std::make_shared<Request>();
    if (!request->ParseFromArray(call->request().data(), static_cast<int>(call->request().size()))) {
      return call->Finish({StatusCode::kInternal, "grpc: error unmarshalling request", {}});
    }
    work(*request, [call, request](GrpcStatus status, const Response& response) {
      Reply(*call, std::move(status), response);
    });
  });
}

}  // namespace dapr::grpcapi
