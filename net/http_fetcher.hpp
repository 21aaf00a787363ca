#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "net/fetch_types.hpp"

namespace wk::net {

struct fetcher_options {
  std::size_t max_total_connections = 0;  // 0 = curl default (no limit)
  // Transfers to one host:port running at once (0 = no limit); the rest wait in order, without
  // holding curl resources, and their timeout keeps running.
  std::size_t max_host_connections = 4;
  std::string user_agent = "Watchkeeper/0.1";
};

struct fetcher_stats {
  std::uint64_t started = 0;              // accepted by fetch() / connect_tcp()
  std::uint64_t completed = 0;            // transport succeeded (any HTTP status)
  std::uint64_t failed = 0;               // transport failed, request rejected, or cancelled
  std::uint64_t in_flight = 0;            // started, callback not yet called
  std::uint64_t waiting_for_host = 0;     // part of in_flight: all connections to its host busy
  std::uint64_t callback_exceptions = 0;  // callbacks that threw (the exception is dropped)
};

// Every outbound HTTP(S) request and TCP connect check of the process, driven by one thread
// around one libcurl multi handle: connections and DNS answers are shared and reused, thousands
// of transfers run at once, and no call blocks the caller. Environment proxy variables are
// ignored. The process should ignore SIGPIPE (curl runs with CURLOPT_NOSIGNAL).
class http_fetcher {
 public:
  explicit http_fetcher(fetcher_options options = {});  // starts its one loop thread
  // Aborts in-flight and queued transfers (their callbacks get error "cancelled") and joins the
  // loop. Must not run on the loop thread, i.e. not from inside a callback.
  ~http_fetcher();
  http_fetcher(const http_fetcher&) = delete;
  http_fetcher& operator=(const http_fetcher&) = delete;

  // Thread-safe. `done` runs exactly once, on the loop thread, and must not block. An invalid
  // request (bad URL, scheme other than http/https, bad header) completes with failure::other.
  void fetch(fetch_request request, std::function<void(fetch_result)> done);
  // Opens a TCP connection to host:port and closes it again; same threading as fetch().
  void connect_tcp(std::string host, int port, std::chrono::milliseconds timeout,
                   std::function<void(tcp_result)> done);
  fetcher_stats stats() const;

 private:
  class loop;
  std::unique_ptr<loop> loop_;
};

}  // namespace wk::net
