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
struct GrpcCallOptions;
struct GrpcReply;
}  // namespace dapr::grpcapi

namespace dapr::channel {

class SidecarInvoker final : public blocks::RemoteInvoker {
 public:
  // The resolver may block (a file lookup): it is asked on the worker pool.
  SidecarInvoker(boost::asio::io_context& loop, WorkerPool& pool,
                 nameresolution::Resolver& resolver, size_t max_response_bytes);
  ~SidecarInvoker() override;

  void Invoke(const blocks::InvokeTarget& target, AppRequest request, AppCallback done) override;

  // gRPC proxying: the raw call (path, request message, metadata) to the target app's
  // sidecar, whose internal port passes it to its app. An app nobody registered ends the
  // call UNAVAILABLE ("couldn't find service").
  void Forward(const blocks::InvokeTarget& target, std::string path, std::string message,
               grpcapi::GrpcCallOptions options, std::function<void(grpcapi::GrpcReply)> done);

 private:
  using AddressCallback = std::function<void(Result<std::string>)>;
  // The address of one of the target's sidecars: from the cache on the calling thread, or
  // from the resolver on the worker pool.
  void FindSidecar(const blocks::InvokeTarget& target, AddressCallback then);
  std::optional<std::string> Cached(const std::string& key);
  void Forget(const std::string& key);
  std::shared_ptr<grpcapi::GrpcChannel> ChannelTo(const std::string& address);
  void Send(const std::string& address, std::string key, AppRequest request, AppCallback done);

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
