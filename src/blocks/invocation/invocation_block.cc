#include "blocks/invocation/invocation_block.h"

#include <algorithm>

#include "common/trace_context.h"

namespace dapr::blocks {
namespace {

// Each sidecar hop is a span, as in Dapr: the next hop sees the caller's trace with a new
// parent id (or a new trace). tracestate travels on untouched with the other headers.
void ContinueTrace(channel::HeaderList& headers) {
  for (auto& [name, value] : headers) {
    if (name == "traceparent") {
      value = trace::ContinueTrace(value);
      return;
    }
  }
  headers.emplace_back("traceparent", trace::ContinueTrace(std::nullopt));
}

// A failure reaches the caller as Dapr words it: "failed to invoke, id: <id>, err: <cause>".
channel::AppCallback NamingTheTarget(std::string id, channel::AppCallback done) {
  return [id = std::move(id), done = std::move(done)](ApiResult<channel::AppResponse> result) {
    if (!result.ok()) return done(errors::DirectInvoke(id, result.error().message));
    done(std::move(result));
  };
}

bool Guards(const resiliency::AppPolicy& policy) {
  return policy.timeout || policy.retry || policy.circuit_breaker || policy.connection_retry;
}

}  // namespace

ApiResult<InvokeTarget> ParseInvokeTarget(std::string_view target) {
  if (target.empty()) return errors::InvokeNoAppId();
  if (std::count(target.begin(), target.end(), '.') > 1) {
    return errors::InvokeInvalidAppId(target);
  }
  InvokeTarget out;
  size_t dot = target.find('.');
  out.app_id = std::string(target.substr(0, dot));
  if (dot != std::string_view::npos) out.app_namespace = std::string(target.substr(dot + 1));
  if (out.app_id.empty()) return errors::InvokeInvalidAppId(target);
  return out;
}

bool InvocationBlock::IsSelf(const InvokeTarget& target) const {
  return target.app_id == app_id_ &&
         (target.app_namespace.empty() || target.app_namespace == app_namespace_);
}

void InvocationBlock::Invoke(std::string_view target_text, channel::AppRequest request,
                             channel::AppCallback done) const {
  if (request.body_reader && !StreamsTo(target_text)) {
    return WithWholeBody(std::move(request), std::move(done),
                         [this, id = std::string(target_text)](channel::AppRequest whole,
                                                               channel::AppCallback then) {
                           Invoke(id, std::move(whole), std::move(then));
                         });
  }
  if (external_ && external_->Handles(target_text)) {
    std::string id(target_text);
    return InvokeExternal(id, std::move(request), NamingTheTarget(id, std::move(done)));
  }
  auto target = ParseInvokeTarget(target_text);
  if (!target.ok()) return done(target.take_error());
  std::string id(target_text);
  // What the callee learns about its caller, as Dapr tells it.
  request.headers.emplace_back("dapr-caller-app-id", app_id_);
  request.headers.emplace_back("dapr-callee-app-id", target->app_id);
  if (!app_namespace_.empty()) request.headers.emplace_back("dapr-caller-namespace", app_namespace_);
  ContinueTrace(request.headers);
  auto named = NamingTheTarget(id, std::move(done));
  bool self = IsSelf(*target);
  if (self && !app_channel_) return named(errors::InvokeCause("app channel is not initialized"));
  if (self && app_healthy_ && !app_healthy_()) {
    return named(errors::InvokeCause("app is not in a healthy state"));
  }
  if (!self && !remote_) return named(errors::InvokeCause("couldn't find service: " + target->app_id));
  auto policy = PolicyFor(*target, self);
  // A body read as it comes cannot be sent again: no built-in retry for it (StreamsTo let
  // it stream only when no other policy applies).
  if (request.body_reader) policy.connection_retry.reset();
  if (!Guards(policy)) {  // the common case: no copy of the request, no timers
    if (self) return app_channel_->Invoke(std::move(request), std::move(named));
    return remote_->Invoke(*target, std::move(request), std::move(named));
  }
  // Each attempt sends its own copy: a retry needs the request again.
  auto shared = std::make_shared<const channel::AppRequest>(std::move(request));
  Attempt attempt = [this, self, target = *target, shared](channel::AppCallback done) {
    if (self) return app_channel_->Invoke(*shared, std::move(done));
    remote_->Invoke(target, *shared, std::move(done));
  };
  GuardedInvoke(policy, schedule_, std::move(attempt), std::move(named));
}

// A body arriving as a stream goes on as one only to a channel that relays it as it comes
// (an HTTP app or endpoint, another app's sidecar over CallLocalStream) with no policy that
// may need to send it again. A gRPC app gets it whole.
bool InvocationBlock::StreamsTo(std::string_view target_text) const {
  if (external_ && external_->Handles(target_text)) {
    if (!policies_ || !schedule_) return true;
    auto policy = policies_->ForApp(std::string(target_text));
    return !(policy.timeout || policy.retry || policy.circuit_breaker);
  }
  auto target = ParseInvokeTarget(target_text);
  if (!target.ok()) return true;  // refused without reading the body
  if (!IsSelf(*target)) {
    auto policy = PolicyFor(*target, false);
    policy.connection_retry.reset();  // a connection that fails fails the call
    return !Guards(policy);
  }
  return app_channel_ && app_channel_->StreamsBodies() && !Guards(PolicyFor(*target, true));
}

void InvocationBlock::WithWholeBody(
    channel::AppRequest request, channel::AppCallback done,
    std::function<void(channel::AppRequest, channel::AppCallback)> next) {
  request.stream_response = false;
  auto reader = std::move(request.body_reader);
  GatherBody(std::move(reader), [request = std::move(request), done = std::move(done),
                                 next = std::move(next)](Status status, std::string body) mutable {
    if (!status.ok()) return done(errors::InvokeCause(status.message()));
    request.body = std::move(body);
    next(std::move(request), std::move(done));
  });
}

// A non-Dapr service gets the trace context but not the caller's app id; its Resiliency
// target is the endpoint's name (or URL) under targets.apps, as in Dapr.
void InvocationBlock::InvokeExternal(std::string id, channel::AppRequest request,
                                     channel::AppCallback named) const {
  ContinueTrace(request.headers);
  resiliency::AppPolicy policy;
  if (policies_ && schedule_) policy = policies_->ForApp(id);
  policy.connection_retry.reset();  // no sidecar on the way
  if (!policy.timeout && !policy.retry && !policy.circuit_breaker) {
    return external_->Invoke(id, std::move(request), std::move(named));
  }
  auto shared = std::make_shared<const channel::AppRequest>(std::move(request));
  Attempt attempt = [this, id, shared](channel::AppCallback done) {
    external_->Invoke(id, *shared, std::move(done));
  };
  GuardedInvoke(policy, schedule_, std::move(attempt), std::move(named));
}

resiliency::AppPolicy InvocationBlock::PolicyFor(const InvokeTarget& target, bool self) const {
  if (!policies_ || !schedule_) return {};
  auto policy = policies_->ForApp(target.app_id);
  if (self) policy.connection_retry.reset();  // no other sidecar on the way
  return policy;
}

// The calling sidecar names the app id in its error; this side reports the cause alone.
void InvocationBlock::InvokeLocal(channel::AppRequest request, channel::AppCallback done) const {
  if (!app_channel_) return done(errors::InvokeCause("app channel is not initialized"));
  if (app_healthy_ && !app_healthy_()) return done(errors::InvokeCause("app is not in a healthy state"));
  if (request.body_reader && !app_channel_->StreamsBodies()) {  // a gRPC app takes it whole
    return WithWholeBody(std::move(request), std::move(done),
                         [this](channel::AppRequest whole, channel::AppCallback then) {
                           InvokeLocal(std::move(whole), std::move(then));
                         });
  }
  ContinueTrace(request.headers);
  app_channel_->Invoke(std::move(request), std::move(done));
}

}  // namespace dapr::blocks
