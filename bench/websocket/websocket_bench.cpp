// bench_websocket CLIENTS EVENTS_PER_SEC SECONDS [SERVICE_THREADS]
//
// Fan-out cost and latency of the WebSocket gateway. The process forks first: the parent runs
// the event hub and the gateway on 127.0.0.1 (port 0) and publishes events on one topic at the
// given rate, each stamped with the clock; the child opens CLIENTS WebSocket connections from
// one epoll thread (at nice 19 once connected; WK_BENCH_CLIENT_NICE=0 keeps it at the server's
// priority), subscribes them all, and records delivery latency of every event on every
// connection twice: until the kernel queued the bytes on the client's socket (SO_TIMESTAMPNS:
// the server's delivery, what the target is about) and until the client thread read them (which
// adds the client's own queueing: one thread reading 10,000 sockets on shared cores). Two processes, because 10,000 clients and their 10,000 server-side sockets
// would not fit one process's descriptor limit. Prints latency p50/p99/max, messages delivered
// per second, and the server process's CPU-seconds per million messages delivered.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <spdlog/spdlog.h>

#include "events/event_hub.hpp"
#include "protocol/gateway/gateway.hpp"
#include "telemetry/logging.hpp"

namespace {

// CLOCK_REALTIME: the kernel's receive timestamps (SO_TIMESTAMPNS) are on that clock.
std::int64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

double cpu_seconds_self() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

void raise_fd_limit() {
  rlimit r{};
  if (getrlimit(RLIMIT_NOFILE, &r) == 0) {
    r.rlim_cur = r.rlim_max;
    setrlimit(RLIMIT_NOFILE, &r);
  }
}

bool write_all(int fd, const void* data, std::size_t n) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    const ssize_t w = write(fd, p, n);
    if (w <= 0)
      return false;
    p += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

bool read_all(int fd, void* data, std::size_t n) {
  char* p = static_cast<char*>(data);
  while (n > 0) {
    const ssize_t r = read(fd, p, n);
    if (r <= 0)
      return false;
    p += r;
    n -= static_cast<std::size_t>(r);
  }
  return true;
}

// --- the client side (child process) --------------------------------------------------------

enum class stage { connecting, upgrading, subscribing, ready, dead };

struct client_conn {
  int fd = -1;
  stage state = stage::connecting;
  std::string in;
  std::uint64_t events = 0;
};

std::string masked_text_frame(const std::string& payload) {
  std::string f;
  f += static_cast<char>(0x81);
  f += static_cast<char>(0x80 | payload.size());  // payload < 126 bytes here
  const char mask[4] = {0x12, 0x34, 0x56, 0x78};
  f.append(mask, 4);
  for (std::size_t i = 0; i < payload.size(); ++i)
    f += static_cast<char>(payload[i] ^ mask[i % 4]);
  return f;
}

struct client_results {
  std::vector<std::uint32_t> latency_us;         // to the read
  std::vector<std::uint32_t> socket_latency_us;  // to the kernel's receive timestamp
  std::uint64_t delivered = 0;
  std::uint64_t connected = 0;
  std::uint64_t failed = 0;
};

class client_fleet {
 public:
  client_fleet(int port, std::size_t n) : port_(port), conns_(n) {
    epoll_ = epoll_create1(EPOLL_CLOEXEC);
  }

  bool connect_all() {
    const std::string handshake =
      "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    subscribe_ = masked_text_frame(R"({"type":"subscribe","topics":["metrics:bench"]})");
    std::size_t next = 0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    // A few hundred handshakes in flight at a time keep the listen backlog from overflowing.
    while (results_.connected + results_.failed < conns_.size()) {
      while (next < conns_.size() && next - results_.connected - results_.failed < 256) {
        open(next, handshake);
        ++next;
      }
      poll_once(10);
      if (std::chrono::steady_clock::now() > deadline)
        return false;
    }
    return results_.failed == 0;
  }

  void poll_once(int timeout_ms) {
    epoll_event events[512];
    const int n = epoll_wait(epoll_, events, 512, timeout_ms);
    for (int i = 0; i < n; ++i)
      on_readable(events[i].data.u32);
  }

  client_results& results() { return results_; }

