#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace wk::net {

struct fetch_request {
  std::string url;  // http:// or https:// only
  std::string method = "GET";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::chrono::milliseconds timeout{10000};    // whole transfer, from submission to last byte
  std::uint64_t max_body_bytes = 10ull << 20;  // of the DECODED body
  bool accept_compressed = true;  // Accept-Encoding gzip/deflate, decoded transparently
  bool want_tls_info = false;     // fill tls_not_after for https (costs a fresh TLS handshake)
  bool verify_tls = true;
  // Connecting (DNS, TCP, TLS) gets at most this long, and never more than `timeout`.
  std::chrono::milliseconds connect_timeout{5000};
  bool follow_redirects = false;  // at most 10 hops, http and https only
};

struct fetch_result {
  bool transport_ok = false;  // false: DNS/connect/TLS/timeout/too large -> see error
  // Clear text, e.g. "timeout after 2000 ms", "body exceeds limit of 10485760 bytes",
  // "connection refused".
  std::string error;
  enum class failure {
    none,
    timeout,
    connect,
    dns,
    tls,
    too_large,
    other
  } failure_kind = failure::none;
  // Status, content type and headers of the last response, as far as it arrived (also when the
  // transport failed afterwards); the body only when transport_ok.
  int status = 0;
  std::string body;
  std::string content_type;
  std::vector<std::pair<std::string, std::string>> headers;
  double total_seconds = 0, connect_seconds = 0, first_byte_seconds = 0;
  std::optional<std::int64_t> tls_not_after_unix;  // leaf certificate expiry
};

struct tcp_result {
  bool ok = false;
  std::string error;
  double connect_seconds = 0;
  fetch_result::failure failure_kind = fetch_result::failure::none;
};

}  // namespace wk::net
