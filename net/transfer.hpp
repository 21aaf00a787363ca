#pragma once

#include <curl/curl.h>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "net/fetch_types.hpp"

namespace wk::net {

// Response headers beyond this many bytes abort the transfer (failure::too_large): curl limits
// each header line, not how many lines a hostile target sends.
inline constexpr std::size_t max_response_header_bytes = 256 * 1024;

// One HTTP fetch or TCP connect check run by the fetcher's multi loop. Owns its easy handle and
// everything the handle points at, so it must outlive the handle's time in the multi handle.
// Lifecycle: check() -> (waits for a per-host slot) -> open() -> (multi runs it) -> finish(),
// or fail() at any point -> deliver(). The easy handle exists only between open() and the end,
// so a transfer that waits costs about a kilobyte, not curl's buffers.
class transfer {
 public:
  using clock = std::chrono::steady_clock;

  transfer(fetch_request request, std::function<void(fetch_result)> done, std::string user_agent);
  transfer(std::string host, int port, std::chrono::milliseconds timeout,
           std::function<void(tcp_result)> done);
  transfer(const transfer&) = delete;
  transfer& operator=(const transfer&) = delete;
  ~transfer();

  // Validates the request. On false the outcome is already set.
  bool check();
  // "host:port" the per-host connection limit counts against (valid after check()).
  const std::string& host_key() const { return host_key_; }
  // The timeout runs from submission, so waiting for a slot uses it up too.
  clock::time_point deadline() const { return deadline_; }
  // Builds the easy handle for the time left. On false the outcome is already set.
  bool open(clock::time_point now);
  CURL* handle() const { return easy_; }

  // Records curl's verdict once the multi handle reports the transfer done.
  void finish(CURLcode code);
  // Records a failure that did not come from curl (rejected request, cancellation).
  void fail(fetch_result::failure kind, std::string error);
  // Records that the deadline passed before a per-host slot came free.
  void expire_waiting();
  bool ok() const { return is_tcp_ ? tcp_outcome_.ok : fetch_outcome_.transport_ok; }
  // Hands the outcome to the callback. False when the callback threw (the exception is dropped
  // here: it must not unwind through the loop thread).
  bool deliver() noexcept;

 private:
  static std::size_t on_body(char* data, std::size_t size, std::size_t count, void* self);
  static std::size_t on_header(char* data, std::size_t size, std::size_t count, void* self);
  static std::size_t discard(char* data, std::size_t size, std::size_t count, void* self);

  bool append_body(const char* data, std::size_t n);
  void reserve_body(std::size_t needed);
  bool add_header_line(std::string_view line);

  // Empty when the request is acceptable, else why not. check_fetch also notes scheme and host.
  std::string check_fetch();
  std::string check_tcp();
  CURLcode configure_common();
  CURLcode configure_fetch();
  CURLcode configure_tcp();
  std::chrono::milliseconds timeout() const { return is_tcp_ ? tcp_timeout_ : request_.timeout; }
  std::string timeout_text() const;

  void finish_fetch(CURLcode code);
  void finish_tcp(CURLcode code);
  std::pair<fetch_result::failure, std::string> describe(CURLcode code,
                                                         const std::string& host) const;
  void read_tls_expiry();

  clock::time_point submitted_;
  bool is_tcp_ = false;
  fetch_request request_;
  std::function<void(fetch_result)> fetch_done_;
  std::string user_agent_;
  std::string tcp_host_;
  int tcp_port_ = 0;
  std::chrono::milliseconds tcp_timeout_{0};
  std::function<void(tcp_result)> tcp_done_;

  clock::time_point deadline_;
  std::string host_key_;
  std::string url_host_;
  bool is_https_ = false;
  // What curl was given at open(): the time left, not the request's full timeout.
  std::chrono::milliseconds curl_timeout_{0};
  std::chrono::milliseconds curl_connect_timeout_{0};
  CURL* easy_ = nullptr;
  curl_slist* header_list_ = nullptr;
  std::array<char, CURL_ERROR_SIZE> error_buffer_{};

  std::string body_;
  bool body_reserved_ = false;
  std::vector<std::pair<std::string, std::string>> response_headers_;
  std::size_t header_bytes_ = 0;
  bool body_too_large_ = false;
  bool headers_too_large_ = false;
  bool out_of_memory_ = false;

  fetch_result fetch_outcome_;
  tcp_result tcp_outcome_;
};

}  // namespace wk::net
