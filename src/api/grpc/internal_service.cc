#include "api/grpc/internal_service.h"

#include "api/grpc/dapr_service.h"
#include "api/grpc/unary.h"
#include "blocks/invocation/invocation_block.h"
#include "channel/internal_invoke.h"

namespace dapr::grpcapi {
namespace {

// Response payload frames of CallLocalStream carry at most this much of the body each.
constexpr size_t kPayloadChunk = 64 << 10;

// One CallLocalStream call, the streaming form Go sidecars use for HTTP invocation: the
// request arrives as a first frame (the request, its data left out) and payload frames in
// sequence; the body is gathered (up to the size limit), the app is called, and the answer
// goes back as a first frame with the response and payload frames with its body.
class LocalStreamCall : public std::enable_shared_from_this<LocalStreamCall> {
 public:
  LocalStreamCall(std::shared_ptr<ServerStream> call, const blocks::InvocationBlock& invocation,
                  size_t max_body_bytes)
      : call_(std::move(call)), invocation_(invocation), max_body_(max_body_bytes),
        reader_(max_body_bytes + 1024) {}

  void Start() {
    call_->OnRequest([self = shared_from_this()](std::string_view bytes) { self->Take(bytes); },
                     [self = shared_from_this()] { self->Invoke(); }, [] {});
  }

 private:
  void Take(std::string_view bytes) {
    if (failed_) return;
    reader_.Append(bytes);
    for (;;) {
      auto message = reader_.Next();
      if (!message.ok()) return Fail(message.error());
      if (!*message) return;
      channel::internals::InternalInvokeRequestStream frame;
      if (!frame.ParseFromString(**message)) return Fail({StatusCode::kInternal, "grpc: error unmarshalling request", {}});
      if (frame.has_request()) {
        if (have_request_) return Fail({StatusCode::kInvalidArgument, "the request came twice", {}});
        have_request_ = true;
        request_ = std::move(*frame.mutable_request());
      }
      if (frame.has_payload()) {
        if (frame.payload().seq() != next_seq_++) {
          return Fail({StatusCode::kInvalidArgument, "payload frames out of sequence", {}});
        }
        body_.append(frame.payload().data());
        if (body_.size() > max_body_) {
          return Fail({StatusCode::kResourceExhausted, "the request body is larger than " + std::to_string(max_body_) + " bytes", {}});
        }
      }
    }
  }

  void Invoke() {
    if (failed_) return;
    if (!have_request_ || reader_.Partial()) {
      return Fail({StatusCode::kInvalidArgument, "the stream ended without a whole request", {}});
    }
    channel::AppRequest request = channel::FromInternalRequest(request_);
    request.body = std::move(body_);
    invocation_.InvokeLocal(std::move(request), [self = shared_from_this()](
                                                    blocks::ApiResult<channel::AppResponse> result) {
      if (!result.ok()) return self->call_->End(ToGrpcStatus(result.error()), {});
      self->Answer(std::move(result).value());
    });
  }

  void Answer(channel::AppResponse app) {
    std::string body = std::move(app.body);
    channel::internals::InternalInvokeResponseStream first;
    *first.mutable_response() = channel::ToInternalResponse(std::move(app));
    size_t at = 0;
    uint64_t seq = 0;
    auto next_payload = [&](channel::internals::InternalInvokeResponseStream& frame) {
      size_t n = std::min(kPayloadChunk, body.size() - at);
      frame.mutable_payload()->set_data(body.substr(at, n));
      frame.mutable_payload()->set_seq(seq++);
      at += n;
    };
    if (!body.empty()) next_payload(first);
    call_->SendData(FrameMessage(first.SerializeAsString()));
    while (at < body.size()) {
      channel::internals::InternalInvokeResponseStream frame;
      next_payload(frame);
      call_->SendData(FrameMessage(frame.SerializeAsString()));
    }
    call_->End(GrpcStatus::Ok(), {});
  }

  void Fail(GrpcStatus status) {
    failed_ = true;
    call_->End(std::move(status), {});
  }

  std::shared_ptr<ServerStream> call_;
  const blocks::InvocationBlock& invocation_;
  size_t max_body_;
  MessageReader reader_;
  channel::internals::InternalInvokeRequest request_;
  bool have_request_ = false;
  uint64_t next_seq_ = 0;
  std::string body_;
  bool failed_ = false;
};

}  // namespace

void AddServiceInvocationRpcs(GrpcServer& server, const blocks::InvocationBlock& invocation,
                              size_t max_body_bytes) {
  server.AddUnary(channel::kCallLocalMethod, [&invocation](std::shared_ptr<ServerCall> call) {
    channel::internals::InternalInvokeRequest request;
    if (!request.ParseFromArray(call->request().data(), static_cast<int>(call->request().size()))) {
      return call->Finish({StatusCode::kInternal, "grpc: error unmarshalling request", {}});
    }
    invocation.InvokeLocal(channel::FromInternalRequest(request),
                           [call](blocks::ApiResult<channel::AppResponse> result) {
                             if (!result.ok()) return call->Finish(ToGrpcStatus(result.error()));
                             Reply(*call, GrpcStatus::Ok(),
                                   channel::ToInternalResponse(std::move(result).value()));
                           });
  });
  server.AddStream(channel::kCallLocalStreamMethod,
                   [&invocation, max_body_bytes](std::shared_ptr<ServerStream> call) {
                     std::make_shared<LocalStreamCall>(std::move(call), invocation, max_body_bytes)->Start();
                   });
}

}  // namespace dapr::grpcapi
