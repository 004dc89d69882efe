#include "api/grpc/internal_service.h"

#include "api/grpc/dapr_service.h"
#include "api/grpc/unary.h"
#include "blocks/invocation/invocation_block.h"
#include "channel/internal_invoke.h"
#include "channel/payload_body.h"

namespace dapr::grpcapi {
namespace {

// Response payload frames of CallLocalStream carry at most this much of the body each.
constexpr size_t kPayloadChunk = 64 << 10;
// A request body still arriving past this much goes to the app as it comes.
constexpr size_t kStreamAbove = 64 << 10;

// One CallLocalStream call, the streaming form Go sidecars use for HTTP invocation: the
// request arrives as a first frame (the request, its data left out) and payload frames in
// sequence; the answer goes back as a first frame with the response and payload frames
// with its body. A request whose body is in by the time its first frame has been read is
// handed to the app whole; one still arriving goes to the app as it comes, and so does a
// large answer back. The caller's window follows what the app has taken.
class LocalStreamCall : public std::enable_shared_from_this<LocalStreamCall> {
 public:
  LocalStreamCall(std::shared_ptr<ServerStream> call, const blocks::InvocationBlock& invocation,
                  size_t max_body_bytes)
      : call_(std::move(call)), invocation_(invocation), max_body_(max_body_bytes),
        reader_(max_body_bytes + 1024) {}

  void Start() {
    call_->HoldRequestWindow();
    call_->OnRequest([self = shared_from_this()](std::string_view bytes) { self->Take(bytes); },
                     [self = shared_from_this()] { self->RequestEnded(); },
                     [self = shared_from_this()] { self->Cancelled(); });
  }

 private:
  void Take(std::string_view bytes) {
    if (failed_) return call_->Consumed(bytes.size());
    wire_ += bytes.size();
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
        call_->Defer([self = shared_from_this()] { self->Decide(); });
      }
      if (frame.has_payload()) {
        if (frame.payload().seq() != next_seq_++) {
          return Fail({StatusCode::kInvalidArgument, "payload frames out of sequence", {}});
        }
        received_ += frame.payload().data().size();
        if (received_ > max_body_) {
          return Fail({StatusCode::kResourceExhausted, "the request body is larger than " + std::to_string(max_body_) + " bytes", {}});
        }
        if (auto body = body_.lock()) {
          body->Push(std::move(*frame.mutable_payload()->mutable_data()), std::exchange(wire_, 0));
        } else if (!streaming_) {  // a body given up takes nothing more
          gathered_.append(frame.payload().data());
        }
      }
      // What is gathered, or was given up, is no longer the window's.
      if (!streaming_ || body_.expired()) call_->Consumed(std::exchange(wire_, 0));
      if (!streaming_ && have_request_ && gathered_.size() > kStreamAbove) Decide();
    }
  }

  // After the read that brought the request's first frame: the body is whole by now, or
  // it streams.
  void Decide() {
    if (invoked_ || failed_ || ended_) return;
    invoked_ = true;
    streaming_ = true;
    auto length = channel::TakeContentLength(*request_.mutable_metadata());
    auto body = std::make_shared<channel::PayloadBody>(
        channel::PayloadBody::Hooks{[call = call_](size_t wire) { call->Consumed(wire); }, {}}, length);
    if (!gathered_.empty()) body->Push(std::move(gathered_), 0);
    gathered_.clear();
    body_ = body;
    channel::AppRequest request = channel::FromInternalRequest(request_);
    request.body_reader = std::move(body);
    Invoke(std::move(request));
  }

  void RequestEnded() {
    ended_ = true;
    if (failed_) return;
    if (!have_request_ || reader_.Partial()) {
      return Fail({StatusCode::kInvalidArgument, "the stream ended without a whole request", {}});
    }
    if (streaming_) {
      if (auto body = body_.lock()) body->Finish(Status::Ok());
      return;
    }
    invoked_ = true;
    channel::TakeContentLength(*request_.mutable_metadata());  // a whole body has its own
    channel::AppRequest request = channel::FromInternalRequest(request_);
    request.body = std::move(gathered_);
    Invoke(std::move(request));
  }

  void Cancelled() {
    failed_ = true;
    if (auto body = body_.lock()) body->Finish(Status(StatusCode::kCancelled, "the caller went away"));
  }

  void Invoke(channel::AppRequest request) {
    request.stream_response = true;
    invocation_.InvokeLocal(std::move(request), [self = shared_from_this()](
                                               blocks::ApiResult<channel::AppResponse> result) {
      if (self->failed_) return;
      if (!result.ok()) return self->Fail(ToGrpcStatus(result.error()));
      self->Answer(std::move(result).value());
    });
  }

  void Answer(channel::AppResponse app) {
    if (failed_) return;
    std::string body = std::move(app.body);
    auto streamed = std::move(app.body_reader);
    channel::internals::InternalInvokeResponseStream first;
    *first.mutable_response() = channel::ToInternalResponse(std::move(app));
    if (streamed) {
      if (auto length = streamed->Length()) channel::PutContentLength(*length, *first.mutable_response()->mutable_headers());
    }
    uint64_t seq = 0;
    if (!body.empty()) {  // a whole body's first piece comes with the response
      first.mutable_payload()->set_data(body.substr(0, kPayloadChunk));
      first.mutable_payload()->set_seq(seq++);
    }
    std::string out = FrameMessage(first.SerializeAsString());
    if (streamed) {
      call_->SendData(std::move(out));
      auto call = call_;
      channel::PayloadWriter write = [call](std::string frame, std::function<void()> sent) {
        call->SendData(std::move(frame));
        call->WhenSent(std::move(sent));
      };
      return channel::SendPayloads(std::move(streamed), std::move(write), [call](Status status) {
        if (status.ok()) return call->End(GrpcStatus::Ok(), {});
        call->End({StatusCode::kUnavailable, "the app's answer broke off: " + status.message(), {}}, {});
      });
    }
    // A whole answer leaves in one write, so that the caller has it all in one read.
    for (size_t at = kPayloadChunk; at < body.size(); at += kPayloadChunk) {
      out += channel::FramedPayload(body.substr(at, kPayloadChunk), seq++);
    }
    call_->EndWith(std::move(out), GrpcStatus::Ok(), {});
  }

  // The call ends with `status`; an app still reading the body sees it break off.
  void Fail(GrpcStatus status) {
    if (failed_) return;
    failed_ = true;
    Status broke(status.code, status.message);
    call_->End(std::move(status), {});
    if (auto body = body_.lock()) body->Finish(std::move(broke));
  }

  std::shared_ptr<ServerStream> call_;
  const blocks::InvocationBlock& invocation_;
  size_t max_body_;
  MessageReader reader_;
  channel::internals::InternalInvokeRequest request_;
  bool have_request_ = false;
  bool invoked_ = false;
  bool streaming_ = false;
  bool ended_ = false;
  bool failed_ = false;
  uint64_t next_seq_ = 0;
  size_t wire_ = 0;      // request bytes received and not yet given back to the window
  size_t received_ = 0;  // body bytes received
  std::string gathered_;
  std::weak_ptr<channel::PayloadBody> body_;  // the app channel owns it while it streams
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
