#include "protocol/http/router.hpp"

#include <algorithm>
#include <stdexcept>

namespace wk::http {

namespace {

// Segments of an absolute path: "/a/b/" -> {"a","b"}, "/" -> {}. Empty inner segments stay, so
// "/a//b" matches no pattern.
std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> out;
  path.remove_prefix(1);
  if (!path.empty() && path.back() == '/')
    path.remove_suffix(1);
  if (path.empty())
    return out;
  while (true) {
    const std::size_t slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos)
      break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

bool valid_method(std::string_view m) {
  return !m.empty() && std::all_of(m.begin(), m.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

bool valid_param_name(std::string_view n) {
  return !n.empty() && std::all_of(n.begin(), n.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

}  // namespace

void router::add(std::string method, std::string pattern, route_handler h) {
  if (!valid_method(method))
    throw std::invalid_argument("route method must be upper-case letters: '" + method + "'");
  if (pattern.empty() || pattern.front() != '/')
    throw std::invalid_argument("route pattern must start with '/': '" + pattern + "'");
  if (!h)
    throw std::invalid_argument("route " + method + " " + pattern + " has no handler");

  route r;
  r.method = std::move(method);
  r.pattern = pattern;
  for (std::string_view s : split_path(pattern)) {
    if (s.empty())
      throw std::invalid_argument("route pattern has an empty segment: '" + pattern + "'");
    segment seg;
    if (s.front() == '{') {
      if (s.back() != '}' || !valid_param_name(s.substr(1, s.size() - 2)))
        throw std::invalid_argument("route parameter must be a whole segment {name}: '" + pattern +
                                    "'");
      seg.text = std::string(s.substr(1, s.size() - 2));
      seg.is_param = true;
      for (const auto& earlier : r.segments)
        if (earlier.is_param && earlier.text == seg.text)
          throw std::invalid_argument("route parameter {" + seg.text + "} repeats in '" + pattern +
                                      "'");
    } else {
      if (s.find_first_of("{}") != std::string_view::npos)
        throw std::invalid_argument("route parameter must be a whole segment {name}: '" + pattern +
                                    "'");
      seg.text = std::string(s);
    }
    r.segments.push_back(std::move(seg));
  }

  for (const auto& existing : routes_) {
    if (existing.method != r.method || existing.segments.size() != r.segments.size())
      continue;
    bool same_shape = true;
    for (std::size_t i = 0; i < r.segments.size() && same_shape; ++i) {
      const auto& a = existing.segments[i];
      const auto& b = r.segments[i];
      same_shape = a.is_param == b.is_param && (a.is_param || a.text == b.text);
    }
    if (same_shape)
      throw std::invalid_argument("route " + r.method + " " + pattern + " conflicts with " +
                                  existing.method + " " + existing.pattern);
  }
  r.handler = std::move(h);
  routes_.push_back(std::move(r));
}

bool router::matches(const route& r, const std::vector<std::string_view>& path) {
  if (r.segments.size() != path.size())
    return false;
  for (std::size_t i = 0; i < path.size(); ++i) {
    const auto& seg = r.segments[i];
    if (seg.is_param ? path[i].empty() : seg.text != path[i])
      return false;
  }
  return true;
}

bool router::more_specific(const route& a, const route& b) {
  for (std::size_t i = 0; i < a.segments.size() && i < b.segments.size(); ++i)
    if (a.segments[i].is_param != b.segments[i].is_param)
      return !a.segments[i].is_param;
  return false;
}

std::string router::allow_header(const std::vector<std::string>& methods) {
  static const std::vector<std::string> order = {"GET",   "HEAD",   "POST",   "PUT",
                                                 "PATCH", "DELETE", "OPTIONS"};
  auto has = [&](const std::string& m) {
    return std::find(methods.begin(), methods.end(), m) != methods.end();
  };
  std::vector<std::string> allowed;
  for (const auto& m : order)
    if (has(m) || (m == "HEAD" && has("GET")) || m == "OPTIONS")
      allowed.push_back(m);
  std::vector<std::string> others;
  for (const auto& m : methods)
    if (std::find(order.begin(), order.end(), m) == order.end() &&
        std::find(others.begin(), others.end(), m) == others.end())
      others.push_back(m);
  std::sort(others.begin(), others.end());
  allowed.insert(allowed.end(), others.begin(), others.end());

  std::string out;
  for (const auto& m : allowed) {
    if (!out.empty())
      out += ", ";
    out += m;
  }
  return out;
}

void router::dispatch(const http_request& req, responder respond) const {
  if (req.path.empty() || req.path.front() != '/') {
    respond(problem(404, "Not Found", "no resource at " + req.path));
    return;
  }
  const auto path = split_path(req.path);
  const route* best = nullptr;
  const route* best_get = nullptr;
  std::vector<std::string> path_methods;
  for (const auto& r : routes_) {
    if (!matches(r, path))
      continue;
    path_methods.push_back(r.method);
    if (r.method == req.method) {
      if (!best || more_specific(r, *best))
        best = &r;
    } else if (req.method == "HEAD" && r.method == "GET") {
      if (!best_get || more_specific(r, *best_get))
        best_get = &r;
    }
  }
  if (!best)
    best = best_get;

  if (best) {
    route_params params;
    for (std::size_t i = 0; i < path.size(); ++i)
      if (best->segments[i].is_param)
        params.emplace(best->segments[i].text, std::string(path[i]));
    best->handler(req, params, std::move(respond));
    return;
  }
  if (path_methods.empty()) {
    respond(problem(404, "Not Found", "no resource at " + req.path));
    return;
  }
  const std::string allow = allow_header(path_methods);
  if (req.method == "OPTIONS") {
    http_response r;
    r.status = 204;
    r.content_type.clear();
    r.headers.push_back({"allow", allow});
    respond(std::move(r));
    return;
  }
  auto r =
    problem(405, "Method Not Allowed",
            "method " + req.method + " is not allowed on " + req.path + "; allowed: " + allow);
  r.headers.push_back({"allow", allow});
  respond(std::move(r));
}

}  // namespace wk::http
