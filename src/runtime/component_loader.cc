#include "runtime/component_loader.h"

#include <future>
#include <thread>

namespace dapr::runtime {
namespace {

std::string VersionOrDefault(const std::string& version) { return version.empty() ? "v1" : version; }

// Init may hang on an unreachable backend; the runtime must not. A timed-out init keeps
// running on its own thread, which owns the component until it returns.
template <class Component>
Status InitWithTimeout(std::shared_ptr<Component> component, ComponentMetadata metadata,
                       std::chrono::milliseconds timeout) {
  auto promise = std::make_shared<std::promise<Status>>();
  auto result = promise->get_future();
  std::thread([component, metadata = std::move(metadata), promise] {
    promise->set_value(component->Init(metadata));
  }).detach();
  if (result.wait_for(timeout) != std::future_status::ready) {
    return Status(StatusCode::kDeadlineExceeded,
                  "init timed out after " + std::to_string(timeout.count()) + "ms");
  }
  return result.get();
}

}  // namespace

Status ComponentLoader::Load(const ComponentSpec& spec) {
  std::string category = spec.type.substr(0, spec.type.find('.'));
  Status status = loaded_names_.count(spec.name)
                      ? InvalidArgument("a component with this name is already loaded")
                  : category == "state"  ? LoadState(spec)
                  : category == "pubsub" ? LoadPubSub(spec)
                      : Unimplemented("component type " + spec.type + " is not supported yet");
  if (!status.ok()) {
    return Status(status.code(), "component " + spec.name + " (" + spec.type + "/" +
                                     VersionOrDefault(spec.version) + ") from " + spec.source +
                                     ": " + status.message());
  }
  return status;
}

Status ComponentLoader::LoadState(const ComponentSpec& spec) {
  auto created = registries_.state.Create(spec.type, spec.version);
  if (!created.ok()) return created.error();
  std::shared_ptr<state::Store> store = std::move(created).value();
  if (loop_) store->AttachEventLoop(*loop_);
  ComponentMetadata metadata(spec.name, spec.type, spec.metadata);
  Status status = InitWithTimeout(store, metadata, spec.init_timeout);
  if (!status.ok()) return Status(status.code(), "init failed: " + status.message());
  status = state_.AddStore(spec.name, store, metadata);
  if (!status.ok()) {
    store->Close();
    return status;
  }
  loaded_names_.insert(spec.name);
  metadata_.AddComponent(
      {spec.name, spec.type, VersionOrDefault(spec.version), state_.Capabilities(spec.name)});
  return Status::Ok();
}

// consumerID defaults to the app id, as in Dapr: each app is its own consumer group.
Status ComponentLoader::LoadPubSub(const ComponentSpec& spec) {
  auto created = registries_.pubsub.Create(spec.type, spec.version);
  if (!created.ok()) return created.error();
  std::shared_ptr<pubsub::PubSub> component = std::move(created).value();
  if (loop_) component->AttachEventLoop(*loop_);
  ComponentMetadata::Properties properties = spec.metadata;
  if (!properties.count("consumerID") || properties.at("consumerID").empty()) properties["consumerID"] = app_id_;
  ComponentMetadata metadata(spec.name, spec.type, std::move(properties));
  Status status = InitWithTimeout(component, metadata, spec.init_timeout);
  if (!status.ok()) return Status(status.code(), "init failed: " + status.message());
  status = pubsub_.AddPubSub(spec.name, component, metadata);
  if (!status.ok()) {
    component->Close();
    return status;
  }
  loaded_names_.insert(spec.name);
  metadata_.AddComponent(
      {spec.name, spec.type, VersionOrDefault(spec.version), pubsub_.Capabilities(spec.name)});
  return Status::Ok();
}

}  // namespace dapr::runtime
