// The gRPC API server: listens, enforces the message size limit, serves DaprService.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dapr/status.h"

namespace grpc {
class Server;
class Service;
}  // namespace grpc

namespace dapr::grpcapi {

struct GrpcServerOptions {
  std::vector<std::string> listen_addresses;  // empty: all interfaces
  uint16_t port = 50001;
  int max_message_bytes = 4 << 20;
};

class GrpcServer {
 public:
  GrpcServer(GrpcServerOptions options, std::vector<grpc::Service*> services);
  ~GrpcServer();

  Status Start();
  // Stops accepting calls and waits up to the deadline for those in flight.
  void Shutdown(std::chrono::milliseconds grace);

 private:
  GrpcServerOptions options_;
  std::vector<grpc::Service*> services_;
  std::unique_ptr<grpc::Server> server_;
};

}  // namespace dapr::grpcapi
