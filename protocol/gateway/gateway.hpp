#pragma once

// The HTTP front door on port 3006: one libwebsockets context served by one thread. Requests
// are parsed into wk::http values and handed to a handler that must not block; the handler (or
// an actor it forwards to) answers through the responder from any thread, and the service
// thread writes the answer. libwebsockets stays behind this header.
//
// HTTP/1.1 with keep-alive and pipelining. Answered by the gateway itself: 413 for bodies over
// max_body_bytes (declared or chunked), 400 for bad framing, 501 for unknown transfer codings,
// 504 when the responder is not called within response_timeout, 500 when the handler throws,
// and a problem for Upgrade requests (h2c and WebSocket are not served yet). The connection
// ends after the answer when the request was refused unread (400, 413, 501), had a chunked
// body, or was a POST/PUT/PATCH without Content-Length (lws 4.1 cannot frame those itself).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "protocol/http/http_types.hpp"

namespace wk::gateway {

struct gateway_options {
  std::string bind_address = "0.0.0.0";  // IPv4 or IPv6 literal, "::", or "localhost"
  int port = 3006;                       // 0 = pick a free port; see gateway::port()
  std::size_t max_body_bytes = 1 << 20;
  std::size_t max_header_bytes = 16384;               // request line + headers
  std::chrono::milliseconds response_timeout{30000};  // then 504
  std::size_t max_connections = 10000;                // further connections are refused at accept
  std::chrono::seconds keepalive_timeout{30};  // idle time before a kept-alive connection closes
};

// Called on the service thread; must not block. The request is the handler's to keep.
using http_handler = std::function<void(wk::http::http_request, wk::http::responder)>;

class gateway {
 public:
  gateway(gateway_options options, http_handler handler);
  ~gateway();  // stops if running
  gateway(const gateway&) = delete;
  gateway& operator=(const gateway&) = delete;

  // Binds and starts the service thread. On failure returns false with a reason in *error
  // (e.g. "port 3006 in use"). May be called again after a failure or after stop().
  bool start(std::string* error);

  // Closes every connection and joins the thread; responses arriving later are dropped.
  // Idempotent.
  void stop();

  int port() const;  // the bound port (useful with port 0); 0 before start

  struct stats {
    std::uint64_t requests = 0;            // requests whose headers were read
    std::uint64_t responses = 0;           // responses written completely
    std::uint64_t rejected_too_large = 0;  // 413s
    std::uint64_t open_connections = 0;
    std::uint64_t timed_out = 0;            // 504s for handlers that did not answer in time
    std::uint64_t refused_connections = 0;  // over max_connections
  };
  stats get_stats() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace wk::gateway
