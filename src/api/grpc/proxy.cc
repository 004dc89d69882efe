#include "api/grpc/proxy.h"

#include <mutex>

#include "api/grpc/client.h"
#include "blocks/invocation/invocation_block.h"
#include "channel/sidecar_invoker.h"
#include "common/trace_context.h"

namespace dapr::grpcapi {
namespace {

using Metadata = std::vector<std::pair<std::string, std::string>>;

// What the next hop must not see from this one: the caller's token for this sidecar, and
// what the channel sets itself.
bool IsHopMetadata(std::string_view name) {
  return name == "dapr-api-token" || name == "user-agent" || name == "grpc-accept-encoding" ||
         name == "grpc-encoding" || name == "host";
}

// The call's metadata for the next hop. From the API port, this sidecar names itself the
// caller; a call another sidecar forwarded keeps the ids that sidecar set.
GrpcCallOptions ForwardedOptions(const ServerStream& call, const ProxyTargets& targets,
                                 std::optional<std::string_view> callee) {
  GrpcCallOptions options;
  if (auto timeout = call.Timeout()) {
    options.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(*timeout);
    if (options.timeout.count() == 0) options.timeout = std::chrono::milliseconds(1);
  }
  bool traced = false;
  for (auto& [name, value] : call.AllMetadata()) {
    bool caller_ids = name == "dapr-caller-app-id" || name == "dapr-callee-app-id";
    if (IsHopMetadata(name) || (callee && caller_ids)) continue;
    if (name == "traceparent") {
      value = trace::ContinueTrace(value);
      traced = true;
    }
    options.metadata.emplace_back(std::move(name), std::move(value));
  }
  if (!traced) options.metadata.emplace_back("traceparent", trace::ContinueTrace(std::nullopt));
  if (callee) {
    options.metadata.emplace_back("dapr-caller-app-id", targets.app_id);
    options.metadata.emplace_back("dapr-callee-app-id", std::string(*callee));
  }
  return options;
}

// What a relay holds of a caller's request while the next hop is being found.
constexpr size_t kMaxHeldBytes = 16u << 20;

// One proxied call: the caller's stream piped to the next hop's, both ways, as bytes. The
// caller's request bytes are taken from the start and held until the next hop's stream
// exists (its sidecar may still be being looked up). Holds the caller's stream weakly: the
// server keeps it while it is open.
//
// Flow control both ways: bytes passed on are given back to the sender's HTTP/2 window only
// once the receiving side has taken them for sending, so a slow reader at one end slows the
// writer at the other and the relay holds about one window each way.
class Relay : public std::enable_shared_from_this<Relay> {
 public:
  explicit Relay(const std::shared_ptr<ServerStream>& in) : in_(in) {}

  // From the handler, on the loop.
  void Listen() {
    auto in = in_.lock();
    in->HoldRequestWindow();
    in->OnRequest([self = shared_from_this()](std::string_view bytes) { self->FromCaller(bytes); },
                  [self = shared_from_this()] { self->CallerDone(); },
                  [self = shared_from_this()] { self->CallerGone(); });
  }

  void Connect(GrpcChannel& next, std::string path, GrpcCallOptions options,
               std::function<void()> on_unreachable = nullptr) {
    GrpcStreamCallbacks callbacks;
    std::weak_ptr<ServerStream> in = in_;
    callbacks.on_headers = [in](Metadata headers) {
      if (auto caller = in.lock()) caller->SendHeaders(std::move(headers));
    };
    callbacks.on_data = [in, weak = weak_from_this()](std::string_view bytes) {
      auto caller = in.lock();
      auto self = weak.lock();
      if (!caller || !self) return;
      caller->SendData(std::string(bytes));
      self->ToCallerQueued(*caller, bytes.size());
    };
    options.hold_response_window = true;
    callbacks.on_close = [in, on_unreachable = std::move(on_unreachable)](GrpcStatus status, Metadata trailers) {
      if (on_unreachable && status.code == StatusCode::kUnavailable) on_unreachable();
      if (auto caller = in.lock()) caller->End(std::move(status), std::move(trailers));
    };
    auto out = next.StartStream(std::move(path), std::move(options), std::move(callbacks));
    std::lock_guard lock(mutex_);
    out_ = out;
    if (!held_.empty()) {
      size_t n = held_.size();
      if (!out_->Write(std::move(held_))) out_->Cancel();
      ToNextHopQueued(n);
    }
    held_.clear();
    if (cancelled_) out_->Cancel();
    else if (ended_) out_->CloseSend();
  }

  void Fail(GrpcStatus status) {
    if (auto caller = in_.lock()) caller->End(std::move(status), {});
  }

 private:
  void FromCaller(std::string_view bytes) {
    std::lock_guard lock(mutex_);
    if (!out_) {
      // Still looking for the next hop: hold the bytes, up to what a stream may have unsent.
      if (held_.size() + bytes.size() > kMaxHeldBytes) return Refuse();
      return held_.append(bytes), void();
    }
    if (!out_->Write(std::string(bytes))) out_->Cancel();  // the next hop does not keep up
    ToNextHopQueued(bytes.size());
  }

  // Under mutex_. Request bytes went to the next hop; once it has taken all that is queued,
  // the caller's window gets them back.
  void ToNextHopQueued(size_t bytes) {
    to_next_hop_ += bytes;
    if (std::exchange(waiting_next_hop_, true)) return;
    out_->WhenSent([self = shared_from_this()] {
      std::lock_guard lock(self->mutex_);
      self->waiting_next_hop_ = false;
      if (auto caller = self->in_.lock()) caller->Consumed(std::exchange(self->to_next_hop_, 0));
    });
  }

