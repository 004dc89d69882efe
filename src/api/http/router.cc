#include "api/http/router.h"

#include <algorithm>

namespace dapr::http {

std::vector<std::string_view> SplitPath(std::string_view path) {
  std::vector<std::string_view> parts;
  size_t i = 0;
  while (i < path.size()) {
    size_t slash = path.find('/', i);
    if (slash == std::string_view::npos) slash = path.size();
    if (slash > i) parts.push_back(path.substr(i, slash - i));
    i = slash + 1;
  }
  return parts;
}

void Router::Add(std::vector<std::string> methods, std::string_view path_template,
                 Handler handler, BodyMode body_mode) {
  Route route{std::move(methods), {}, std::move(handler), body_mode};
  for (std::string_view part : SplitPath(path_template)) {
    Segment segment;
    if (part.size() > 2 && part.front() == '{' && part.back() == '}') {
      segment.is_param = true;
      std::string_view name = part.substr(1, part.size() - 2);
      if (name.back() == '*') {
        segment.is_rest = true;
        name.remove_suffix(1);
      }
      segment.text = std::string(name);
    } else {
      segment.text = std::string(part);
    }
    route.segments.push_back(std::move(segment));
  }
  routes_.push_back(std::move(route));
}

bool Router::MatchRoute(const Route& route, const std::vector<std::string_view>& parts,
                        std::map<std::string, std::string>& params, bool& bad_param) const {
  size_t i = 0;
  for (const Segment& segment : route.segments) {
    if (segment.is_rest) {
      if (i >= parts.size()) return false;
      std::string rest;
      for (size_t j = i; j < parts.size(); ++j) {
        if (j > i) rest.push_back('/');
        rest.append(parts[j]);
      }
      params[segment.text] = rest;
      return true;
    }
    if (i >= parts.size()) return false;
    if (segment.is_param) {
      auto decoded = UrlDecode(parts[i], false);
      if (!decoded) {
        bad_param = true;
        return false;
      }
      params[segment.text] = std::move(*decoded);
    } else if (segment.text != parts[i]) {
      return false;
    }
    ++i;
  }
  return i == parts.size();
}

Router::Target Router::Match(HttpRequest& request, bool& bad_param) const {
  auto parts = SplitPath(request.path);
  for (const Route& route : routes_) {
    if (!route.methods.empty() &&
        std::find(route.methods.begin(), route.methods.end(), request.method) ==
            route.methods.end()) {
      continue;
    }
    std::map<std::string, std::string> params;
    if (MatchRoute(route, parts, params, bad_param)) {
      request.params = std::move(params);
      return {&route.handler, route.body_mode};
    }
    if (bad_param) return {};
  }
  return {};
}

}  // namespace dapr::http
