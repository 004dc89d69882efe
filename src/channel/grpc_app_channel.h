// The gRPC app channel (--app-protocol grpc, or grpcs over TLS): calls the app's AppCallback/OnInvoke with our
// gRPC client on the event loop, and answers in the app channel's HTTP-shaped terms, as
// Dapr does: a gRPC error becomes the HTTP status Dapr maps it to, with the status as JSON.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "channel/app_channel.h"

namespace boost::asio {
class io_context;
namespace ssl {
class context;
}  // namespace ssl
}  // namespace boost::asio

namespace dapr::grpcapi {
class GrpcChannel;
}  // namespace dapr::grpcapi

namespace dapr::channel {

struct GrpcAppChannelOptions {
  std::string host = "127.0.0.1";  // numeric, or localhost
  uint16_t port = 0;
  std::shared_ptr<boost::asio::ssl::context> tls;  // --app-protocol grpcs; null: cleartext
  size_t max_response_bytes = 4u << 20;
  std::string app_api_token;       // APP_API_TOKEN, sent as dapr-api-token metadata
};

class GrpcAppChannel final : public AppChannel {
 public:
  GrpcAppChannel(boost::asio::io_context& loop, GrpcAppChannelOptions options);
  ~GrpcAppChannel() override;

  void Invoke(AppRequest request, AppCallback done) override;
  void CheckHealth(AppRequest probe, std::function<void(bool)> done) override;
  void CallUnary(std::string path, std::string request, std::function<void(UnaryReply)> done) override;

 private:
  GrpcAppChannelOptions options_;
  std::shared_ptr<grpcapi::GrpcChannel> channel_;
};

}  // namespace dapr::channel
