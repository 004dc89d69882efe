// HTTP/1.1 message framing for the benchmark's app and load generator: where the first whole
// message in a buffer ends. Enough for what sidecars, nginx and our clients send
// (Content-Length or chunked bodies, keep-alive), not a general parser: no trailers, no
// bodies that end with the connection.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace bench {

struct Http1Message {
  size_t length = 0;   // head and body
  int status = 0;      // of a response
  bool close = false;  // the sender will close, or wants the connection closed, after it
};

// The first whole request in `text`; nullopt while it is incomplete.
std::optional<Http1Message> FirstRequest(std::string_view text);
// The first whole response in `text`; nullopt while it is incomplete. A response whose body
// would end with the connection (no length given) is reported with close set and no body.
std::optional<Http1Message> FirstResponse(std::string_view text);

}  // namespace bench
