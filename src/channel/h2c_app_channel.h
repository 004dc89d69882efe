// The h2c app channel (--app-protocol h2c): the app speaks plain HTTP over cleartext HTTP/2
// (prior knowledge, no upgrade), as Dapr's h2c protocol does. Calls go as HTTP/2 requests on
// one kept connection (many at once, as streams), through the same nghttp2 client as gRPC;
// the app's status, headers and body come back as they are.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "channel/app_channel.h"

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace dapr::grpcapi {
class GrpcChannel;
}  // namespace dapr::grpcapi

namespace dapr::channel {

struct H2cAppChannelOptions {
  std::string host = "127.0.0.1";  // numeric, or localhost
  uint16_t port = 0;
  size_t max_response_bytes = 4u << 20;
  std::string app_api_token;  // APP_API_TOKEN, sent as dapr-api-token
};

class H2cAppChannel final : public AppChannel {
 public:
  H2cAppChannel(boost::asio::io_context& loop, H2cAppChannelOptions options);
  ~H2cAppChannel() override;

  void Invoke(AppRequest request, AppCallback done) override;
  void CheckHealth(AppRequest probe, std::function<void(bool)> done) override;

 private:
  H2cAppChannelOptions options_;
  std::shared_ptr<grpcapi::GrpcChannel> channel_;
};

}  // namespace dapr::channel
