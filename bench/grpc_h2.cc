#include "grpc_h2.h"

#include <google/protobuf/message_lite.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstring>

#include "support.h"

namespace bench {

namespace {

nghttp2_nv Nv(std::string_view name, std::string_view value) {
  return {reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
          reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), name.size(), value.size(),
          NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE};
}

}  // namespace

UnaryCall::UnaryCall(std::string authority, std::string path,
                     const google::protobuf::MessageLite& message)
    : authority_(std::move(authority)), path_(std::move(path)) {
  const std::string bytes = message.SerializeAsString();
  const auto length = static_cast<uint32_t>(bytes.size());
  framed_request_.push_back('\0');
  for (int shift = 24; shift >= 0; shift -= 8) {
    framed_request_.push_back(static_cast<char>((length >> shift) & 0xff));
  }
  framed_request_ += bytes;
  headers_ = {Nv(":method", "POST"), Nv(":scheme", "http"), Nv(":path", path_),
              Nv(":authority", authority_), Nv("content-type", "application/grpc"),
              Nv("te", "trailers")};
}

// ---- GrpcH2Session ------------------------------------------------------------------------

// One call in flight: what is left to send, and the answer as it arrives.
struct GrpcH2Session::Stream {
  const std::string* request = nullptr;
  size_t request_sent = 0;
  std::string response;  // DATA as received: prefix + message
  std::string grpc_status, grpc_message, error;
  int http_status = 0;
  bool trailers_only = false;

  void Reset(const std::string* framed_request) {
    request = framed_request;
    request_sent = 0;
    response.clear();
    grpc_status.clear();
    grpc_message.clear();
    error.clear();
    http_status = 0;
    trailers_only = false;
  }

  // What is wrong with the answer, or nullptr.
  const char* Check(uint32_t close_error) {
    if (close_error != 0) {
      error = std::string("stream reset (") + nghttp2_http2_strerror(close_error) + ")";
    } else if (http_status != 200) {
      error = "HTTP status " + std::to_string(http_status);
    } else if (grpc_status.empty()) {
      error = "no grpc-status in the trailers";
    } else if (grpc_status != "0" || trailers_only) {
      error = "grpc-status " + grpc_status + (grpc_message.empty() ? "" : ": " + grpc_message) +
              (trailers_only ? " (a trailers-only response: no message)" : "");
    } else if (response.size() < 5) {
      error = "response of " + std::to_string(response.size()) + " bytes, no gRPC message";
    } else {
      const auto* p = reinterpret_cast<const unsigned char*>(response.data());
      const uint32_t length =
          (uint32_t{p[1]} << 24) | (uint32_t{p[2]} << 16) | (uint32_t{p[3]} << 8) | uint32_t{p[4]};
      if (p[0] != 0) {
        error = "compressed response message";
      } else if (length != response.size() - 5) {
        error = "framed length " + std::to_string(length) + " but " +
                std::to_string(response.size() - 5) + " bytes after the prefix";
      } else {
        return nullptr;
      }
    }
    return error.c_str();
  }
};

GrpcH2Session::GrpcH2Session(OnDone on_done) : on_done_(std::move(on_done)) {
  nghttp2_session_callbacks* callbacks = nullptr;
  if (nghttp2_session_callbacks_new(&callbacks) != 0) Fail("grpc-h2: out of memory");
  nghttp2_session_callbacks_set_on_header_callback(callbacks, &OnHeader);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, &OnDataChunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, &OnStreamClose);
  const int rv = nghttp2_session_client_new(&session_, callbacks, this);
  nghttp2_session_callbacks_del(callbacks);
  if (rv != 0) Fail(std::string("grpc-h2: nghttp2_session_client_new: ") + nghttp2_strerror(rv));
  // nghttp2 puts the client magic before this SETTINGS frame. Windows large enough that
  // answers never wait for a WINDOW_UPDATE.
  nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1u << 20},
  };
  if (nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, 2) != 0 ||
      nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0, 16 << 20) != 0) {
    Fail("grpc-h2: cannot queue the connection preface");
  }
}

GrpcH2Session::~GrpcH2Session() {
  on_done_ = nullptr;  // calls still open end with the session, unreported
  nghttp2_session_del(session_);
}

GrpcH2Session::Stream* GrpcH2Session::NewStream(const UnaryCall& call) {
  if (free_streams_.empty()) {
    streams_.push_back(std::make_unique<Stream>());
    streams_.back()->response.reserve(4096);
    free_streams_.push_back(streams_.back().get());
  }
  Stream* stream = free_streams_.back();
  free_streams_.pop_back();
  stream->Reset(&call.framed_request_);
  return stream;
}

int32_t GrpcH2Session::Submit(const UnaryCall& call) {
  Stream* stream = NewStream(call);
  nghttp2_data_provider body{};
  body.source.ptr = stream;
  body.read_callback = &ReadRequest;
  const int32_t id = nghttp2_submit_request(session_, nullptr, call.headers_.data(),
                                            call.headers_.size(), &body, stream);
  if (id < 0) Fail(std::string("grpc-h2: submit: ") + nghttp2_strerror(id));
  return id;
}

