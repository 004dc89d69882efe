// The sidecar's life: start the API servers, load components, report ready, and on a
// signal or a shutdown request stop accepting, drain in-flight requests, close components.
#pragma once

#include <vector>

#include "resiliency/spec.h"

#include <condition_variable>
#include <memory>
#include <mutex>

#include "blocks/pubsub/pubsub_block.h"
#include "components/builtin.h"
#include "runtime/configuration.h"
#include "runtime/options.h"
#include "runtime/resource_loader.h"

namespace dapr::runtime {

class Runtime {
 public:
  Runtime(Options options, const components::Registries& registries);
  ~Runtime();

  // Runs until shutdown; returns the process exit code.
  int Run();
  // Asks Run to shut down gracefully; safe from any thread.
  void RequestShutdown();

 private:
  struct Parts;
  Status Start();
  Status ReadResources();
  Status LoadComponents();
  Status StartHttpEndpoints();
  Status LoadConfiguration();
  Status StartSidecarChannel();
  std::string ResolverType() const;
  Result<std::unique_ptr<nameresolution::Resolver>> CreateResolver(
      const nameresolution::Registration& self);
  void StartAppHealthChecks();
  void StartGrpcProxy();
  void StartSubscriptions();
  std::vector<blocks::pubsub::Subscription> ListAppSubscriptions();
  void AddSubscription(blocks::pubsub::Subscription subscription, blocks::SubscriptionKind kind);
  bool WaitForApp();
  Status ApplyResiliency(const std::vector<resiliency::ResiliencySpec>& specs);
  void WaitForShutdown();
  void Drain();

  Options options_;
  Configuration configuration_;
  Resources resources_;
  const components::Registries& registries_;
  std::unique_ptr<Parts> parts_;
  std::mutex mutex_;
  std::condition_variable shutdown_requested_;
  bool stopping_ = false;
};

// The resources paths daprd uses: the given ones, else ~/.dapr/components when it holds
// resource files, else none (then the embedded default store is used).
std::vector<std::string> EffectiveResourcesPaths(const Options& options);

}  // namespace dapr::runtime
