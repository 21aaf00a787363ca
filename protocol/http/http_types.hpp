#pragma once

// Plain HTTP request/response values shared by the gateway (which fills and sends them) and the
// REST handlers (which read and produce them). No I/O here.

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wk::http {

struct header {
  std::string name;  // lower-case on requests
  std::string value;
};

struct http_request {
  std::string method;     // upper-case: GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS
  std::string path;       // percent-decoded, without the query
  std::string raw_query;  // percent-encoded, without the '?'; decode with parse_query()
  std::vector<header> headers;
  std::string body;
  std::string remote_address;

  // The first value of a header (name in lower case), or "" when absent.
  std::string_view header_value(std::string_view lower_name) const;
};

struct http_response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<header> headers;
};

// RFC 9457 application/problem+json: {"type","title","status","detail"}.
http_response problem(int status, std::string_view title, std::string_view detail);

http_response json_response(int status, std::string body);

// The contents of a JSON string literal (without the quotes): quotes, backslashes and control
// characters escaped, invalid UTF-8 replaced by U+FFFD so the result is always valid JSON.
std::string json_escape(std::string_view text);

// The token of an "Authorization: Bearer <token>" header; nullopt when absent or malformed.
// The view points into the request's header storage.
std::optional<std::string_view> bearer_token(const http_request& request);

// Answers one request. Call exactly once; may be called from any thread.
using responder = std::function<void(http_response)>;

}  // namespace wk::http
