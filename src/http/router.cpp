#include "http/router.hpp"

#include "core/percent.hpp"

#include <stdexcept>

namespace chatd::http {

namespace {

bool is_param(std::string_view segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

void append_allow(std::string& allow, bhttp::verb method) {
  if (!allow.empty()) allow += ", ";
  allow += std::string(bhttp::to_string(method));
  if (method == bhttp::verb::get) allow += ", HEAD";
}

}  // namespace

bool split_path(std::string_view path, std::vector<std::string_view>& out) {
  out.clear();
  if (path.empty() || path.front() != '/') return false;
  if (path == "/") return true;
  std::size_t pos = 1;
  for (;;) {
    auto slash = path.find('/', pos);
    std::string_view seg = path.substr(pos, slash == std::string_view::npos ? std::string_view::npos : slash - pos);
    if (seg.empty()) return false;
    out.push_back(seg);
    if (slash == std::string_view::npos) return true;
    pos = slash + 1;
  }
}

void Router::add(Route route) {
  std::vector<std::string_view> parts;
  if (!split_path(route.pattern, parts)) throw std::invalid_argument("bad route pattern " + route.pattern);
  bool has_params = false;
  std::vector<std::string> segments;
  for (auto p : parts) {
    has_params = has_params || is_param(p);
    segments.emplace_back(p);
  }
  // "/a/{id}" and "/a/{other}" are the same path shape: parameters match by position.
  auto same_shape = [](const std::vector<std::string>& a, const std::vector<std::string>& b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
      if (is_param(a[i]) != is_param(b[i]) || (!is_param(a[i]) && a[i] != b[i])) return false;
    return true;
  };
  std::size_t index = patterns_.size();
  for (std::size_t i = 0; i < patterns_.size(); ++i)
    if (same_shape(patterns_[i].segments, segments)) index = i;
  if (index != patterns_.size() && patterns_[index].segments != segments)
    throw std::invalid_argument("route " + route.pattern + " names its parameters differently from another route");
  if (index == patterns_.size()) {
    patterns_.push_back(Pattern{segments, {}});
    if (!has_params) literal_.emplace(route.pattern, index);
  }
  for (const Route* existing : patterns_[index].routes)
    if (existing->method == route.method)
      throw std::invalid_argument("duplicate route " + std::string(bhttp::to_string(route.method)) + " " +
                                  route.pattern);
  route.index = routes_.size();
  routes_.push_back(std::make_unique<Route>(std::move(route)));
  patterns_[index].routes.push_back(routes_.back().get());
}

Match Router::match(bhttp::verb method, std::string_view path, PathParams& params) const {
  Match m;
  const Pattern* found = nullptr;
  params.clear();
  if (auto it = literal_.find(std::string(path)); it != literal_.end()) {
    found = &patterns_[it->second];
  } else {
    std::vector<std::string_view> parts;
    if (!split_path(path, parts)) return m;
    for (const auto& p : patterns_) {
      if (p.segments.size() != parts.size()) continue;
      bool ok = true;
      bool literal_only = true;
      for (std::size_t i = 0; i < parts.size() && ok; ++i) {
        if (is_param(p.segments[i])) {
          literal_only = false;
        } else {
          ok = p.segments[i] == parts[i];
        }
      }
      if (!ok || literal_only) continue;  // literal patterns were handled by the map
      found = &p;
      for (std::size_t i = 0; i < parts.size(); ++i)
        if (is_param(p.segments[i]))
          params.add(std::string_view(p.segments[i]).substr(1, p.segments[i].size() - 2), percent_decode(parts[i]));
      break;
    }
  }
  if (!found) return m;
  m.path_known = true;
  const Route* get_route = nullptr;
  for (const Route* r : found->routes) {
    append_allow(m.allow, r->method);
    if (r->method == method) m.route = r;
    if (r->method == bhttp::verb::get) get_route = r;
  }
  if (!m.route && method == bhttp::verb::head) m.route = get_route;
  return m;
}

}  // namespace chatd::http
