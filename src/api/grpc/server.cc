#include "api/grpc/server.h"

#include <grpcpp/grpcpp.h>

namespace dapr::grpcapi {

GrpcServer::GrpcServer(GrpcServerOptions options, std::vector<grpc::Service*> services)
    : options_(std::move(options)), services_(std::move(services)) {}

GrpcServer::~GrpcServer() {
  if (server_) Shutdown(std::chrono::milliseconds(0));
}

Status GrpcServer::Start() {
  grpc::ServerBuilder builder;
  std::vector<std::string> addresses = options_.listen_addresses;
  if (addresses.empty()) addresses.push_back("0.0.0.0");
  std::vector<int> bound(addresses.size(), 0);
  for (size_t i = 0; i < addresses.size(); ++i) {
    std::string host = addresses[i];
    bool v6 = host.find(':') != std::string::npos && host.front() != '[';
    std::string target = (v6 ? "[" + host + "]" : host) + ":" + std::to_string(options_.port);
    builder.AddListeningPort(target, grpc::InsecureServerCredentials(), &bound[i]);
  }
  builder.SetMaxReceiveMessageSize(options_.max_message_bytes);
  // gRPC's own SO_REUSEPORT would let a second daprd silently share our port.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  // Keepalive as Dapr's server sets it: SDK clients may ping every 8 s even without calls
  // (gRPC's default would answer such pings with GOAWAY); idle clients are pinged after
  // 10 s (5 s to answer) and let go after 3 minutes without calls.
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 8000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 10000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 5000);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_IDLE_MS, 180000);
  for (grpc::Service* service : services_) builder.RegisterService(service);
  server_ = builder.BuildAndStart();
  if (!server_) {
    return Unavailable("failed to start gRPC server on port " + std::to_string(options_.port));
  }
  for (size_t i = 0; i < addresses.size(); ++i) {
    if (bound[i] == 0) {
      return Unavailable("failed to listen on " + addresses[i] + ":" +
                         std::to_string(options_.port));
    }
  }
  return Status::Ok();
}

void GrpcServer::Shutdown(std::chrono::milliseconds grace) {
  if (!server_) return;
  server_->Shutdown(std::chrono::system_clock::now() + grace);
  server_->Wait();
  server_.reset();
}

}  // namespace dapr::grpcapi
