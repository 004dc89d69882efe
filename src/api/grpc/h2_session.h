// What the gRPC server's and client's HTTP/2 connections share: the settings and windows
// they announce, and moving what an nghttp2 session wants to send onto its socket.
#pragma once

#include <nghttp2/nghttp2.h>

#include <initializer_list>
#include <string>

#include "common/loop_types.h"

namespace dapr::grpcapi {

enum class H2Side { kClient, kServer };

// A session whose receive windows are given back by hand (nghttp2_session_consume): at once
// for what is held whole, and, for a stream that holds its window, as the bytes are passed
// on. nghttp2's error code, 0 on success.
int NewSession(H2Side side, nghttp2_session** session, const nghttp2_session_callbacks* callbacks,
               void* user_data);

// Submits our SETTINGS (`extra`, plus a 1 MiB stream window) and a 1 GiB connection window:
// a message of a few hundred KiB arrives in one round trip, and streams do not starve one
// another. false if nghttp2 refused.
bool AnnounceSettings(nghttp2_session* session,
                      std::initializer_list<nghttp2_settings_entry> extra);

enum class H2Flush {
  kSent,          // everything queued is written
  kWaitForRoom,   // `buffer` holds what the socket did not take: write it asynchronously
  kSessionDone,   // nothing to send, and the session wants neither to read nor to write
  kSessionError,  // nghttp2 failed (error holds nothing; the session is broken)
  kSocketError,   // the write failed (error says why)
};

// Gathers nghttp2's output into `buffer` (up to about 64 KiB at a time) and writes it at
// once: an answer or a request usually fits in the socket buffer, which spares an
// asynchronous write and its completion handler. With no socket (a TLS connection, whose
// bytes must go through the TLS stream) it only gathers, and answers kWaitForRoom when there
// is something to write. Call only outside nghttp2's callbacks.
H2Flush FlushSession(nghttp2_session* session, loop::TcpSocket* socket, std::string& buffer,
                     boost::system::error_code& error);

}  // namespace dapr::grpcapi