 private:
  void open(std::size_t i, const std::string& handshake) {
    client_conn& c = conns_[i];
    c.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(static_cast<std::uint16_t>(port_));
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (c.fd < 0 || connect(c.fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 ||
        !write_all(c.fd, handshake.data(), handshake.size())) {
      fail(c);
      return;
    }
    fcntl(c.fd, F_SETFL, fcntl(c.fd, F_GETFL) | O_NONBLOCK);
    const int on = 1;
    setsockopt(c.fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on);
    c.state = stage::upgrading;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u32 = static_cast<std::uint32_t>(i);
    epoll_ctl(epoll_, EPOLL_CTL_ADD, c.fd, &ev);
  }

  void fail(client_conn& c) {
    if (c.state == stage::dead)
      return;
    if (c.state != stage::ready)
      ++results_.failed;
    c.state = stage::dead;
    if (c.fd >= 0)
      close(c.fd);
    c.fd = -1;
  }

  void on_readable(std::uint32_t i) {
    client_conn& c = conns_[i];
    char buffer[65536];
    // The kernel stamps each read with the arrival of its first bytes; later frames in the same
    // read arrived no earlier, so using it for them errs towards the lower figure by at most
    // the gap between them.
    std::int64_t kernel_arrival = 0;
    for (;;) {
      iovec iov{buffer, sizeof buffer};
      alignas(cmsghdr) char control[CMSG_SPACE(sizeof(timespec))];
      msghdr msg{};
      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;
      msg.msg_control = control;
      msg.msg_controllen = sizeof control;
      const ssize_t n = recvmsg(c.fd, &msg, 0);
      if (n > 0) {
        for (cmsghdr* cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
          if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_TIMESTAMPNS &&
              kernel_arrival == 0) {
            timespec ts{};
            std::memcpy(&ts, CMSG_DATA(cm), sizeof ts);
            kernel_arrival = static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
          }
        }
        c.in.append(buffer, static_cast<std::size_t>(n));
        // A short read drained the socket; epoll is level-triggered and reports more later.
        // Skipping the EAGAIN read halves the client's syscalls on the shared cores.
        if (static_cast<std::size_t>(n) < sizeof buffer)
          break;
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        break;
      fail(c);
      return;
    }
    const std::int64_t arrival = now_ns();
    if (c.state == stage::upgrading) {
      const auto end = c.in.find("\r\n\r\n");
      if (end == std::string::npos)
        return;
      if (c.in.compare(0, 12, "HTTP/1.1 101") != 0) {
        fail(c);
        return;
      }
      c.in.erase(0, end + 4);
      c.state = stage::subscribing;
      if (!write_all(c.fd, subscribe_.data(), subscribe_.size())) {
        fail(c);
        return;
      }
    }
    std::size_t pos = 0;
    while (c.in.size() - pos >= 2) {
      std::size_t header = 2;
      std::uint64_t length = static_cast<unsigned char>(c.in[pos + 1]) & 0x7F;
      if (length == 126) {
        if (c.in.size() - pos < 4)
          break;
        header = 4;
        length = (static_cast<unsigned char>(c.in[pos + 2]) << 8) |
                 static_cast<unsigned char>(c.in[pos + 3]);
      } else if (length == 127) {
        if (c.in.size() - pos < 10)
          break;
        header = 10;
        length = 0;
        for (int k = 2; k < 10; ++k)
          length = (length << 8) | static_cast<unsigned char>(c.in[pos + k]);
      }
      if (c.in.size() - pos < header + length)
        break;
      const std::string_view payload(c.in.data() + pos + header, static_cast<std::size_t>(length));
      on_message(c, payload, arrival, kernel_arrival ? kernel_arrival : arrival);
      pos += header + static_cast<std::size_t>(length);
    }
    c.in.erase(0, pos);
  }

  void on_message(client_conn& c, std::string_view payload, std::int64_t arrival,
                  std::int64_t socket_arrival) {
    if (c.state == stage::subscribing) {
      if (payload.find("\"type\":\"subscribed\"") != std::string_view::npos) {
        c.state = stage::ready;
        ++results_.connected;
      }
      return;
    }
    static constexpr std::string_view key = "\"sent_ns\":";
    const auto at = payload.find(key);
    if (at == std::string_view::npos)
      return;
    const std::int64_t sent = std::strtoll(payload.data() + at + key.size(), nullptr, 10);
    ++c.events;
    ++results_.delivered;
    results_.latency_us.push_back(
      static_cast<std::uint32_t>(std::max<std::int64_t>(0, arrival - sent) / 1000));
    results_.socket_latency_us.push_back(
      static_cast<std::uint32_t>(std::max<std::int64_t>(0, socket_arrival - sent) / 1000));
  }

  int port_;
  int epoll_ = -1;
  std::vector<client_conn> conns_;
  std::string subscribe_;
  client_results results_;
};

// Child: connects, reports ready, receives until told the total and all arrived (or 10 s).
int run_clients(int port, std::size_t clients, int to_parent, int from_parent) {
  client_fleet fleet(port, clients);
  double cpu_start = 0;
  const bool ok = fleet.connect_all();
  // From here on the fleet yields the cores to the server under test: on a shared machine its
  // reading would otherwise steal the CPU the fan-out is measured on. The socket latency (the
  // kernel's receive timestamp) does not depend on when the fleet gets to read.
  if (std::getenv("WK_BENCH_CLIENT_NICE") == nullptr ||
      std::string(std::getenv("WK_BENCH_CLIENT_NICE")) != "0")
    setpriority(PRIO_PROCESS, 0, 19);
  const std::uint8_t ready = ok ? 1 : 0;
  write_all(to_parent, &ready, 1);
  if (!ok) {
    std::fprintf(stderr, "clients: %" PRIu64 " connected, %" PRIu64 " failed\n",
                 fleet.results().connected, fleet.results().failed);
    return 1;
  }
  fleet.results().latency_us.reserve(clients * 1024);
  fleet.results().socket_latency_us.reserve(clients * 1024);
  cpu_start = cpu_seconds_self();
  fcntl(from_parent, F_SETFL, fcntl(from_parent, F_GETFL) | O_NONBLOCK);
  std::uint64_t published = 0;
  bool done = false;
  std::chrono::steady_clock::time_point give_up{};
  for (;;) {
    fleet.poll_once(5);
    if (!done) {
      std::uint64_t total = 0;
      if (read(from_parent, &total, sizeof total) == static_cast<ssize_t>(sizeof total)) {
        done = true;
        published = total;
        give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      }
    } else if (fleet.results().delivered >= published * clients ||
               std::chrono::steady_clock::now() > give_up) {
      break;
    }
  }
  auto& r = fleet.results();
  std::sort(r.latency_us.begin(), r.latency_us.end());
  std::sort(r.socket_latency_us.begin(), r.socket_latency_us.end());
  auto pct = [](const std::vector<std::uint32_t>& v, double p) -> double {
    if (v.empty())
      return 0;
    return v[static_cast<std::size_t>(p * static_cast<double>(v.size() - 1))] / 1000.0;
  };
  const double results[9] = {static_cast<double>(r.delivered),
                             pct(r.latency_us, 0.50),
                             pct(r.latency_us, 0.99),
                             pct(r.latency_us, 1.0),
                             static_cast<double>(published * clients),
                             cpu_seconds_self() - cpu_start,
                             pct(r.socket_latency_us, 0.50),
                             pct(r.socket_latency_us, 0.99),
                             pct(r.socket_latency_us, 1.0)};
  write_all(to_parent, results, sizeof results);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4 && argc != 5) {
    std::fprintf(stderr, "usage: %s CLIENTS EVENTS_PER_SEC SECONDS [SERVICE_THREADS]\n", argv[0]);
    return 2;
  }
  const long clients = std::atol(argv[1]);
  const double rate = std::atof(argv[2]);
  const double seconds = std::atof(argv[3]);
  const long threads = argc == 5 ? std::atol(argv[4]) : 2;
  if (clients <= 0 || clients > 60000 || rate <= 0 || seconds <= 0) {
    std::fprintf(stderr, "CLIENTS must be 1-60000, EVENTS_PER_SEC and SECONDS positive\n");
    return 2;
  }
  raise_fd_limit();

