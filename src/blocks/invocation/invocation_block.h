// Service invocation: finds where a call to an app id goes and hands it on, adding the
// headers Dapr adds. Both APIs call it: HTTP (/v1.0/invoke, dapr-app-id) and gRPC
// (InvokeService). A call to this sidecar's own app id goes down the app channel; a call to
// another app id goes to that app's sidecar (RemoteInvoker), which hands it to its app with
// InvokeLocal; a call to an HTTPEndpoint's name or to an http(s):// URL goes straight to that
// non-Dapr service (ExternalInvoker).
#pragma once

#include <string>
#include <string_view>

#include "blocks/invocation/guarded_invoke.h"
#include "channel/app_channel.h"
#include "resiliency/policies.h"

namespace dapr::blocks {

// "app" or "app.namespace".
struct InvokeTarget {
  std::string app_id;
  std::string app_namespace;  // empty: the caller's
};
ApiResult<InvokeTarget> ParseInvokeTarget(std::string_view target);

// The way to other apps' sidecars (name resolution, then the sidecar-to-sidecar channel).
class RemoteInvoker {
 public:
  virtual ~RemoteInvoker() = default;
  // A failure is an ApiError whose message is the cause; the block names the app.
  virtual void Invoke(const InvokeTarget& target, channel::AppRequest request,
                      channel::AppCallback done) = 0;
};

// Non-Dapr HTTP services: HTTPEndpoint resources by name, and http:// or https:// URLs.
class ExternalInvoker {
 public:
  virtual ~ExternalInvoker() = default;
  virtual bool Handles(std::string_view target) const = 0;
  // A failure is an ApiError whose message is the cause; the block names the target.
  virtual void Invoke(std::string_view target, channel::AppRequest request,
                      channel::AppCallback done) = 0;
};

class InvocationBlock {
 public:
  // app_channel: the sidecar's own app; null when daprd runs without --app-port.
  InvocationBlock(std::string app_id, std::string app_namespace, channel::AppChannel* app_channel)
      : app_id_(std::move(app_id)),
        app_namespace_(std::move(app_namespace)),
        app_channel_(app_channel) {}

  // Set once at start-up, before any call; without one, other app ids are not found.
  void SetRemoteInvoker(RemoteInvoker* remote) { remote_ = remote; }
  // Set once at start-up, before any call; without one, URLs are not valid app ids.
  void SetExternalInvoker(ExternalInvoker* external) { external_ = external; }
  // Set once at start-up, before any call: whether the app is healthy (app health checks);
  // while it is not, calls to it fail at once.
  void SetAppHealth(std::function<bool()> app_healthy) { app_healthy_ = std::move(app_healthy); }
  // Set once at start-up, before any call: the Resiliency policies to apply, and timers.
  void SetResiliency(const resiliency::Policies* policies, Schedule schedule) {
    policies_ = policies;
    schedule_ = std::move(schedule);
  }

  // done runs once, on the event loop or on the calling thread for an immediate error.
  void Invoke(std::string_view target, channel::AppRequest request,
              channel::AppCallback done) const;

  // A call another sidecar forwards to this one's app (its headers already say who called).
  void InvokeLocal(channel::AppRequest request, channel::AppCallback done) const;

 private:
  bool IsSelf(const InvokeTarget& target) const;
  // Whether a call to the target can take its body as a stream.
  bool StreamsTo(std::string_view target) const;
  // Reads the request's streamed body whole, then goes on with `next` (done on a failure).
  static void WithWholeBody(channel::AppRequest request, channel::AppCallback done,
                            std::function<void(channel::AppRequest, channel::AppCallback)> next);
  void InvokeExternal(std::string id, channel::AppRequest request, channel::AppCallback named) const;
  // The policy guarding a call to the target; empty when nothing applies.
  resiliency::AppPolicy PolicyFor(const InvokeTarget& target, bool self) const;

  std::string app_id_;
  std::string app_namespace_;
  channel::AppChannel* app_channel_;
  RemoteInvoker* remote_ = nullptr;
  ExternalInvoker* external_ = nullptr;
  const resiliency::Policies* policies_ = nullptr;
  Schedule schedule_;
  std::function<bool()> app_healthy_;
};

}  // namespace dapr::blocks