bool GrpcH2Session::Receive(const uint8_t* data, size_t length) {
  const ssize_t used = nghttp2_session_mem_recv(session_, data, length);
  if (used < 0) {
    error_ = nghttp2_strerror(static_cast<int>(used));
    return false;
  }
  return true;
}

bool GrpcH2Session::TakeOutput(std::string& out) {
  for (;;) {
    const uint8_t* data = nullptr;
    const ssize_t n = nghttp2_session_mem_send(session_, &data);
    if (n < 0) {
      error_ = nghttp2_strerror(static_cast<int>(n));
      return false;
    }
    if (n == 0) return true;
    out.append(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
  }
}

ssize_t GrpcH2Session::ReadRequest(nghttp2_session*, int32_t, uint8_t* buffer, size_t length,
                                   uint32_t* flags, nghttp2_data_source* source, void*) {
  auto* stream = static_cast<Stream*>(source->ptr);
  const size_t n = std::min(length, stream->request->size() - stream->request_sent);
  std::memcpy(buffer, stream->request->data() + stream->request_sent, n);
  stream->request_sent += n;
  if (stream->request_sent == stream->request->size()) *flags |= NGHTTP2_DATA_FLAG_EOF;
  return static_cast<ssize_t>(n);
}

int GrpcH2Session::OnHeader(nghttp2_session* session, const nghttp2_frame* frame,
                            const uint8_t* name, size_t name_length, const uint8_t* value,
                            size_t value_length, uint8_t, void*) {
  auto* stream =
      static_cast<Stream*>(nghttp2_session_get_stream_user_data(session, frame->hd.stream_id));
  if (!stream) return 0;
  const std::string_view key(reinterpret_cast<const char*>(name), name_length);
  const std::string_view text(reinterpret_cast<const char*>(value), value_length);
  if (key == ":status") {
    std::from_chars(text.data(), text.data() + text.size(), stream->http_status);
  } else if (key == "grpc-status") {
    stream->grpc_status.assign(text);
    // grpc-status in the response headers themselves: a trailers-only response.
    stream->trailers_only = frame->headers.cat == NGHTTP2_HCAT_RESPONSE;
  } else if (key == "grpc-message") {
    stream->grpc_message.assign(text);
  }
  return 0;
}

int GrpcH2Session::OnDataChunk(nghttp2_session* session, uint8_t, int32_t stream_id,
                               const uint8_t* data, size_t length, void*) {
  auto* stream = static_cast<Stream*>(nghttp2_session_get_stream_user_data(session, stream_id));
  if (stream) stream->response.append(reinterpret_cast<const char*>(data), length);
  return 0;
}

int GrpcH2Session::OnStreamClose(nghttp2_session* session, int32_t stream_id,
                                 uint32_t error_code, void* user_data) {
  auto& self = *static_cast<GrpcH2Session*>(user_data);
  auto* stream = static_cast<Stream*>(nghttp2_session_get_stream_user_data(session, stream_id));
  if (!stream) return 0;
  UnaryOutcome outcome;
  outcome.stream_id = stream_id;
  outcome.error = stream->Check(error_code);
  if (!outcome.error) outcome.message = std::string_view(stream->response).substr(5);
  if (self.on_done_) self.on_done_(outcome);
  self.free_streams_.push_back(stream);
  return 0;
}

// ---- GrpcH2Client -------------------------------------------------------------------------

GrpcH2Client::GrpcH2Client(int port)
    : fd_(ConnectLoopback(port)),
      authority_("127.0.0.1:" + std::to_string(port)),
      session_([this](const UnaryOutcome& outcome) {
        done_ = true;
        error_ = outcome.error ? outcome.error : "";
        message_.assign(outcome.message);
      }) {
  write_buffer_.reserve(64 << 10);
  message_.reserve(64 << 10);
}

GrpcH2Client::~GrpcH2Client() { close(fd_); }

void GrpcH2Client::RoundTrip(const UnaryCall& call) {
  done_ = false;
  session_.Submit(call);
  Flush();
  while (!done_) {
    const ssize_t n = recv(fd_, read_buffer_.data(), read_buffer_.size(), 0);
    if (n <= 0) Fail("grpc-h2 " + call.path() + ": connection closed by the server");
    if (!session_.Receive(read_buffer_.data(), static_cast<size_t>(n))) {
      Fail("grpc-h2 " + call.path() + ": " + session_.error());
    }
    // What the session has to say (SETTINGS ack, WINDOW_UPDATE) goes out with the next
    // request, unless the answer is still awaited: then now, in case the server waits for it.
    if (!done_ && session_.WantsWrite()) Flush();
  }
  if (!error_.empty()) Fail("grpc-h2 " + call.path() + ": " + error_);
}

void GrpcH2Client::Flush() {
  write_buffer_.clear();
  if (!session_.TakeOutput(write_buffer_)) Fail("grpc-h2: " + session_.error());
  for (size_t sent = 0; sent < write_buffer_.size();) {
    const ssize_t n =
        send(fd_, write_buffer_.data() + sent, write_buffer_.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) Fail("grpc-h2: send failed");
    sent += static_cast<size_t>(n);
  }
}

}  // namespace bench
