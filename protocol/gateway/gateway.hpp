#pragma once

// The HTTP front door on port 3006: libwebsockets contexts, each served by its own thread (one
// by default; `service_threads` spreads connections over more, so the fan-out of one event to
// thousands of WebSocket clients uses more than one core). The first context listens and hands
// each accepted connection to the least loaded one. Requests are parsed into wk::http values
// and handed to a handler that must not block; the handler (or an actor it forwards to) answers
// through the responder from any thread, and the connection's service thread writes the
// answer. libwebsockets stays behind this header.
//
// HTTP/1.1 with keep-alive and pipelining. Answered by the gateway itself: 413 for bodies over
// max_body_bytes (declared or chunked), 400 for bad framing, 501 for unknown transfer codings,
// 504 when the responder is not called within response_timeout, 500 when the handler throws,
// and a problem for h2c upgrades (and WebSocket ones when no event hub is attached). The
// connection ends after the answer when the request was refused unread (400, 413, 501), had a
// chunked body, or was a POST/PUT/PATCH without Content-Length (lws 4.1 cannot frame those).
//
// WebSocket upgrades on any path fan events of an events::event_hub out to subscribed clients
// (protocol: docs/websocket.md). Publishers only touch the hub; its waker wakes the service
// threads, which write the hub's shared frames in WRITEABLE callbacks, several queued frames
// of a client in one send.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "events/event_hub.hpp"
#include "protocol/http/http_types.hpp"

namespace wk::gateway {

struct websocket_options {
  std::shared_ptr<events::event_hub> hub;  // null: upgrades refused with 501
  // Decides a client's token (viewer role or better); called on the service threads, must not
  // block. Null: no auth required.
  std::function<bool(std::string_view token)> authorize;
  std::vector<std::string> allowed_origins;  // e.g. "https://ops.example.com"; empty: any
  std::size_t max_message_bytes = 64 * 1024;  // client messages; larger ones close with 1009
  std::size_t max_backlog_events = 4096;      // events pending for one client, then 4008
  std::size_t max_backlog_bytes = 8 << 20;    // their frame bytes, then 4008
  std::chrono::seconds auth_timeout{5};       // to authenticate when auth is required, then 4001
  std::chrono::seconds ping_interval{30};     // lws pings a client silent this long
  std::chrono::seconds idle_timeout{60};      // and drops it when nothing valid came this long
  std::size_t max_topics_per_client = 256;
  std::size_t max_errors_in_a_row = 10;  // bad messages in a row before a close with 1008
};

struct gateway_options {
  std::string bind_address = "0.0.0.0";  // IPv4 or IPv6 literal, "::", or "localhost"
  int port = 3006;                       // 0 = pick a free port; see gateway::port()
  std::size_t max_body_bytes = 1 << 20;
  std::size_t max_header_bytes = 16384;               // request line + headers
  std::chrono::milliseconds response_timeout{30000};  // then 504
  std::size_t max_connections = 10000;                // further connections are refused at accept
  std::chrono::seconds keepalive_timeout{30};  // idle time before a kept-alive connection closes
  // Service threads, 1-64. The handler and the authorize callback are called on all of them.
  std::size_t service_threads = 1;
  websocket_options websocket;
};

// Called on a service thread; must not block. The request is the handler's to keep.
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
    std::uint64_t websocket_clients = 0;    // WebSocket connections open now
    std::uint64_t ws_messages_sent = 0;     // frames written to WebSocket clients
    std::uint64_t ws_slow_closes = 0;       // clients closed with 4008 (slow consumer)
    std::uint64_t ws_event_writes = 0;      // sends that carried events (several frames each)
    std::vector<std::uint64_t> open_per_thread;  // open_connections by service thread
  };
  stats get_stats() const;

 private:
  struct impl;  // one service thread and its lws context
  gateway_options options_;
  http_handler handler_;
  std::vector<std::unique_ptr<impl>> shards_;
};

}  // namespace wk::gateway
