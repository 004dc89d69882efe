#include "channel/h2c_app_channel.h"

#include <boost/beast/core/string.hpp>

#include "api/grpc/client.h"

namespace dapr::channel {
namespace {

// Not relayed to or from the app: HTTP/1.1 connection headers have no place in HTTP/2, and
// the channel sets content-type and the token itself.
bool Relayed(std::string_view name) {
  return !IsFramingHeader(name) && !boost::beast::iequals(name, "content-type") &&
         !boost::beast::iequals(name, "dapr-api-token");
}

std::string Lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

}  // namespace

H2cAppChannel::H2cAppChannel(boost::asio::io_context& loop, H2cAppChannelOptions options)
    : options_(std::move(options)),
      channel_(grpcapi::GrpcChannel::Create(loop, options_.host, options_.port)) {}

H2cAppChannel::~H2cAppChannel() { channel_->Close(); }

void H2cAppChannel::Invoke(AppRequest request, AppCallback done) {
  std::string path = "/" + request.method;
  if (!request.query.empty()) path += "?" + request.query;
  grpcapi::GrpcCallOptions options;
  options.max_response_bytes = options_.max_response_bytes;
  for (auto& [name, value] : request.headers) {
    if (Relayed(name)) options.metadata.emplace_back(Lower(std::move(name)), std::move(value));
  }
  if (!options_.app_api_token.empty()) options.metadata.emplace_back("dapr-api-token", options_.app_api_token);
  std::string target = request.verb + " h2c://" + options_.host + ":" + std::to_string(options_.port) + path;
  channel_->HttpRequest(request.verb, std::move(path), std::move(request.content_type),
                        std::move(request.body), std::move(options),
                        [target = std::move(target), done = std::move(done)](grpcapi::GrpcReply reply) {
                          if (!reply.status.ok()) {
                            return done(blocks::errors::InvokeCause("error invoking app channel: " +
                                                                    target + ": " + reply.status.message));
                          }
                          AppResponse response;
                          response.status = reply.http_status;
                          for (auto& [name, value] : reply.headers) {
                            if (name == "content-type") {
                              response.content_type = std::move(value);
                            } else if (Relayed(name)) {
                              response.headers.emplace_back(std::move(name), std::move(value));
                            }
                          }
                          response.body = std::move(reply.message);
                          done(std::move(response));
                        });
}

void H2cAppChannel::CheckHealth(AppRequest probe, std::function<void(bool)> done) {
  Invoke(std::move(probe), [done = std::move(done)](blocks::ApiResult<AppResponse> result) {
    done(result.ok() && result->status >= 200 && result->status <= 299);
  });
}

}  // namespace dapr::channel
