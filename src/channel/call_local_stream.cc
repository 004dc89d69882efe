#include "channel/call_local_stream.h"

#include "channel/internal_invoke.h"
#include "channel/payload_body.h"

namespace dapr::channel {
namespace {

// An answer still arriving past this much goes on to the caller as it comes.
constexpr size_t kStreamAbove = 64 << 10;
// A frame larger than this breaks the call (payload frames carry 64 KiB or so).
constexpr size_t kMaxFrame = 16u << 20;

class LocalStreamClient : public std::enable_shared_from_this<LocalStreamClient> {
 public:
  explicit LocalStreamClient(StreamAnswerCallback done) : done_(std::move(done)), reader_(kMaxFrame) {}

  void Start(grpcapi::GrpcChannel& channel, AppRequest request) {
    grpcapi::GrpcCallOptions options;
    options.hold_response_window = true;
    grpcapi::GrpcStreamCallbacks callbacks;
    callbacks.on_data = [self = shared_from_this()](std::string_view bytes) { self->Take(bytes); };
    callbacks.on_close = [self = shared_from_this()](grpcapi::GrpcStatus status, grpcapi::GrpcMetadata) {
      self->Closed(std::move(status));
    };
    stream_ = channel.StartStream(kCallLocalStreamMethod, std::move(options), std::move(callbacks));
    SendRequest(std::move(request));
  }

 private:
  // The first frame, then the body: with it when it is whole, else piece by piece.
  void SendRequest(AppRequest request) {
    auto body_reader = std::move(request.body_reader);
    std::string body = std::move(request.body);
    internals::InternalInvokeRequestStream first;
    *first.mutable_request() = ToInternalRequest(std::move(request));
    if (body_reader) {
      if (auto length = body_reader->Length()) {
        PutContentLength(*length, *first.mutable_request()->mutable_metadata());
      }
    }
    if (!body.empty()) {
      first.mutable_payload()->set_data(std::move(body));
      first.mutable_payload()->set_seq(0);
    }
    std::string framed = grpcapi::FrameMessage(first.SerializeAsString());
    // A whole request leaves in one frame that ends the stream: the other sidecar has it
    // all in one read and calls its app with it whole.
    if (!body_reader) return stream_->WriteLast(std::move(framed));
    stream_->Write(std::move(framed));
    auto stream = stream_;
    PayloadWriter write = [stream](std::string frame, std::function<void()> sent) {
      if (!stream->Write(std::move(frame))) return stream->Cancel();
      stream->WhenSent(std::move(sent));
    };
    SendPayloads(std::move(body_reader), std::move(write), [stream](Status status) {
      if (status.ok()) return stream->CloseSend();
      stream->Cancel();  // the caller's body broke off: the app must not take it as whole
    });
  }

  void Take(std::string_view bytes) {
    wire_ += bytes.size();
    reader_.Append(bytes);
    for (;;) {
      auto message = reader_.Next();
      if (!message.ok()) return Break(message.error().message);
      if (!*message) break;
      internals::InternalInvokeResponseStream frame;
      if (!frame.ParseFromString(**message)) return Break("malformed response from the app's sidecar");
      if (frame.has_response() && !have_response_) {
        have_response_ = true;
        response_ = std::move(*frame.mutable_response());
        stream_->Defer([self = shared_from_this()] { self->Decide(); });
      }
      if (frame.has_payload()) {
        if (!have_response_ || frame.payload().seq() != next_seq_++) {
          return Break("payload frames out of sequence from the app's sidecar");
        }
        if (auto body = body_.lock()) {
          body->Push(std::move(*frame.mutable_payload()->mutable_data()), std::exchange(wire_, 0));
        } else if (!streaming_) {  // a body given up takes nothing more
          gathered_.append(frame.payload().data());
        }
      }
    }
    // What is gathered, or was given up, is no longer the window's.
    if (!streaming_ || body_.expired()) stream_->Consumed(std::exchange(wire_, 0));
    if (!answered_ && have_response_ && gathered_.size() > kStreamAbove) Decide();
  }

  // After the read that brought the answer's first frame: the answer is whole by now, or
  // its body streams.
  void Decide() {
    if (answered_) return;
    answered_ = true;
    streaming_ = true;
    auto stream = stream_;
    auto length = TakeContentLength(*response_.mutable_headers());
    auto body = std::make_shared<PayloadBody>(
        PayloadBody::Hooks{[stream](size_t wire) { stream->Consumed(wire); }, [stream] { stream->Cancel(); }},
        length);
    if (!gathered_.empty()) body->Push(std::move(gathered_), 0);
    gathered_.clear();
    body_ = body;
    AppResponse answer = FromInternalResponse(response_);
    answer.body_reader = std::move(body);
    Answer(grpcapi::GrpcStatus::Ok(), std::move(answer));
  }

  void Closed(grpcapi::GrpcStatus status) {
    if (status.ok() && reader_.Partial()) status = {StatusCode::kInternal, "the answer broke off mid-frame", {}};
    if (streaming_) {
      if (auto body = body_.lock()) {
        body->Finish(status.ok() ? Status::Ok() : Status(status.code, status.message));
      }
      return;
    }
    if (answered_) return;
    answered_ = true;
    if (!status.ok()) return Answer(std::move(status), {});
    if (!have_response_) {
      return Answer({StatusCode::kInternal, "the app's sidecar ended the call without an answer", {}}, {});
    }
    TakeContentLength(*response_.mutable_headers());  // a whole body has its own
    AppResponse answer = FromInternalResponse(response_);
    answer.body = std::move(gathered_);
    Answer(std::move(status), std::move(answer));
  }

  void Break(std::string why) {
    stream_->Cancel();
    grpcapi::GrpcStatus status{StatusCode::kInternal, std::move(why), {}};
    if (auto body = body_.lock()) body->Finish(Status(status.code, status.message));
    if (!answered_) {
      answered_ = true;
      Answer(std::move(status), {});
    }
  }

  void Answer(grpcapi::GrpcStatus status, AppResponse answer) {
    if (auto done = std::move(done_)) done(std::move(status), std::move(answer));
  }

  StreamAnswerCallback done_;
  std::shared_ptr<grpcapi::GrpcClientStream> stream_;
  grpcapi::MessageReader reader_;
  internals::InternalInvokeResponse response_;
  bool have_response_ = false;
  bool answered_ = false;
  bool streaming_ = false;
  uint64_t next_seq_ = 0;
  size_t wire_ = 0;  // answer bytes received and not yet given back to the window
  std::string gathered_;
  std::weak_ptr<PayloadBody> body_;  // the caller owns it while it streams
};

}  // namespace

void CallLocalStream(grpcapi::GrpcChannel& channel, AppRequest request, StreamAnswerCallback done) {
  std::make_shared<LocalStreamClient>(std::move(done))->Start(channel, std::move(request));
}

}  // namespace dapr::channel
