#include "runtime/runtime.h"

#include <spdlog/spdlog.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <future>
#include <thread>

#include "api/grpc/client.h"
#include "api/grpc/dapr_service.h"
#include "api/grpc/proxy.h"
#include "channel/app_port_wait.h"
#include "common/run_loop.h"
#include "api/grpc/internal_service.h"
#include "api/grpc/server.h"
#include "api/http/routes.h"
#include "api/http/server.h"
#include "blocks/invocation/invocation_block.h"
#include "blocks/lifecycle/lifecycle_block.h"
#include "blocks/metadata/metadata_block.h"
#include "blocks/pubsub/pubsub_block.h"
#include "blocks/state/state_block.h"
#include "channel/app_health.h"
#include "channel/grpc_app_channel.h"
#include "channel/h2c_app_channel.h"
#include "channel/http_app_channel.h"
#include "channel/http_endpoints.h"
#include "channel/limited_app_channel.h"
#include "channel/sidecar_invoker.h"
#include "channel/topic_channels.h"
#include "channel/tls_client.h"
#include "runtime/component_loader.h"

namespace dapr::runtime {
namespace fs = std::filesystem;

struct Runtime::Parts {
  explicit Parts(const Options& o)
      : loop(1),
        busy_poll(o.busy_poll_us),
        api_token(o.api_token),
        pool(o.worker_threads),
        state(o.app_id, o.app_namespace, &pool),
        pubsub(o.app_id, pool),
        metadata(o.app_id, DAPR_RUNTIME_VERSION, AppConnectionOf(o)),
        lifecycle(o.app_id),
        app_channel(MakeAppChannel(loop, o)),
        invocation(o.app_id, o.app_namespace, app_channel.get()) {}

  // The channel to the app, when there is an app (--app-port) that speaks HTTP or gRPC;
  // --app-max-concurrency bounds it whatever the protocol.
  static std::unique_ptr<channel::AppChannel> MakeAppChannel(boost::asio::io_context& loop,
                                                             const Options& o) {
    auto app = MakeProtocolChannel(loop, o);
    if (!app || o.app_max_concurrency <= 0) return app;
    return std::make_unique<channel::LimitedAppChannel>(
        std::move(app), static_cast<size_t>(o.app_max_concurrency));
  }

  // https and grpcs apps: TLS without checking the app's certificate, as Dapr does (apps
  // commonly serve self-signed ones). Null for the cleartext protocols.
  static std::shared_ptr<boost::asio::ssl::context> AppTls(const Options& o) {
    if (o.app_protocol != "https" && o.app_protocol != "grpcs") return nullptr;
    return channel::MakeClientTls({.verify_peer = false}).value();
  }

  static std::unique_ptr<channel::AppChannel> MakeProtocolChannel(boost::asio::io_context& loop,
                                                                  const Options& o) {
    if (o.app_port <= 0) return nullptr;
    if (o.app_protocol == "grpc" || o.app_protocol == "grpcs") {
      channel::GrpcAppChannelOptions options;
      options.tls = AppTls(o);
      options.host = o.app_channel_address;
      options.port = static_cast<uint16_t>(o.app_port);
      options.max_response_bytes = o.max_body_bytes;
      options.app_api_token = o.app_api_token;
      return std::make_unique<channel::GrpcAppChannel>(loop, std::move(options));
    }
    if (o.app_protocol == "h2c") {
      channel::H2cAppChannelOptions options;
      options.host = o.app_channel_address;
      options.port = static_cast<uint16_t>(o.app_port);
      options.max_response_bytes = o.max_body_bytes;
      options.app_api_token = o.app_api_token;
      return std::make_unique<channel::H2cAppChannel>(loop, std::move(options));
    }
    if (o.app_protocol != "http" && o.app_protocol != "https") return nullptr;
    channel::HttpAppChannelOptions options;
    options.tls = AppTls(o);
    options.host = o.app_channel_address;
    options.port = static_cast<uint16_t>(o.app_port);
    options.max_response_bytes = o.max_body_bytes;
    options.app_api_token = o.app_api_token;
    return std::make_unique<channel::HttpAppChannel>(loop, std::move(options));
  }

