#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace wk::config {

// A "host:port" endpoint. IPv6 hosts are written in brackets ("[::1]:5432") and stored without.
struct host_port {
  std::string host;
  std::uint16_t port = 0;
  std::string to_string() const;
};
bool operator==(const host_port& a, const host_port& b);
bool operator!=(const host_port& a, const host_port& b);

// Parses "host:port". An empty host ("":3006 or ":3006") is allowed only when !host_required
// (a listen address meaning every interface); port 0 only when !port_required. On failure
// returns nullopt and puts a short reason in *why.
std::optional<host_port> parse_host_port(std::string_view text, bool host_required,
                                         bool port_required, std::string* why);

// An absolute http:// or https:// URL, split the way an HTTP client needs it.
struct http_url {
  bool https = false;
  std::string host;        // without brackets for IPv6
  std::uint16_t port = 0;  // the scheme's default when the URL names none
  std::string target;      // path and query, "/" when empty
};

// Parses an absolute http(s) URL with a non-empty host; rejects spaces and control characters.
std::optional<http_url> parse_http_url(std::string_view text, std::string* why);

}  // namespace wk::config
