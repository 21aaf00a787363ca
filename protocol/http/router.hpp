#pragma once

// Method + path-pattern routing for the REST surface. Built once at start, then read-only, so
// dispatch() may run on the gateway thread while nothing else touches the table.

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/http/http_types.hpp"

namespace wk::http {

using route_params = std::map<std::string, std::string>;
using route_handler = std::function<void(const http_request&, const route_params&, responder)>;

class router {
 public:
  // pattern: "/api/services/{name}" - literal segments and whole-segment {params}. Throws
  // std::invalid_argument for a malformed pattern or a method+pattern already registered.
  void add(std::string method, std::string pattern, route_handler h);

  // Calls the matching handler, or answers itself:
  //  - 404 problem when no pattern matches the path,
  //  - 405 problem with an Allow header when patterns match but none for this method,
  //  - 204 with an Allow header for OPTIONS when no OPTIONS route is registered.
  // HEAD falls back to the GET route (the gateway drops the body). Where several patterns
  // match, literal segments win over parameters, left to right. One trailing '/' is ignored.
  void dispatch(const http_request& req, responder respond) const;

 private:
  struct segment {
    std::string text;  // literal text, or the parameter name
    bool is_param = false;
  };
  struct route {
    std::string method;
    std::string pattern;
    std::vector<segment> segments;
    route_handler handler;
  };

  static bool matches(const route& r, const std::vector<std::string_view>& path);
  static bool more_specific(const route& a, const route& b);
  static std::string allow_header(const std::vector<std::string>& methods);

  std::vector<route> routes_;
};

}  // namespace wk::http