  // Answer bytes went to the caller; once it has taken all that is queued, the next hop's
  // window gets them back.
  void ToCallerQueued(ServerStream& caller, size_t bytes) {
    std::lock_guard lock(mutex_);
    to_caller_ += bytes;
    if (std::exchange(waiting_caller_, true)) return;
    caller.WhenSent([self = shared_from_this()] {
      std::lock_guard lock(self->mutex_);
      self->waiting_caller_ = false;
      if (self->out_) self->out_->Consumed(std::exchange(self->to_caller_, 0));
    });
  }
  void Refuse() {
    cancelled_ = true;
    held_.clear();
    if (auto caller = in_.lock()) {
      caller->End({StatusCode::kResourceExhausted, "the call sent more than the proxy holds while connecting", {}}, {});
    }
  }
  void CallerDone() {
    std::lock_guard lock(mutex_);
    ended_ = true;
    if (out_) out_->CloseSend();
  }
  void CallerGone() {
    std::lock_guard lock(mutex_);
    cancelled_ = true;
    if (out_) out_->Cancel();
  }

  std::weak_ptr<ServerStream> in_;
  std::mutex mutex_;
  std::shared_ptr<GrpcClientStream> out_;
  std::string held_;  // request bytes from before out_ existed (bounded by the server)
  // Bytes passed on and not yet given back to their sender's window, each way.
  size_t to_next_hop_ = 0;
  size_t to_caller_ = 0;
  bool waiting_next_hop_ = false;
  bool waiting_caller_ = false;
  bool ended_ = false;
  bool cancelled_ = false;
};

void ToOwnApp(const ProxyTargets& targets, const std::shared_ptr<ServerStream>& call, bool from_sidecar) {
  auto relay = std::make_shared<Relay>(call);
  if (!targets.app) {
    return relay->Fail({StatusCode::kUnavailable,
                        "failed to proxy request: the app " + targets.app_id +
                            " has no gRPC channel (--app-protocol grpc)", {}});
  }
  GrpcCallOptions options = ForwardedOptions(
      *call, targets, from_sidecar ? std::nullopt : std::optional<std::string_view>(targets.app_id));
  // The app's token replaces any the caller sent.
  if (!targets.app_api_token.empty()) options.metadata.emplace_back("dapr-api-token", targets.app_api_token);
  relay->Listen();
  relay->Connect(*targets.app, std::string(call->Path()), std::move(options));
}

void ToOtherApp(const ProxyTargets& targets, const std::shared_ptr<ServerStream>& call,
                const blocks::InvokeTarget& target) {
  auto relay = std::make_shared<Relay>(call);
  if (!targets.sidecars) {
    return relay->Fail({StatusCode::kUnavailable, "couldn't find service: " + target.app_id, {}});
  }
  relay->Listen();
  channel::SidecarInvoker* sidecars = targets.sidecars;
  sidecars->SidecarChannel(target, [relay, sidecars, target, path = std::string(call->Path()),
                                    options = ForwardedOptions(*call, targets, target.app_id)](
                                       Result<std::shared_ptr<GrpcChannel>> next) mutable {
    if (!next.ok()) return relay->Fail({StatusCode::kUnavailable, next.error().message(), {}});
    relay->Connect(**next, std::move(path), std::move(options),
                   [sidecars, target] { sidecars->Unreachable(target); });
  });
}

// gRPC's own words for a call nobody serves.
GrpcStatus NotServed(const GrpcServer& server, std::string_view path) {
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  size_t slash = path.find('/');
  std::string service(path.substr(0, slash));
  if (slash != std::string_view::npos && server.HasService(service)) {
    return {StatusCode::kUnimplemented,
            "unknown method " + std::string(path.substr(slash + 1)) + " for service " + service, {}};
  }
  return {StatusCode::kUnimplemented, "unknown service " + service, {}};
}

bool Authorized(const security::ApiToken& token, const ServerStream& call) {
  if (!token.enabled()) return true;
  auto sent = call.Metadata("dapr-api-token");
  return sent && token.Matches(*sent);
}

}  // namespace

void ProxyUnknownMethods(GrpcServer& api_server, ProxyTargets targets, const security::ApiToken& token) {
  api_server.SetFallback([targets = std::move(targets), &token,
                          &api_server](std::shared_ptr<ServerStream> call) {
    auto app_id = call->Metadata("dapr-app-id");
    if (!app_id) return call->End(NotServed(api_server, call->Path()), {});
    if (!Authorized(token, *call)) {
      return call->End({StatusCode::kUnauthenticated, "authentication error: api token mismatch", {}}, {});
    }
    auto target = blocks::ParseInvokeTarget(*app_id);
    if (!target.ok()) return call->End({StatusCode::kInvalidArgument, target.error().message, {}}, {});
    bool self = target->app_id == targets.app_id &&
                (target->app_namespace.empty() || target->app_namespace == targets.app_namespace);
    if (self) return ToOwnApp(targets, call, false);
    ToOtherApp(targets, call, *target);
  });
}

void ProxyToOwnApp(GrpcServer& internal_server, ProxyTargets targets) {
  internal_server.SetFallback([targets = std::move(targets),
                               &internal_server](std::shared_ptr<ServerStream> call) {
    auto app_id = call->Metadata("dapr-app-id");
    auto target = app_id ? blocks::ParseInvokeTarget(*app_id) : blocks::ApiResult<blocks::InvokeTarget>(
                                                                     blocks::errors::InvokeNoAppId());
    if (!target.ok() || target->app_id != targets.app_id) {
      return call->End(NotServed(internal_server, call->Path()), {});
    }
    ToOwnApp(targets, call, true);
  });
}

}  // namespace dapr::grpcapi
