#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "net/http_fetcher.hpp"

namespace wk::net::test {

// A private temporary directory, removed with everything in it.
class temp_dir {
 public:
  temp_dir();
  ~temp_dir();
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// tests/tools/target_server.py running on a free 127.0.0.1 port for the life of the object.
class target_process {
 public:
  // tls_cert/tls_key empty: plain HTTP.
  explicit target_process(const std::string& tls_cert = {}, const std::string& tls_key = {});
  ~target_process();
  target_process(const target_process&) = delete;
  target_process& operator=(const target_process&) = delete;

  int port() const { return port_; }
  std::string url(std::string_view path) const;

 private:
  temp_dir dir_;
  pid_t pid_ = -1;
  int port_ = 0;
  bool tls_ = false;
};

// A 127.0.0.1 port whose accept queue is full: the kernel drops further SYNs, so a connect
// there hangs until the client's timeout, like a firewalled host.
class blackhole_listener {
 public:
  blackhole_listener();
  ~blackhole_listener();
  blackhole_listener(const blackhole_listener&) = delete;
  blackhole_listener& operator=(const blackhole_listener&) = delete;
  int port() const { return port_; }

 private:
  std::vector<int> fds_;
  int port_ = 0;
};

// A port on 127.0.0.1 that nothing listens on right now (bound, read back, released).
int unused_port();

// Runs one request and waits for its callback (failing the test after `limit`).
fetch_result fetch_sync(http_fetcher& fetcher, fetch_request request,
                        std::chrono::seconds limit = std::chrono::seconds(60));
fetch_result fetch_sync(http_fetcher& fetcher, const std::string& url);
tcp_result connect_sync(http_fetcher& fetcher, const std::string& host, int port,
                        std::chrono::milliseconds timeout);

}  // namespace wk::net::test