  int to_child[2];
  int to_parent[2];
  if (pipe(to_child) != 0 || pipe(to_parent) != 0) {
    std::perror("pipe");
    return 1;
  }
  const pid_t child = fork();
  if (child < 0) {
    std::perror("fork");
    return 1;
  }
  if (child == 0) {
    close(to_child[1]);
    close(to_parent[0]);
    int port = 0;
    if (!read_all(to_child[0], &port, sizeof port))
      _exit(1);
    _exit(run_clients(port, static_cast<std::size_t>(clients), to_parent[1], to_child[0]));
  }
  close(to_child[0]);
  close(to_parent[1]);

  wk::telemetry::init_logging("warn", "text");
  auto hub = std::make_shared<wk::events::event_hub>();
  wk::gateway::gateway_options options;
  options.bind_address = "127.0.0.1";
  options.port = 0;
  options.max_connections = static_cast<std::size_t>(clients) + 64;
  options.service_threads = static_cast<std::size_t>(std::max(1L, threads));
  options.websocket.hub = hub;
  wk::gateway::gateway gw(options, [](wk::http::http_request, wk::http::responder respond) {
    respond(wk::http::problem(404, "Not Found", "benchmark server"));
  });
  std::string error;
  if (!gw.start(&error)) {
    std::fprintf(stderr, "gateway: %s\n", error.c_str());
    kill(child, SIGTERM);
    return 1;
  }
  const int port = gw.port();
  write_all(to_child[1], &port, sizeof port);

