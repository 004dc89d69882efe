// The HTTP route table: method + path template -> handler. Templates use "{name}" for one
// segment and "{name*}" for the rest of the path; a building block adds its routes here
// and nowhere else in the transport.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "api/http/http_types.h"

namespace dapr::http {

class Router {
 public:
  // methods: e.g. {"POST", "PUT"}; empty: any verb. Routes are tried in the order added.
  void Add(std::vector<std::string> methods, std::string_view path_template, Handler handler);
  // Called when no route matches (Dapr falls through to service invocation).
  void SetFallback(Handler handler) { fallback_ = std::move(handler); }

  // Finds the handler for the request and fills request.params; nullptr when none matches.
  // An undecodable path parameter yields bad_param = true.
  const Handler* Match(HttpRequest& request, bool& bad_param) const;
  const Handler& Fallback() const { return fallback_; }

 private:
  struct Segment {
    std::string text;
    bool is_param = false;
    bool is_rest = false;
  };
  struct Route {
    std::vector<std::string> methods;
    std::vector<Segment> segments;
    Handler handler;
  };

  bool MatchRoute(const Route& route, const std::vector<std::string_view>& parts,
                  std::map<std::string, std::string>& params, bool& bad_param) const;

  std::vector<Route> routes_;
  Handler fallback_;
};

// Collapses duplicate slashes and drops a trailing slash: "/v1.0//state/" -> "/v1.0/state".
std::vector<std::string_view> SplitPath(std::string_view path);

}  // namespace dapr::http
