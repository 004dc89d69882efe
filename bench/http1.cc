#include "http1.h"

#include <strings.h>

#include <cstdlib>
#include <string>

namespace bench {

namespace {

bool HeaderIs(std::string_view line, std::string_view name) {
  return line.size() > name.size() && strncasecmp(line.data(), name.data(), name.size()) == 0;
}

bool Contains(std::string_view text, std::string_view word) {
  for (size_t i = 0; i + word.size() <= text.size(); ++i) {
    if (strncasecmp(text.data() + i, word.data(), word.size()) == 0) return true;
  }
  return false;
}

// Where a chunked body that starts at `at` ends (after its last CRLF), if it is all there.
std::optional<size_t> ChunkedEnd(std::string_view text, size_t at) {
  for (;;) {
    const size_t eol = text.find("\r\n", at);
    if (eol == std::string_view::npos) return std::nullopt;
    const size_t size = std::strtoul(std::string(text.substr(at, eol - at)).c_str(), nullptr, 16);
    at = eol + 2 + size + 2;  // the data, then its CRLF
    if (at > text.size()) return std::nullopt;
    if (size == 0) return at;
  }
}

std::optional<Http1Message> FirstMessage(std::string_view text, bool response) {
  const size_t header_end = text.find("\r\n\r\n");
  if (header_end == std::string_view::npos) return std::nullopt;
  const std::string_view head = text.substr(0, header_end);
  const size_t first_eol = head.find("\r\n");
  const std::string_view first_line = head.substr(0, first_eol);
  Http1Message message;
  std::optional<size_t> body;
  bool chunked = false;
  if (response) {  // "HTTP/1.1 200 OK"
    message.status = first_line.size() >= 12 ? std::atoi(first_line.data() + 9) : 0;
    message.close = first_line.starts_with("HTTP/1.0");
  } else {  // "POST /path HTTP/1.1"
    message.close = first_line.ends_with("HTTP/1.0");
    body = 0;
  }
  for (size_t at = first_eol; at != std::string_view::npos && at < head.size();) {
    at += 2;
    size_t eol = head.find("\r\n", at);
    if (eol == std::string_view::npos) eol = head.size();
    const std::string_view line = head.substr(at, eol - at);
    if (HeaderIs(line, "content-length:")) {
      body = std::strtoul(std::string(line.substr(15)).c_str(), nullptr, 10);
    } else if (HeaderIs(line, "transfer-encoding:")) {
      chunked = Contains(line, "chunked");
    } else if (HeaderIs(line, "connection:")) {
      if (Contains(line, "close")) message.close = true;
      if (Contains(line, "keep-alive")) message.close = false;
    }
    at = eol;
  }
  const bool bodiless = response && (message.status < 200 || message.status == 204 ||
                                     message.status == 304);
  if (bodiless) {
    message.length = header_end + 4;
  } else if (chunked) {
    auto end = ChunkedEnd(text, header_end + 4);
    if (!end) return std::nullopt;
    message.length = *end;
  } else if (body) {
    message.length = header_end + 4 + *body;
    if (message.length > text.size()) return std::nullopt;
  } else {  // a response body that ends with the connection: not supported
    message.length = header_end + 4;
    message.close = true;
  }
  return message;
}

}  // namespace

std::optional<Http1Message> FirstRequest(std::string_view text) { return FirstMessage(text, false); }

std::optional<Http1Message> FirstResponse(std::string_view text) { return FirstMessage(text, true); }

}  // namespace bench
