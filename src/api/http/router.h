// The HTTP route table: method + path template -> handler. Templates use "{name}" for one
// segment and "{name*}" for the rest of the path; a building block adds its routes here
// and nowhere else in the transport.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "api/http/http_types.h"

namespace dapr::http {

// How a route takes the request body: whole (read up to the size limit before the handler
// runs), or, when it is large, as a stream the handler reads (HttpRequest::body_reader).
enum class BodyMode { kWhole, kStream };

class Router {
 public:
  struct Target {
    const Handler* handler = nullptr;
    BodyMode body_mode = BodyMode::kWhole;
  };

  // methods: e.g. {"POST", "PUT"}; empty: any verb. Routes are tried in the order added.
  void Add(std::vector<std::string> methods, std::string_view path_template, Handler handler,
           BodyMode body_mode = BodyMode::kWhole);
  // Called when no route matches (Dapr falls through to service invocation).
  void SetFallback(Handler handler, BodyMode body_mode = BodyMode::kWhole) {
    fallback_ = std::move(handler);
    fallback_mode_ = body_mode;
  }

  // Finds the handler for the request and fills request.params; a null handler when none
  // matches. An undecodable path parameter yields bad_param = true.
  Target Match(HttpRequest& request, bool& bad_param) const;
  // What a request no route matched goes to.
  Target Fallback() const { return {&fallback_, fallback_mode_}; }
  // Match, then the fallback when nothing matched (and the parameters decoded).
  Target Find(HttpRequest& request, bool& bad_param) const {
    Target target = Match(request, bad_param);
    return target.handler || bad_param ? target : Fallback();
  }

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
    BodyMode body_mode;
  };

  bool MatchRoute(const Route& route, const std::vector<std::string_view>& parts,
                  std::map<std::string, std::string>& params, bool& bad_param) const;

  std::vector<Route> routes_;
  Handler fallback_;
  BodyMode fallback_mode_ = BodyMode::kWhole;
};

// Collapses duplicate slashes and drops a trailing slash: "/v1.0//state/" -> "/v1.0/state".
std::vector<std::string_view> SplitPath(std::string_view path);

}  // namespace dapr::http