  const auto connect_start = std::chrono::steady_clock::now();
  std::uint8_t ready = 0;
  if (!read_all(to_parent[0], &ready, 1) || !ready) {
    std::fprintf(stderr, "the clients could not all connect\n");
    waitpid(child, nullptr, 0);
    return 1;
  }
  const double connect_s =
    std::chrono::duration<double>(std::chrono::steady_clock::now() - connect_start).count();

  std::fprintf(stderr, "all %ld clients subscribed; publishing (server pid %d)\n", clients,
               static_cast<int>(getpid()));
  const double cpu_before = cpu_seconds_self();
  const auto start = std::chrono::steady_clock::now();
  const auto total = static_cast<std::uint64_t>(rate * seconds);
  std::string padding(64, 'p');
  for (std::uint64_t i = 0; i < total; ++i) {
    std::this_thread::sleep_until(start + std::chrono::nanoseconds(static_cast<std::int64_t>(
                                            static_cast<double>(i) * 1e9 / rate)));
    hub->publish("metrics:bench", "sample",
                 "{\"sent_ns\":" + std::to_string(now_ns()) + ",\"i\":" + std::to_string(i) +
                   ",\"pad\":\"" + padding + "\"}",
                 0);
  }
  const double publish_s =
    std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  write_all(to_child[1], &total, sizeof total);
  double results[9] = {};
  const bool got = read_all(to_parent[0], results, sizeof results);
  const double cpu = cpu_seconds_self() - cpu_before;
  const double elapsed =
    std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const auto stats = gw.get_stats();
  gw.stop();
  int status = 0;
  waitpid(child, &status, 0);
  if (!got) {
    std::fprintf(stderr, "no results from the client process\n");
    return 1;
  }
  const double delivered = results[0];
  std::printf("clients %ld, %.0f events/s for %.1f s, %ld service threads: %" PRIu64
              " events published\n",
              clients, rate, seconds, threads, total);
  std::printf("connect+subscribe: %.2f s for all clients\n", connect_s);
  std::printf("delivered %.0f of %.0f messages (%.3f%%), %.0f msgs/s over %.2f s\n", delivered,
              results[4], results[4] > 0 ? 100.0 * delivered / results[4] : 0.0,
              delivered / elapsed, elapsed);
  std::printf("latency ms, publish -> client socket: p50 %.2f  p99 %.2f  max %.2f\n", results[6],
              results[7], results[8]);
  std::printf("latency ms, publish -> client read:   p50 %.2f  p99 %.2f  max %.2f\n", results[1],
              results[2], results[3]);
  std::printf("server CPU: %.2f s over the run (%.2f cores), %.2f CPU-s per million messages\n",
              cpu, cpu / elapsed, delivered > 0 ? cpu / (delivered / 1e6) : 0.0);
  std::printf("client process CPU: %.2f s (%.2f cores)\n", results[5], results[5] / elapsed);
  std::printf("gateway: %" PRIu64 " frames sent in %" PRIu64 " sends, %" PRIu64
              " slow closes; publishing took %.2f s\n",
              stats.ws_messages_sent, stats.ws_event_writes, stats.ws_slow_closes, publish_s);
  return delivered >= results[4] ? 0 : 1;
}
