// daprd: flags and environment as Dapr's daprd reads them, then the runtime.
// CLI11 is only included here: it is costly to compile.
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <pwd.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <iostream>
#include <thread>

#include "components/builtin.h"
#include "runtime/logging.h"
#include "runtime/options.h"
#include "runtime/runtime.h"

namespace {

using dapr::runtime::Options;

std::string Env(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

// Go's flag package accepts "-flag" as well as "--flag"; CLI11 wants "--flag".
std::vector<std::string> NormalizeArgs(int argc, char** argv) {
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.size() > 2 && arg[0] == '-' && arg[1] != '-' && std::isalpha(static_cast<unsigned char>(arg[1]))) {
      arg = "-" + arg;
    }
    args.push_back(std::move(arg));
  }
  std::reverse(args.begin(), args.end());  // CLI11 parses a reversed vector
  return args;
}

// Kubernetes resource quantities as Dapr's --max-body-size takes them: 4Mi, 512Ki, 4M, 4096.
std::optional<size_t> ParseQuantity(const std::string& text) {
  size_t pos = 0;
  double number = 0;
  try {
    number = std::stod(text, &pos);
  } catch (...) {
    return std::nullopt;
  }
  std::string unit = text.substr(pos);
  double scale = 1;
  if (unit == "Ki") scale = 1024.0;
  else if (unit == "Mi") scale = 1024.0 * 1024;
  else if (unit == "Gi") scale = 1024.0 * 1024 * 1024;
  else if (unit == "k" || unit == "K") scale = 1e3;
  else if (unit == "M") scale = 1e6;
  else if (unit == "G") scale = 1e9;
  else if (!unit.empty()) return std::nullopt;
  if (number < 0) return std::nullopt;
  return static_cast<size_t>(number * scale);
}

// Sets out from a quantity flag when one was given; false (after logging) when it is bad.
bool ApplyQuantity(const std::string& text, const char* flag, size_t& out) {
  if (text.empty()) return true;
  auto bytes = ParseQuantity(text);
  if (!bytes) {
    spdlog::critical("invalid {} {}", flag, text);
    return false;
  }
  out = *bytes;
  return true;
}

void SplitCommaList(const std::string& text, std::vector<std::string>& out) {
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    std::string part = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    part.erase(0, part.find_first_not_of(' '));
    part.erase(part.find_last_not_of(' ') + 1);
    if (!part.empty()) out.push_back(part);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
}

// Blocks SIGINT/SIGTERM in every thread and waits for them on one thread of its own.
void WatchSignals(dapr::runtime::Runtime& runtime) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::thread([set, &runtime] {
    int signal = 0;
    sigwait(&set, &signal);
    spdlog::info("received signal {}", signal);
    runtime.RequestShutdown();
  }).detach();
}

}  // namespace

