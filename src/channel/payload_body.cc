#include "channel/payload_body.h"

#include "api/grpc/wire.h"
#include "channel/internal_invoke.h"

namespace dapr::channel {

std::string FramedPayload(std::string data, uint64_t seq) {
  internals::InternalInvokeRequestStream frame;
  auto* payload = frame.mutable_payload();
  payload->set_data(std::move(data));
  payload->set_seq(seq);
  size_t size = frame.ByteSizeLong();
  std::string out(grpcapi::kFrameHeaderBytes + size, '\0');
  grpcapi::WriteFrameHeader(out.data(), static_cast<uint32_t>(size));
  frame.SerializeWithCachedSizesToArray(reinterpret_cast<uint8_t*>(out.data() + grpcapi::kFrameHeaderBytes));
  return out;
}

PayloadBody::~PayloadBody() {
  if (!ended_delivered_ && hooks_.give_up) hooks_.give_up();
}

namespace {
Status LengthMismatch(uint64_t announced) {
  return Status(StatusCode::kInvalidArgument,
                "the body does not match its content-length of " + std::to_string(announced));
}
}  // namespace

void PayloadBody::Push(std::string bytes, size_t wire_bytes) {
  {
    std::lock_guard lock(mutex_);
    if (end_) return;
    pushed_ += bytes.size();
    if (length_ && pushed_ > *length_) {
      // What is queued is not handed on: a reader must not take a part of a wrong body.
      end_ = LengthMismatch(*length_);
    } else {
      pieces_.push_back({std::move(bytes), wire_bytes});
    }
  }
  Deliver();
}

void PayloadBody::Finish(Status status) {
  {
    std::lock_guard lock(mutex_);
    if (end_) return;
    if (status.ok() && length_ && pushed_ != *length_) status = LengthMismatch(*length_);
    end_ = std::move(status);
  }
  Deliver();
}

void PayloadBody::Read(std::function<void(Status, BodyPiece)> got) {
  {
    std::lock_guard lock(mutex_);
    waiting_ = std::move(got);
  }
  Deliver();
}

void PayloadBody::Deliver() {
  std::function<void(Status, BodyPiece)> got;
  Status status = Status::Ok();
  BodyPiece piece;
  size_t wire = 0;
  {
    std::lock_guard lock(mutex_);
    if (!waiting_) return;
    if (!pieces_.empty() && (end_ == std::nullopt || end_->ok())) {
      piece.bytes = std::move(pieces_.front().bytes);
      wire = pieces_.front().wire_bytes;
      pieces_.pop_front();
      // The last piece says so when the end is already known: one read less.
      piece.last = pieces_.empty() && end_.has_value();
    } else if (end_) {
      status = *end_;
      piece.last = true;
      pieces_.clear();
    } else {
      return;
    }
    if (piece.last) ended_delivered_ = true;
    got = std::move(waiting_);
    waiting_ = nullptr;
  }
  if (wire > 0 && hooks_.consumed) hooks_.consumed(wire);
  got(std::move(status), std::move(piece));
}

namespace {

struct PayloadPump : std::enable_shared_from_this<PayloadPump> {
  std::shared_ptr<BodyReader> body;
  PayloadWriter write;
  std::function<void(Status)> done;
  uint64_t seq = 0;

  void Next() {
    body->Read([self = shared_from_this()](Status status, BodyPiece piece) {
      if (!status.ok()) return self->Finish(std::move(status));
      bool last = piece.last;
      if (piece.bytes.empty()) {
        if (last) return self->Finish(Status::Ok());
        return self->Next();
      }
      std::string frame = FramedPayload(std::move(piece.bytes), self->seq++);
      if (last) {
        self->write(std::move(frame), [] {});
        return self->Finish(Status::Ok());
      }
      // The pump lives in this callback while the frame waits: a call that ends drops it.
      self->write(std::move(frame), [self] { self->Next(); });
    });
  }

  void Finish(Status status) {
    body.reset();
    if (auto then = std::move(done)) then(std::move(status));
  }
};

}  // namespace

void SendPayloads(std::shared_ptr<BodyReader> body, PayloadWriter write,
                  std::function<void(Status)> done) {
  auto pump = std::make_shared<PayloadPump>();
  pump->body = std::move(body);
  pump->write = std::move(write);
  pump->done = std::move(done);
  pump->Next();
}

}  // namespace dapr::channel
