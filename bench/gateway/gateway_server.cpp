// A minimal gateway for load generators: GET /x answers a small JSON document.
//
//   bench_gateway_server [--port N] [--async]
//   wrk -t2 -c64 -d10s http://127.0.0.1:N/x
//
// --async answers from a separate worker thread, the way actors do, so the cross-thread
// responder path (mailbox + lws_cancel_service) is measured instead of the inline one.
// Prints the port, then the gateway counters on SIGINT/SIGTERM.

#include <pthread.h>

#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "protocol/gateway/gateway.hpp"
#include "protocol/http/router.hpp"
#include "telemetry/logging.hpp"

namespace {

// A single consumer thread standing in for an actor that answers requests.
class worker {
 public:
  worker() : thread_([this] { loop(); }) {}
  ~worker() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      done_ = true;
    }
    cv_.notify_one();
    thread_.join();
  }
  void post(std::function<void()> job) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      jobs_.push_back(std::move(job));
    }
    cv_.notify_one();
  }

 private:
  void loop() {
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      cv_.wait(lock, [&] { return done_ || !jobs_.empty(); });
      if (jobs_.empty())
        return;
      auto job = std::move(jobs_.front());
      jobs_.pop_front();
      lock.unlock();
      job();
      lock.lock();
    }
  }
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  bool done_ = false;
  std::thread thread_;
};

}  // namespace

int main(int argc, char** argv) {
  int port = 0;
  bool async = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
      port = std::atoi(argv[++i]);
    } else if (std::strcmp(argv[i], "--async") == 0) {
      async = true;
    } else {
      std::fprintf(stderr, "usage: %s [--port N] [--async]\n", argv[0]);
      return 2;
    }
  }
  wk::telemetry::init_logging("warn", "text");

  // Signals go to sigwait below, not to whichever thread happens to run.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto answers = std::make_unique<worker>();
  wk::http::router router;
  router.add(
    "GET", "/x",
    [&](const wk::http::http_request&, const wk::http::route_params&, wk::http::responder respond) {
      auto reply = [respond] {
        respond(wk::http::json_response(200, "{\"status\":\"ok\",\"service\":\"bench\"}"));
      };
      if (async)
        answers->post(reply);
      else
        reply();
    });

  wk::gateway::gateway_options options;
  options.bind_address = "127.0.0.1";
  options.port = port;
  wk::gateway::gateway gw(options,
                          [&router](wk::http::http_request req, wk::http::responder respond) {
                            router.dispatch(req, std::move(respond));
                          });
  std::string error;
  if (!gw.start(&error)) {
    std::fprintf(stderr, "cannot start: %s\n", error.c_str());
    return 1;
  }
  std::printf("listening on port %d (%s answers)\n", gw.port(), async ? "async" : "inline");
  std::fflush(stdout);

  int sig = 0;
  sigwait(&signals, &sig);
  gw.stop();
  const auto s = gw.get_stats();
  std::printf("requests %llu responses %llu timed_out %llu refused %llu\n",
              static_cast<unsigned long long>(s.requests),
              static_cast<unsigned long long>(s.responses),
              static_cast<unsigned long long>(s.timed_out),
              static_cast<unsigned long long>(s.refused_connections));
  return 0;
}
