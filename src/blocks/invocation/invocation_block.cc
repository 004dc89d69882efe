#include "blocks/invocation/invocation_block.h"

#include <algorithm>

namespace dapr::blocks {

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
  auto target = ParseInvokeTarget(target_text);
  if (!target.ok()) return done(target.take_error());
  std::string id(target_text);
  // What the callee learns about its caller, as Dapr tells it.
  request.headers.emplace_back("dapr-caller-app-id", app_id_);
  request.headers.emplace_back("dapr-callee-app-id", target->app_id);
  if (!app_namespace_.empty()) request.headers.emplace_back("dapr-caller-namespace", app_namespace_);
  auto named = [id, done = std::move(done)](ApiResult<channel::AppResponse> result) {
    if (!result.ok()) return done(errors::DirectInvoke(id, result.error().message));
    done(std::move(result));
  };
  if (IsSelf(*target)) {
    if (!app_channel_) return named(errors::InvokeCause("app channel is not initialized"));
    return app_channel_->Invoke(std::move(request), std::move(named));
  }
  if (!remote_) return named(errors::InvokeCause("couldn't find service: " + target->app_id));
  remote_->Invoke(*target, std::move(request), std::move(named));
}

// The calling sidecar names the app id in its error; this side reports the cause alone.
void InvocationBlock::InvokeLocal(channel::AppRequest request, channel::AppCallback done) const {
  if (!app_channel_) return done(errors::InvokeCause("app channel is not initialized"));
  app_channel_->Invoke(std::move(request), std::move(done));
}

}  // namespace dapr::blocks
