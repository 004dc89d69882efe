// Calls to other apps: finds the app's sidecar with the name resolver, then sends the call
// over the sidecar-to-sidecar channel (gRPC ServiceInvocation/CallLocal), one HTTP/2
// connection per sidecar, kept. A resolver that lists every instance (ResolveAll) has its
// answer kept for a second and rotated over on the event loop, so a call does not cross to
// the worker pool for a lookup; an instance that cannot be reached drops the app's entry.
#pragma once

#include <functional>
#include <chrono>
#include <map>
#include <optional>
#include <unordered_map>
#include <vector>
#include <memory>
#include <mutex>
#include <string>

#include "blocks/invocation/invocation_block.h"
#include "common/worker_pool.h"
#include "dapr/nameresolution/resolver.h"

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace dapr::grpcapi {
class GrpcChannel;
struct GrpcStatus;
}  // namespace dapr::grpcapi

namespace dapr::channel {

class SidecarInvoker final : public blocks::RemoteInvoker {
 public:
  // The resolver may block (a file lookup): it is asked on the worker pool.
  SidecarInvoker(boost::asio::io_context& loop, WorkerPool& pool,
                 nameresolution::Resolver& resolver, size_t max_response_bytes);
  ~SidecarInvoker() override;

  void Invoke(const blocks::InvokeTarget& target, AppRequest request, AppCallback done) override;

  // gRPC proxying: the channel to one of the target app's sidecars, whose internal port
  // passes proxied calls to its app; `then` runs on the calling thread (cached) or on the
  // worker pool. An app nobody registered gives kNotFound.
  void SidecarChannel(const blocks::InvokeTarget& target,
                      std::function<void(Result<std::shared_ptr<grpcapi::GrpcChannel>>)> then);
  // A call could not reach the sidecar the last lookup gave: look up again next time.
  void Unreachable(const blocks::InvokeTarget& target);

 private:
  using AddressCallback = std::function<void(Result<std::string>)>;
  // The address of one of the target's sidecars: from the cache on the calling thread, or
  // from the resolver on the worker pool.
  void FindSidecar(const blocks::InvokeTarget& target, AddressCallback then);
  std::optional<std::string> Cached(const std::string& key);
  void Forget(const std::string& key);
  std::shared_ptr<grpcapi::GrpcChannel> ChannelTo(const std::string& address);
  void Send(const std::string& address, std::string key, AppRequest request, AppCallback done);
  // The error a failed call gives its caller; an unreachable sidecar is forgotten.
  blocks::ApiError Failed(grpcapi::GrpcStatus status, const std::string& key);

  struct Instances {
    std::vector<std::string> addresses;
    std::chrono::steady_clock::time_point expires;
    size_t next = 0;
  };

  boost::asio::io_context& loop_;
  WorkerPool& pool_;
  nameresolution::Resolver& resolver_;
  size_t max_response_bytes_;
  std::mutex mutex_;
  std::map<std::string, std::shared_ptr<grpcapi::GrpcChannel>> channels_;
  std::mutex cache_mutex_;
  std::unordered_map<std::string, Instances> cache_;  // by "app.namespace"
};

}  // namespace dapr::channel
