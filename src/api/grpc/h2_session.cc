#include "api/grpc/h2_session.h"

#include <vector>

namespace dapr::grpcapi {
namespace {
constexpr size_t kWriteChunk = 64 << 10;
constexpr int32_t kStreamWindow = 1 << 20;
// Streams that hold their window (a slow reader down the line) keep up to a stream window
// each from the connection's: the connection's must outlast every stream a peer may open
// (1000) so that stalled streams never starve the others. Memory is bounded per stream.
constexpr int32_t kConnectionWindow = 1 << 30;
}  // namespace

int NewSession(H2Side side, nghttp2_session** session, const nghttp2_session_callbacks* callbacks,
               void* user_data) {
  nghttp2_option* option = nullptr;
  if (int rv = nghttp2_option_new(&option); rv != 0) return rv;
  nghttp2_option_set_no_auto_window_update(option, 1);
  int rv = side == H2Side::kServer ? nghttp2_session_server_new2(session, callbacks, user_data, option)
                                   : nghttp2_session_client_new2(session, callbacks, user_data, option);
  nghttp2_option_del(option);
  return rv;
}

bool AnnounceSettings(nghttp2_session* session,
                      std::initializer_list<nghttp2_settings_entry> extra) {
  std::vector<nghttp2_settings_entry> settings(extra);
  settings.push_back({NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, static_cast<uint32_t>(kStreamWindow)});
  if (nghttp2_submit_settings(session, NGHTTP2_FLAG_NONE, settings.data(), settings.size()) != 0) {
    return false;
  }
  return nghttp2_session_set_local_window_size(session, NGHTTP2_FLAG_NONE, 0, kConnectionWindow) ==
         0;
}

H2Flush FlushSession(nghttp2_session* session, loop::TcpSocket* socket, std::string& buffer,
                     boost::system::error_code& error) {
  for (;;) {
    while (buffer.size() < kWriteChunk) {
      const uint8_t* data = nullptr;
      ssize_t n = nghttp2_session_mem_send(session, &data);
      if (n < 0) return H2Flush::kSessionError;
      if (n == 0) break;
      buffer.append(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
    }
    if (buffer.empty()) {
      bool done = !nghttp2_session_want_read(session) && !nghttp2_session_want_write(session);
      return done ? H2Flush::kSessionDone : H2Flush::kSent;
    }
    if (!socket) return H2Flush::kWaitForRoom;
    size_t written = socket->write_some(boost::asio::buffer(buffer), error);
    if (error == boost::asio::error::would_block || error == boost::asio::error::try_again) {
      error = {};
      written = 0;
    }
    if (error) return H2Flush::kSocketError;
    buffer.erase(0, written);
    if (!buffer.empty()) return H2Flush::kWaitForRoom;  // the socket buffer is full
  }
}

}  // namespace dapr::grpcapi