  // The loop stops (and its thread is joined) before the servers on it are destroyed.
  ~Parts() { StopLoop(); }

  void StartLoop() {
    loop_thread = std::thread([this] { RunLoop(loop, busy_poll); });
  }
  void StopLoop() {
    loop_work.reset();
    loop.stop();
    if (loop_thread.joinable()) loop_thread.join();
  }

  static blocks::AppConnection AppConnectionOf(const Options& o) {
    blocks::AppConnection app;
    app.port = o.app_port;
    app.protocol = o.app_protocol;
    app.channel_address = o.app_channel_address;
    app.max_concurrency = o.app_max_concurrency > 0 ? o.app_max_concurrency : 0;
    if (o.enable_app_health_check) {
      app.health = blocks::AppHealthSettings{
          o.app_protocol.rfind("grpc", 0) != 0 ? o.app_health_check_path : "",
          std::to_string(o.app_health_probe_interval_s) + "s",
          std::to_string(o.app_health_probe_timeout_ms) + "ms", o.app_health_threshold};
    }
    return app;
  }

  // The event loop of the HTTP server and of components with non-blocking clients. First
  // member: it must outlive everything that holds a handle on it.
  boost::asio::io_context loop;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> loop_work{
      loop.get_executor()};
  // One thread runs the loop: every server and client on it is non-blocking.
  std::thread loop_thread;
  std::chrono::microseconds busy_poll;
  security::ApiToken api_token;  // DAPR_API_TOKEN, for what checks it outside the API servers
  WorkerPool pool;
  blocks::StateBlock state;
  blocks::PubSubBlock pubsub;
  blocks::MetadataBlock metadata;
  blocks::LifecycleBlock lifecycle;
  std::unique_ptr<channel::AppChannel> app_channel;
  blocks::InvocationBlock invocation;
  std::unique_ptr<http::HttpServer> http;
  std::unique_ptr<grpcapi::DaprService> grpc_service;
  std::unique_ptr<grpcapi::GrpcServer> grpc;
  // Sidecar to sidecar: the port other sidecars call, how to find them, how to call them.
  std::unique_ptr<grpcapi::GrpcServer> internal_grpc;
  std::unique_ptr<nameresolution::Resolver> resolver;
  std::unique_ptr<resiliency::Policies> policies;
  std::unique_ptr<channel::HttpEndpoints> http_endpoints;
  std::unique_ptr<channel::AppHealth> app_health;
  std::unique_ptr<channel::SidecarInvoker> sidecars;
  std::unique_ptr<blocks::pubsub::TopicChannel> topic_channel;  // deliveries to the app
};

std::vector<std::string> EffectiveResourcesPaths(const Options& options) {
  if (!options.resources_paths.empty()) return options.resources_paths;
  fs::path standard = fs::path(options.home) / ".dapr" / "components";
  std::error_code ec;
  if (!fs::is_directory(standard, ec)) return {};
  for (const auto& entry : fs::directory_iterator(standard, ec)) {
    auto ext = entry.path().extension();
    if (ext == ".yaml" || ext == ".yml") return {standard.string()};
  }
  return {};
}

Runtime::Runtime(Options options, const components::Registries& registries)
    : options_(std::move(options)), registries_(registries) {}

Runtime::~Runtime() = default;

Status Runtime::Start() {
  parts_ = std::make_unique<Parts>(options_);
  parts_->lifecycle.SetShutdownHandler([this] { RequestShutdown(); });
  parts_->metadata.SetEnabledFeatures(configuration_.EnabledFeatures());
  // Everything a request may use is set before the first listener opens.
  Status prepared = ApplyResiliency(resources_.resiliency);
  if (prepared.ok()) prepared = StartHttpEndpoints();
  if (!prepared.ok()) return prepared;

  auto router = std::make_shared<http::Router>();
  http::AddLifecycleRoutes(*router, parts_->lifecycle);
  http::AddMetadataRoutes(*router, parts_->metadata);
  http::AddStateRoutes(*router, parts_->state, parts_->pool);
  http::AddPubSubRoutes(*router, parts_->pubsub);
  http::AddInvokeRoutes(*router, parts_->invocation);

  http::HttpServerOptions http_options;
  http_options.listen_addresses = options_.listen_addresses;
  http_options.port = options_.http_port;
  http_options.max_body_bytes = options_.max_body_bytes;
  http_options.max_header_bytes = options_.max_header_bytes;
  http_options.api_token = security::ApiToken(options_.api_token);
  parts_->http = std::make_unique<http::HttpServer>(parts_->loop, http_options, router);
  Status status = parts_->http->Start();
  if (!status.ok()) return Status(status.code(), "HTTP API: " + status.message());

  parts_->grpc_service = std::make_unique<grpcapi::DaprService>(
      grpcapi::Blocks{parts_->state, parts_->metadata, parts_->lifecycle, parts_->invocation, parts_->pubsub},
      parts_->pool,
      security::ApiToken(options_.api_token));
  grpcapi::GrpcServerOptions grpc_options{options_.listen_addresses, options_.grpc_port,
                                          options_.max_body_bytes};
  parts_->grpc = std::make_unique<grpcapi::GrpcServer>(parts_->loop, grpc_options);
  parts_->grpc_service->RegisterOn(*parts_->grpc);
  status = parts_->grpc->Start();
  if (!status.ok()) return Status(status.code(), "gRPC API: " + status.message());
  status = StartSidecarChannel();
  if (!status.ok()) return status;
  StartGrpcProxy();
  StartAppHealthChecks();
  parts_->StartLoop();
  spdlog::info("HTTP API listening on port {}, gRPC API on port {}", options_.http_port,
               options_.grpc_port);
  return Status::Ok();
}

// gRPC proxying: unknown methods with dapr-app-id on the API port go to that app; on the
// internal port, calls other sidecars forward for this app go to it. Set before the loop
// runs, so before any call is read.
void Runtime::StartGrpcProxy() {
  grpcapi::ProxyTargets targets;
  targets.app_id = options_.app_id;
  targets.app_namespace = options_.app_namespace;
  if (options_.app_port > 0 && (options_.app_protocol == "grpc" || options_.app_protocol == "grpcs")) {
    targets.app = grpcapi::GrpcChannel::Create(parts_->loop, options_.app_channel_address,
                                               static_cast<uint16_t>(options_.app_port),
                                               Parts::AppTls(options_));
  }
  targets.app_api_token = options_.app_api_token;
  targets.sidecars = parts_->sidecars.get();
  grpcapi::ProxyUnknownMethods(*parts_->grpc, targets, parts_->api_token);
  if (parts_->internal_grpc) grpcapi::ProxyToOwnApp(*parts_->internal_grpc, std::move(targets));
}

// --enable-app-health-check: probe the app; while it fails, calls to it fail at once.
void Runtime::StartAppHealthChecks() {
  if (!options_.enable_app_health_check || !parts_->app_channel) return;
  channel::AppHealthOptions health;
  health.path = options_.app_health_check_path;
  health.interval = std::chrono::seconds(std::max(options_.app_health_probe_interval_s, 1));
  health.timeout = std::chrono::milliseconds(std::max(options_.app_health_probe_timeout_ms, 1));
  health.threshold = std::max(options_.app_health_threshold, 1);
  parts_->app_health =
      std::make_unique<channel::AppHealth>(parts_->loop, *parts_->app_channel, health);
  channel::AppHealth* app_health = parts_->app_health.get();
  parts_->invocation.SetAppHealth([app_health] { return app_health->Healthy(); });
  app_health->Start();
}

// The internal gRPC port and name resolution: other sidecars find this one through the
// resolver (the Configuration's spec.nameResolution; the local SQLite registry by default)
// and call its app through it. If the default registry fails, the sidecar still serves its
// own app; calls to other app ids then fail with "couldn't find service".
Status Runtime::StartSidecarChannel() {
  std::vector<std::string> internal_addresses;
  if (!options_.internal_grpc_listen_address.empty()) {
    internal_addresses.push_back(options_.internal_grpc_listen_address);
  }
  grpcapi::GrpcServerOptions options{internal_addresses, options_.internal_grpc_port,
                                     options_.max_body_bytes};
  parts_->internal_grpc = std::make_unique<grpcapi::GrpcServer>(parts_->loop, options);
  grpcapi::AddServiceInvocationRpcs(*parts_->internal_grpc, parts_->invocation, options_.max_body_bytes);
  Status status = parts_->internal_grpc->Start();
  if (!status.ok()) return Status(status.code(), "internal gRPC: " + status.message());

  nameresolution::Registration self;
  self.app_id = options_.app_id;
  self.app_namespace = options_.app_namespace;
  self.dapr_internal_grpc_port = parts_->internal_grpc->Port();
  self.dapr_http_port = options_.http_port;
  self.app_port = static_cast<uint16_t>(std::max(options_.app_port, 0));
  self.pid = static_cast<int64_t>(getpid());
  auto resolver = CreateResolver(self);
  if (!resolver.ok()) {
    // The sqlite default failing (a read-only HOME...) leaves the sidecar serving its own
    // app; a resolver the user chose in the Configuration must work, or daprd stops.
    if (!configuration_.name_resolution.component.empty()) return resolver.error();
    spdlog::warn("name resolution unavailable ({}): other apps cannot be invoked",
                 resolver.error().message());
    return Status::Ok();
  }
  parts_->resolver = std::move(resolver).value();
  parts_->sidecars = std::make_unique<channel::SidecarInvoker>(
      parts_->loop, parts_->pool, *parts_->resolver, options_.max_body_bytes);
  parts_->invocation.SetRemoteInvoker(parts_->sidecars.get());
  spdlog::info("internal gRPC on port {}; name resolution: {}", self.dapr_internal_grpc_port,
               ResolverType());
  return Status::Ok();
}

// "nameresolution.<component>" from the Configuration; the local SQLite registry when none.
std::string Runtime::ResolverType() const {
  const auto& component = configuration_.name_resolution.component;
  return "nameresolution." + (component.empty() ? std::string("sqlite") : component);
}

Result<std::unique_ptr<nameresolution::Resolver>> Runtime::CreateResolver(
    const nameresolution::Registration& self) {
  const NameResolutionSpec& spec = configuration_.name_resolution;
  const std::string type = ResolverType();
  auto resolver = registries_.name_resolution.Create(type, spec.version);
  if (!resolver.ok()) {
    return Status(resolver.error().code(), "name resolution " + type + " " + spec.version + ": " +
                                               resolver.error().message());
  }
  ComponentMetadata::Properties properties(spec.configuration.begin(), spec.configuration.end());
  if (type == "nameresolution.sqlite" && !properties.count("connectionString")) {
    fs::path registry = fs::path(options_.home) / ".dapr" / "nameresolution.db";
    std::error_code ec;
    fs::create_directories(registry.parent_path(), ec);
    properties["connectionString"] = registry.string();
  }
  Status status = (*resolver)->Init(ComponentMetadata("nameresolution", type, std::move(properties)), self);
  if (!status.ok()) return Status(status.code(), type + ": " + status.message());
  return resolver;
}

// The resource files, read before anything starts (a bad file stops daprd at once); with no
// resources path, the embedded SQLite state store.
Status Runtime::ReadResources() {
  auto paths = EffectiveResourcesPaths(options_);
  if (!paths.empty()) {
    auto loaded = LoadAllResources(paths, {options_.app_id, options_.app_namespace});
    if (!loaded.ok()) return loaded.error();
    resources_ = std::move(loaded).value();
    return Status::Ok();
  }
  fs::path dir = fs::path(options_.home) / ".dapr";
  std::error_code ec;
  fs::create_directories(dir, ec);
  ComponentSpec embedded;
  embedded.name = "statestore";
  embedded.type = "state.sqlite";
  embedded.version = "v1";
  embedded.metadata["connectionString"] = (dir / "state.db").string();
  embedded.source = "embedded default";
  resources_.components.push_back(std::move(embedded));
  ComponentSpec broker;
  broker.name = "pubsub";
  broker.type = "pubsub.sqlite";
  broker.version = "v1";
  broker.metadata["connectionString"] = (dir / "pubsub.db").string();
  broker.source = "embedded default";
  resources_.components.push_back(std::move(broker));
  spdlog::info("no resources path: using the embedded SQLite state store 'statestore' at {} and "
               "pub/sub 'pubsub' at {}", (dir / "state.db").string(), (dir / "pubsub.db").string());
  return Status::Ok();
}

Status Runtime::LoadComponents() {
  ComponentLoader loader(registries_, parts_->state, parts_->pubsub, parts_->metadata, options_.app_id,
                         &parts_->loop);
  for (const auto& spec : resources_.components) {
    Status status = loader.Load(spec);
    if (status.ok()) {
      spdlog::info("component loaded: {} ({})", spec.name, spec.type);
    } else if (spec.ignore_errors) {
      spdlog::warn("ignoring failed component: {}", status.message());
    } else {
      return status;
    }
  }
  return Status::Ok();
}

// The app's subscriptions: the declarative ones from the resources and those the app
// lists (GET /dapr/subscribe, ListTopicSubscriptions), asked once the app listens. A
// subscription that cannot start is logged and skipped; the sidecar serves on.
void Runtime::StartSubscriptions() {
  if (!parts_->app_channel) {
    if (!resources_.subscriptions.empty()) spdlog::warn("subscriptions ignored: there is no app (--app-port)");
    return;
  }
  bool grpc = options_.app_protocol == "grpc" || options_.app_protocol == "grpcs";
  parts_->topic_channel = grpc ? channel::MakeGrpcTopicChannel(*parts_->app_channel)
                               : channel::MakeHttpTopicChannel(*parts_->app_channel);
  for (auto& subscription : resources_.subscriptions) {
    AddSubscription(std::move(subscription), blocks::SubscriptionKind::kDeclarative);
  }
  for (auto& subscription : ListAppSubscriptions()) {
    AddSubscription(std::move(subscription), blocks::SubscriptionKind::kProgrammatic);
  }
}

// The app's programmatic subscriptions, asked up to three times (an app may still be
// starting its routes when its port opens).
std::vector<blocks::pubsub::Subscription> Runtime::ListAppSubscriptions() {
  Status last;
  for (int attempt = 0; attempt < 3; ++attempt) {
    auto promise = std::make_shared<std::promise<Result<std::vector<blocks::pubsub::Subscription>>>>();
    auto future = promise->get_future();
    parts_->topic_channel->ListSubscriptions(
        [promise](Result<std::vector<blocks::pubsub::Subscription>> result) { promise->set_value(std::move(result)); });
    if (future.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
      last = Status(StatusCode::kDeadlineExceeded, "the app did not answer in 10s");
      continue;
    }
    auto result = future.get();
    if (result.ok()) return std::move(result).value();
    last = result.error();
    if (last.code() == StatusCode::kInvalidArgument) break;  // a bad answer stays bad
    std::this_thread::sleep_for(std::chrono::milliseconds(200 * (attempt + 1)));
  }
  spdlog::error("could not read the app's subscriptions: {}", last.message());
  return {};
}

void Runtime::AddSubscription(blocks::pubsub::Subscription subscription, blocks::SubscriptionKind kind) {
  blocks::SubscriptionInfo info;
  info.pubsub_name = subscription.pubsub_name;
  info.topic = subscription.topic;
  info.metadata = subscription.metadata;
  for (const auto& rule : subscription.rules) {
    info.rules.emplace_back(rule.match ? rule.match->expression() : "", rule.path);
  }
  info.dead_letter_topic = subscription.dead_letter_topic;
  info.type = kind == blocks::SubscriptionKind::kDeclarative ? "DECLARATIVE" : "PROGRAMMATIC";
  std::string what = "subscription to topic " + subscription.topic + " on pubsub " + subscription.pubsub_name;
  Status status = parts_->pubsub.Subscribe(std::move(subscription), kind, *parts_->topic_channel);
  if (!status.ok()) {
    spdlog::warn("{} not started: {}", what, status.message());
    return;
  }
  parts_->metadata.AddSubscription(std::move(info));
  spdlog::info("{} started", what);
}

// HTTPEndpoints: non-Dapr services invoked by name; URLs as app ids work with or without them.
Status Runtime::StartHttpEndpoints() {
  parts_->http_endpoints =
      std::make_unique<channel::HttpEndpoints>(parts_->loop, parts_->pool, options_.max_body_bytes);
  for (const auto& spec : resources_.http_endpoints) {
    channel::HttpEndpointSettings settings;
    settings.name = spec.name;
    settings.base_url = spec.base_url;
    settings.headers.assign(spec.headers.begin(), spec.headers.end());
    settings.tls = {true, spec.root_ca_pem, spec.certificate_pem, spec.private_key_pem};
    Status status = parts_->http_endpoints->Add(settings);
    if (!status.ok()) return Status(status.code(), spec.source + ": " + status.message());
  }
  parts_->metadata.SetHttpEndpoints(parts_->http_endpoints->Names());
  parts_->invocation.SetExternalInvoker(parts_->http_endpoints.get());
  return Status::Ok();
}

// --config: the Configuration resource(s), read before anything starts.
Status Runtime::LoadConfiguration() {
  if (options_.config_paths.empty()) return Status::Ok();
  auto loaded = LoadConfigurations(options_.config_paths);
  if (!loaded.ok()) return Status(loaded.error().code(), "configuration: " + loaded.error().message());
  configuration_ = std::move(loaded).value();
  spdlog::info("configuration {} loaded from {}", configuration_.name, configuration_.source);
  return Status::Ok();
}

// Service invocation and pub/sub deliveries run under the Resiliency policies (none: only Dapr's built-in retry
// of a failed hop to another sidecar). Timers run on the event loop.
Status Runtime::ApplyResiliency(const std::vector<resiliency::ResiliencySpec>& specs) {
  auto policies = resiliency::Policies::Build(specs, options_.app_id);
  if (!policies.ok()) return Status(policies.error().code(), "resiliency: " + policies.error().message());
  parts_->policies = std::make_unique<resiliency::Policies>(std::move(policies).value());
  boost::asio::io_context& loop = parts_->loop;
  parts_->invocation.SetResiliency(
      parts_->policies.get(), [&loop](std::chrono::nanoseconds delay, std::function<void()> fn) {
        auto timer = std::make_shared<boost::asio::steady_timer>(loop, delay);
        timer->async_wait([timer, fn = std::move(fn)](boost::system::error_code ec) {
          if (!ec) fn();
        });
      });
  // Every delivery to the app arms a timeout that its answer cancels. The cancel is posted
  // to the loop, which alone touches the timer.
  parts_->pubsub.SetResiliency(
      parts_->policies.get(), [&loop](std::chrono::nanoseconds delay, std::function<void()> fn) -> blocks::CancelTimer {
        auto timer = std::make_shared<boost::asio::steady_timer>(loop, delay);
        timer->async_wait([timer, fn = std::move(fn)](boost::system::error_code ec) {
          if (!ec) fn();
        });
        return [&loop, weak = std::weak_ptr<boost::asio::steady_timer>(timer)] {
          boost::asio::post(loop, [weak] {
            if (auto armed = weak.lock()) armed->cancel();
          });
        };
      });
  if (!specs.empty()) spdlog::info("resiliency: {} policy document(s) applied", specs.size());
  return Status::Ok();
}

// With --app-port, the sidecar is ready only once the app listens (Dapr's behaviour): until
// then /v1.0/healthz answers 500 while /v1.0/healthz/outbound already answers 204.
bool Runtime::WaitForApp() {
  if (options_.app_port <= 0) return true;
  spdlog::info("application protocol: {}. waiting on port {}.  This will block until the app "
               "is listening on that port.", options_.app_protocol, options_.app_port);
  bool found = channel::WaitForAppPort(
      options_.app_channel_address, options_.app_port, [this](std::chrono::milliseconds pause) {
        std::unique_lock lock(mutex_);
        return !shutdown_requested_.wait_for(lock, pause, [this] { return stopping_; });
      });
  if (found) spdlog::info("application discovered on port {}", options_.app_port);
  return found;
}

void Runtime::RequestShutdown() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  shutdown_requested_.notify_all();
}

