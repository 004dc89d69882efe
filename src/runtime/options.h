// daprd's configuration after flags and environment are read (names follow Dapr's flags).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace dapr::runtime {

struct Options {
  std::string app_id;
  int app_port = 0;  // 0: no app channel
  std::string app_protocol = "http";
  std::string app_channel_address = "127.0.0.1";
  int app_max_concurrency = -1;
  bool enable_app_health_check = false;
  std::string app_health_check_path = "/healthz";
  int app_health_probe_interval_s = 5;
  int app_health_probe_timeout_ms = 500;
  int app_health_threshold = 3;

  uint16_t http_port = 3500;
  uint16_t grpc_port = 50001;
  uint16_t internal_grpc_port = 0;  // sidecar-to-sidecar; 0: any free port
  // --dapr-internal-grpc-listen-address: apart from the API's addresses, as in Dapr; empty:
  // every interface (other hosts' sidecars must reach it).
  std::string internal_grpc_listen_address;
  std::vector<std::string> listen_addresses;  // empty: all interfaces, as Dapr
  size_t max_body_bytes = 4u << 20;
  size_t max_header_bytes = 4u << 10;

  std::vector<std::string> resources_paths;
  std::vector<std::string> config_paths;
  std::string mode = "standalone";
  std::string log_level = "info";
  bool log_as_json = false;
  bool enable_metrics = true;
  int metrics_port = 9090;
  int graceful_shutdown_seconds = 5;

  std::string api_token;      // DAPR_API_TOKEN
  std::string app_api_token;  // APP_API_TOKEN: sent to the app as dapr-api-token
  std::string app_namespace;  // NAMESPACE
  std::string home;           // HOME, for ~/.dapr
  size_t worker_threads = 16;
  int busy_poll_us = 100;  // event-loop spin budget while it pays (common/run_loop.h); 0: off
};

}  // namespace dapr::runtime
