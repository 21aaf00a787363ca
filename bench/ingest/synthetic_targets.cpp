// Serves N synthetic scrape targets from one port for the ingest benchmark:
//   GET /t/<i>/metrics -> M gauge/counter series whose values move on every scrape.
// Usage: bench_ingest_targets PORT SERIES_PER_TARGET   (runs until killed)
// The figures come from bench/ingest/run.sh, which drives Watchkeeper against this server.

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <thread>

#include "protocol/gateway/gateway.hpp"

namespace {

std::atomic<bool> stop{false};

std::string body_for(const std::string& target, int series, std::uint64_t round) {
  std::string out;
  out.reserve(static_cast<std::size_t>(series) * 64);
  out += "# HELP bench_requests_total Requests served.\n# TYPE bench_requests_total counter\n";
  char line[160];
  for (int i = 0; i < series; ++i) {
    // Half counters (monotonic), half gauges (wandering), like a real service's mix.
    double v = i % 2 == 0 ? static_cast<double>(round * (i + 1))
                          : 100.0 + static_cast<double>((round * 7 + static_cast<std::uint64_t>(i)) % 50) / 3.0;
    int n = std::snprintf(line, sizeof line,
                          "bench_requests_total{target=\"%s\",code=\"%d\",path=\"/api/v%d\"} %.17g\n",
                          target.c_str(), 200 + i % 5, i, v);
    out.append(line, static_cast<std::size_t>(n));
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s PORT SERIES_PER_TARGET\n", argv[0]);
    return 2;
  }
  int series = std::atoi(argv[2]);
  wk::gateway::gateway_options opts;
  opts.bind_address = "127.0.0.1";
  opts.port = std::atoi(argv[1]);
  wk::gateway::gateway gw(opts, [&](wk::http::http_request req, wk::http::responder respond) {
    wk::http::http_response r;
    r.content_type = "text/plain; version=0.0.4";
    auto first = req.path.find('/', 3);
    std::string target = req.path.size() > 3 ? req.path.substr(3, first - 3) : "0";
    r.body = body_for(target, series, static_cast<std::uint64_t>(std::time(nullptr)));
    respond(std::move(r));
  });
  std::string error;
  if (!gw.start(&error)) {
    std::fprintf(stderr, "cannot start: %s\n", error.c_str());
    return 1;
  }
  std::signal(SIGTERM, [](int) { stop = true; });
  std::signal(SIGINT, [](int) { stop = true; });
  while (!stop)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  gw.stop();
  return 0;
}