void Runtime::WaitForShutdown() {
  std::unique_lock lock(mutex_);
  shutdown_requested_.wait(lock, [this] { return stopping_; });
}

// Stop accepting, let in-flight requests finish (up to the grace period), then close.
void Runtime::Drain() {
  auto grace = std::chrono::seconds(options_.graceful_shutdown_seconds);
  auto deadline = std::chrono::steady_clock::now() + grace;
  // No new deliveries start; those in flight end with the servers (unacked: redelivered).
  parts_->pubsub.CloseAll();
  // Other sidecars stop routing here first.
  if (parts_->resolver) parts_->resolver->Close();
  if (parts_->app_health) parts_->app_health->Stop();
  if (parts_->http) parts_->http->StopAccepting();
  if (parts_->grpc) parts_->grpc->StopAccepting();
  if (parts_->internal_grpc) parts_->internal_grpc->StopAccepting();
  auto in_flight = [this] {
    return (parts_->http ? parts_->http->InFlight() : 0) +
           (parts_->grpc ? parts_->grpc->InFlight() : 0) +
           (parts_->internal_grpc ? parts_->internal_grpc->InFlight() : 0);
  };
  while (in_flight() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (parts_->grpc) parts_->grpc->Stop();
  if (parts_->internal_grpc) parts_->internal_grpc->Stop();
  if (parts_->http) parts_->http->Stop();
  // Let the goodbyes (GOAWAY) go out before the loop stops.
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  parts_->StopLoop();
  parts_->pool.Stop();
  parts_->state.CloseAll();
}

int Runtime::Run() {
  Status status = LoadConfiguration();
  if (status.ok()) status = ReadResources();
  if (!status.ok()) {
    spdlog::critical("fatal: {}", status.message());
    return 1;
  }
  status = Start();
  if (!status.ok()) {
    spdlog::critical("fatal: {}", status.message());
    return 1;
  }
  parts_->lifecycle.MarkOutboundReady();
  status = LoadComponents();
  if (!status.ok()) {
    spdlog::critical("fatal: {}", status.message());
    Drain();
    return 1;
  }
  if (!WaitForApp()) {  // shut down while waiting
    Drain();
    return 0;
  }
  StartSubscriptions();
  parts_->lifecycle.MarkReady();
  spdlog::info("dapr initialized. Status: Running. App ID: {}", options_.app_id);
  WaitForShutdown();
  spdlog::info("shutting down: draining in-flight requests (up to {}s)",
               options_.graceful_shutdown_seconds);
  Drain();
  spdlog::info("daprd stopped");
  return 0;
}

}  // namespace dapr::runtime