int main(int argc, char** argv) {
  // A peer that closes a socket must give an error on that call, not kill the process.
  std::signal(SIGPIPE, SIG_IGN);
  Options options;
  CLI::App app{"daprd: the dapr-cpp sidecar"};
  app.allow_extras();
  app.set_version_flag("--version", DAPR_RUNTIME_VERSION);
  // As Go's flag package, which daprd's users script against: a flag given twice takes the
  // last value (the repeatable resource paths below gather all of theirs).
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);

  std::string app_port, listen_addresses, max_body_size, read_buffer_size;
  int max_request_mb = 0, read_buffer_kb = 0;
  bool app_ssl = false, build_info = false;
  std::vector<std::string> components_paths;
  std::string env_http = Env("DAPR_HTTP_PORT"), env_grpc = Env("DAPR_GRPC_PORT");
  if (!env_http.empty()) options.http_port = static_cast<uint16_t>(std::atoi(env_http.c_str()));
  if (!env_grpc.empty()) options.grpc_port = static_cast<uint16_t>(std::atoi(env_grpc.c_str()));

  app.add_option("--app-id", options.app_id, "A unique ID for the app");
  app.add_option("--app-port", app_port, "The port the application is listening on");
  app.add_option("--app-protocol", options.app_protocol, "http, https, grpc, grpcs or h2c")
      ->check(CLI::IsMember({"http", "https", "grpc", "grpcs", "h2c"}));
  app.add_option("--app-channel-address", options.app_channel_address, "The network address the app listens on");
  app.add_option("--app-max-concurrency", options.app_max_concurrency, "Max concurrent requests to the app");
  app.add_flag("--app-ssl", app_ssl, "Deprecated: use --app-protocol https or grpcs");
  app.add_flag("--enable-app-health-check", options.enable_app_health_check, "Probe the app's health");
  app.add_option("--app-health-check-path", options.app_health_check_path, "Path of the app's health endpoint");
  app.add_option("--app-health-probe-interval", options.app_health_probe_interval_s, "Seconds between probes");
  app.add_option("--app-health-probe-timeout", options.app_health_probe_timeout_ms, "Probe timeout in ms");
  app.add_option("--app-health-threshold", options.app_health_threshold, "Failures before the app is unhealthy");
  app.add_option("--dapr-http-port", options.http_port, "HTTP API port (3500)");
  app.add_option("--dapr-grpc-port", options.grpc_port, "gRPC API port (50001)");
  app.add_option("--dapr-internal-grpc-port", options.internal_grpc_port,
                 "Port other sidecars call this one on (default: any free port)");
  app.add_option("--dapr-internal-grpc-listen-address", options.internal_grpc_listen_address,
                 "Listen address of the internal gRPC port (default: all interfaces)");
  app.add_option("--dapr-listen-addresses", listen_addresses, "Comma-separated listen addresses");
  app.add_option("--dapr-http-max-request-size", max_request_mb, "Deprecated: max request body in MB");
  app.add_option("--max-body-size", max_body_size, "Max request body, e.g. 4Mi");
  app.add_option("--read-buffer-size", read_buffer_size, "Max header size, e.g. 4Ki");
  app.add_option("--dapr-http-read-buffer-size", read_buffer_kb, "Deprecated: max header size in KB");
  app.add_option("--resources-path", options.resources_paths, "Folder of resource files (repeatable)")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app.add_option("--components-path", components_paths, "Deprecated alias of --resources-path")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app.add_option("--config", options.config_paths, "Configuration file (repeatable)");
  app.add_option("--log-level", options.log_level, "debug, info, warn, error or fatal");
  app.add_flag("--log-as-json", options.log_as_json, "Log JSON lines");
  app.add_option("--metrics-port", options.metrics_port, "Prometheus metrics port (9090)");
  app.add_flag("--enable-metrics", options.enable_metrics, "Serve metrics");
  app.add_option("--mode", options.mode, "standalone or kubernetes")->check(CLI::IsMember({"standalone", "kubernetes"}));
  app.add_option("--dapr-graceful-shutdown-seconds", options.graceful_shutdown_seconds, "Max drain time");
  app.add_option("--busy-poll-us", options.busy_poll_us,
                 "dapr-cpp: under dense traffic, spin up to this long for the next event before sleeping (0: never)")
      ->check(CLI::Range(0, 10000));
  app.add_flag("--build-info", build_info, "Print build information and exit");

  std::vector<std::string> args = NormalizeArgs(argc, argv);
  try {
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (build_info) {
    std::cout << "Version: " << DAPR_RUNTIME_VERSION << "\nImplementation: dapr-cpp\n";
    return 0;
  }

  for (auto& path : components_paths) options.resources_paths.push_back(path);
  SplitCommaList(listen_addresses, options.listen_addresses);
  if (!app_port.empty()) options.app_port = std::atoi(app_port.c_str());
  if (app_ssl && options.app_protocol == "http") options.app_protocol = "https";
  if (app_ssl && options.app_protocol == "grpc") options.app_protocol = "grpcs";
  if (max_request_mb > 0) options.max_body_bytes = static_cast<size_t>(max_request_mb) << 20;
  if (read_buffer_kb > 0) options.max_header_bytes = static_cast<size_t>(read_buffer_kb) << 10;
  options.api_token = Env("DAPR_API_TOKEN");
  options.app_api_token = Env("APP_API_TOKEN");
  options.app_namespace = Env("NAMESPACE");
  options.home = Env("HOME");
  if (options.home.empty()) {
    // Services started without a login environment still have a home in the user database.
    if (const passwd* user = getpwuid(getuid()); user && user->pw_dir) options.home = user->pw_dir;
  }

  dapr::Status logging = dapr::runtime::SetupLogging(options.log_level, options.log_as_json, options.app_id);
  if (!logging.ok()) {
    std::cerr << logging.message() << "\n";
    return 1;
  }
  if (!ApplyQuantity(max_body_size, "--max-body-size", options.max_body_bytes) ||
      !ApplyQuantity(read_buffer_size, "--read-buffer-size", options.max_header_bytes)) {
    return 1;
  }
  for (const auto& extra : app.remaining()) {
    if (extra.rfind("-", 0) == 0) spdlog::warn("flag {} is not implemented yet; ignored", extra);
  }
  if (options.mode == "kubernetes") {
    spdlog::warn("--mode kubernetes is not implemented yet; running as standalone");
  }

  dapr::components::Registries registries;
  dapr::components::RegisterBuiltins(registries);
  dapr::runtime::Runtime runtime(std::move(options), registries);
  WatchSignals(runtime);
  return runtime.Run();
}
