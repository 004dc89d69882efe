#include "channel/sidecar_invoker.h"

#include "api/grpc/client.h"
#include "channel/call_local_stream.h"
#include "channel/internal_invoke.h"

namespace dapr::channel {
namespace {

// "host:port" or "[v6]:port" from the resolver.
bool SplitAddress(const std::string& address, std::string& host, uint16_t& port) {
  size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon + 1 == address.size()) return false;
  host = address.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  int value = std::atoi(address.c_str() + colon + 1);
  if (value <= 0 || value > 65535) return false;
  port = static_cast<uint16_t>(value);
  return true;
}

blocks::ApiError Cause(std::string message) { return blocks::errors::InvokeCause(std::move(message)); }

std::string CacheKey(const blocks::InvokeTarget& target) {
  return target.app_id + "." + target.app_namespace;
}

}  // namespace

SidecarInvoker::SidecarInvoker(boost::asio::io_context& loop, WorkerPool& pool,
                               nameresolution::Resolver& resolver, size_t max_response_bytes)
    : loop_(loop), pool_(pool), resolver_(resolver), max_response_bytes_(max_response_bytes) {}

SidecarInvoker::~SidecarInvoker() {
  std::lock_guard lock(mutex_);
  for (auto& [address, channel] : channels_) channel->Close();
}

void SidecarInvoker::Invoke(const blocks::InvokeTarget& target, AppRequest request,
                            AppCallback done) {
  FindSidecar(target, [this, key = CacheKey(target), app_id = target.app_id, request = std::move(request),
                       done = std::move(done)](Result<std::string> address) mutable {
    if (!address.ok()) {
      std::string cause = "couldn't find service: " + app_id;
      if (address.error().code() != StatusCode::kNotFound) cause += ": " + address.error().message();
      return done(Cause(std::move(cause)));
    }
    Send(*address, std::move(key), std::move(request), std::move(done));
  });
}

void SidecarInvoker::SidecarChannel(
    const blocks::InvokeTarget& target,
    std::function<void(Result<std::shared_ptr<grpcapi::GrpcChannel>>)> then) {
  FindSidecar(target, [this, app_id = target.app_id, then = std::move(then)](Result<std::string> address) {
    if (!address.ok()) return then(Status(StatusCode::kNotFound, "couldn't find service: " + app_id));
    auto channel = ChannelTo(*address);
    if (!channel) return then(Status(StatusCode::kUnavailable, "invalid sidecar address " + *address));
    then(std::move(channel));
  });
}

void SidecarInvoker::Unreachable(const blocks::InvokeTarget& target) { Forget(CacheKey(target)); }

// How long a resolver's list of instances is used before it is asked again. Short: a new
// instance gets calls within a second; one that went away is forgotten at the first failure.
constexpr auto kKeepInstances = std::chrono::seconds(1);

void SidecarInvoker::FindSidecar(const blocks::InvokeTarget& target, AddressCallback then) {
  std::string key = CacheKey(target);
  if (auto address = Cached(key)) return then(std::move(*address));
  pool_.Post([this, target, key = std::move(key), then = std::move(then)]() mutable {
    nameresolution::ResolveRequest request{target.app_id, target.app_namespace};
    auto all = resolver_.ResolveAll(request);
    if (!all.ok() && all.error().code() == StatusCode::kUnimplemented) return then(resolver_.Resolve(request));
    if (!all.ok()) return then(all.error());
    if (all->empty()) return then(Status(StatusCode::kNotFound, "no instance"));
    std::string first;
    {
      std::lock_guard lock(cache_mutex_);
      Instances& entry = cache_[key];
      entry.addresses = std::move(all).value();
      entry.expires = std::chrono::steady_clock::now() + kKeepInstances;
      first = entry.addresses[entry.next++ % entry.addresses.size()];
    }
    then(std::move(first));
  });
}

std::optional<std::string> SidecarInvoker::Cached(const std::string& key) {
  std::lock_guard lock(cache_mutex_);
  auto found = cache_.find(key);
  if (found == cache_.end()) return std::nullopt;
  Instances& entry = found->second;
  if (std::chrono::steady_clock::now() >= entry.expires || entry.addresses.empty()) return std::nullopt;
  return entry.addresses[entry.next++ % entry.addresses.size()];
}

void SidecarInvoker::Forget(const std::string& key) {
  std::lock_guard lock(cache_mutex_);
  cache_.erase(key);
}

std::shared_ptr<grpcapi::GrpcChannel> SidecarInvoker::ChannelTo(const std::string& address) {
  std::lock_guard lock(mutex_);
  if (auto found = channels_.find(address); found != channels_.end()) return found->second;
  std::string host;
  uint16_t port = 0;
  if (!SplitAddress(address, host, port)) return nullptr;  // nothing kept for it
  return channels_[address] = grpcapi::GrpcChannel::Create(loop_, host, port);
}

blocks::ApiError SidecarInvoker::Failed(grpcapi::GrpcStatus status, const std::string& key) {
  auto error = Cause(std::move(status.message));
  // The other sidecar could not be reached: the built-in retry's case, which must then ask
  // the resolver again.
  if (status.code == StatusCode::kUnavailable) {
    error.grpc_code = StatusCode::kUnavailable;
    Forget(key);
  }
  return error;
}

void SidecarInvoker::Send(const std::string& address, std::string key, AppRequest request,
                          AppCallback done) {
  auto channel = ChannelTo(address);
  if (!channel) return done(Cause("invalid sidecar address " + address));
  if (request.body_reader || request.stream_response) {
    // CallLocalStream, as Go sidecars call each other for HTTP: the body goes on as it
    // comes, and so does a large answer.
    return CallLocalStream(*channel, std::move(request), [this, key = std::move(key), done = std::move(done)](
                                                              grpcapi::GrpcStatus status, AppResponse answer) {
      if (!status.ok()) return done(Failed(std::move(status), key));
      done(std::move(answer));
    });
  }
  grpcapi::GrpcCallOptions options;
  options.max_response_bytes = max_response_bytes_;
  channel->Call(kCallLocalMethod, ToInternalRequest(std::move(request)).SerializeAsString(),
                std::move(options), [this, key = std::move(key), done = std::move(done)](
                                        grpcapi::GrpcReply reply) {
                  if (!reply.status.ok()) return done(Failed(std::move(reply.status), key));
                  internals::InternalInvokeResponse response;
                  if (!response.ParseFromString(reply.message)) {
                    return done(Cause("malformed response from the app's sidecar"));
                  }
                  done(FromInternalResponse(response));
                });
}

}  // namespace dapr::channel
