#include "net/http_fetcher.hpp"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "tests/net/target_process.hpp"

namespace {

using namespace std::chrono_literals;
using wk::net::fetch_request;
using wk::net::fetch_result;
using wk::net::fetcher_options;
using wk::net::http_fetcher;
using wk::net::tcp_result;
using wk::net::test::fetch_sync;
using wk::net::test::target_process;
using failure = fetch_result::failure;

constexpr std::string_view alphabet =
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/";

std::optional<std::string> header(const fetch_result& result, std::string_view name) {
  for (const auto& [key, value] : result.headers) {
    if (key.size() == name.size() &&
        std::equal(key.begin(), key.end(), name.begin(),
                   [](char a, char b) { return (a | 0x20) == (b | 0x20); })) {
      return value;
    }
  }
  return std::nullopt;
}

// The /bytes endpoint's body: a 64-character alphabet, repeated.
bool is_pattern(const std::string& body) {
  for (std::size_t i = 0; i < body.size(); ++i) {
    if (body[i] != alphabet[i % alphabet.size()]) return false;
  }
  return true;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

fetch_request request_for(const std::string& url) {
  fetch_request request;
  request.url = url;
  return request;
}

// Counts callbacks from many transfers and lets the test wait for all of them.
class completion_counter {
 public:
  void add(bool ok) {
    const std::lock_guard<std::mutex> lock(mutex_);
    ++(ok ? ok_ : failed_);
    changed_.notify_all();
  }
  bool wait_for(std::size_t total, std::chrono::seconds limit) {
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_for(lock, limit, [&] { return ok_ + failed_ >= total; });
  }
  std::size_t ok() const {
    const std::lock_guard<std::mutex> lock(mutex_);
    return ok_;
  }
  std::size_t failed() const {
    const std::lock_guard<std::mutex> lock(mutex_);
    return failed_;
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::size_t ok_ = 0;
  std::size_t failed_ = 0;
};

std::size_t count_occurrences(const std::string& text, std::string_view needle) {
  std::size_t count = 0;
  for (std::size_t pos = text.find(needle); pos != std::string::npos;
       pos = text.find(needle, pos + needle.size())) {
    ++count;
  }
  return count;
}

// Sockets this process holds open, from /proc/self/fd.
std::size_t open_sockets() {
  std::size_t count = 0;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    std::error_code error;
    const std::filesystem::path target = std::filesystem::read_symlink(entry.path(), error);
    if (!error && target.string().rfind("socket:", 0) == 0) ++count;
  }
  return count;
}

// Points this process's stdout at a file for the guard's lifetime.
class stdout_capture {
 public:
  explicit stdout_capture(const std::string& path)
      : saved_(dup(STDOUT_FILENO)), file_(open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600)) {
    REQUIRE(saved_ >= 0);
    REQUIRE(file_ >= 0);
    std::fflush(stdout);
    REQUIRE(dup2(file_, STDOUT_FILENO) >= 0);
  }
  ~stdout_capture() {
    std::fflush(stdout);
    dup2(saved_, STDOUT_FILENO);
    close(saved_);
    close(file_);
  }
  stdout_capture(const stdout_capture&) = delete;
  stdout_capture& operator=(const stdout_capture&) = delete;

 private:
  int saved_;
  int file_;
};

}  // namespace

TEST_CASE("fetch returns status, body, content type, headers and timings") {
  target_process target;
  http_fetcher fetcher;
  const fetch_result result = fetch_sync(fetcher, target.url("/health"));
  CHECK(result.transport_ok);
  CHECK(result.failure_kind == failure::none);
  CHECK(result.error.empty());
  CHECK(result.status == 200);
  CHECK(result.body == "ok");
  CHECK(result.content_type == "text/plain; charset=utf-8");
  CHECK(header(result, "Content-Length") == "2");
  CHECK(header(result, "server").value_or("").find("wk-target") == 0);
  CHECK(result.total_seconds > 0);
  CHECK(result.connect_seconds > 0);
  CHECK(result.first_byte_seconds >= result.connect_seconds);
  CHECK(result.total_seconds >= result.first_byte_seconds);
  CHECK_FALSE(result.tls_not_after_unix.has_value());
}

TEST_CASE("error statuses are transport successes with their status and body") {
  target_process target;
  http_fetcher fetcher;
  for (const int status : {201, 404, 500, 503}) {
    const fetch_result result =
        fetch_sync(fetcher, target.url("/status/" + std::to_string(status)));
    CHECK(result.transport_ok);
    CHECK(result.status == status);
    CHECK(result.body == "status " + std::to_string(status) + "\n");
  }
  const fetch_result empty = fetch_sync(fetcher, target.url("/status/204"));
  CHECK(empty.transport_ok);
  CHECK(empty.status == 204);
  CHECK(empty.body.empty());
}

TEST_CASE("the failure switch of the target shows in /health and /metrics") {
  target_process target;
  http_fetcher fetcher;
  fetch_request fail = request_for(target.url("/control/fail"));
  fail.method = "POST";
  CHECK(fetch_sync(fetcher, fail).status == 200);
  CHECK(fetch_sync(fetcher, target.url("/health")).status == 503);
  CHECK(fetch_sync(fetcher, target.url("/health")).body == "down");
  CHECK(fetch_sync(fetcher, target.url("/metrics")).status == 500);
  fetch_request recover = request_for(target.url("/control/recover"));
  recover.method = "POST";
  CHECK(fetch_sync(fetcher, recover).status == 200);
  CHECK(fetch_sync(fetcher, target.url("/health")).status == 200);
  CHECK(fetch_sync(fetcher, target.url("/metrics")).status == 200);
}

TEST_CASE("redirects are reported, not followed, unless asked") {
  target_process target;
  http_fetcher fetcher;
  const fetch_result plain = fetch_sync(fetcher, target.url("/status/302"));
  CHECK(plain.transport_ok);
  CHECK(plain.status == 302);
  CHECK(header(plain, "Location") == "/health");

  fetch_request follow = request_for(target.url("/status/302"));
  follow.follow_redirects = true;
  const fetch_result followed = fetch_sync(fetcher, follow);
  CHECK(followed.transport_ok);
  CHECK(followed.status == 200);
  CHECK(followed.body == "ok");
  CHECK_FALSE(header(followed, "Location").has_value());
}

TEST_CASE("gzip bodies are decoded transparently") {
  target_process target;
  http_fetcher fetcher;
  const fetch_result result = fetch_sync(fetcher, target.url("/bytes?n=1000000"));
  REQUIRE(result.transport_ok);
  CHECK(header(result, "Content-Encoding") == "gzip");
  CHECK(result.body.size() == 1000000);
  CHECK(is_pattern(result.body));

  fetch_request identity = request_for(target.url("/bytes?n=1000000"));
  identity.accept_compressed = false;
  const fetch_result raw = fetch_sync(fetcher, identity);
  REQUIRE(raw.transport_ok);
  CHECK_FALSE(header(raw, "Content-Encoding").has_value());
  CHECK(header(raw, "Content-Length") == "1000000");
  CHECK(raw.body == result.body);
}

TEST_CASE("the body limit applies to the decoded size") {
  target_process target;
  http_fetcher fetcher;
  // About 3 KB travel on the wire, well under the limit; the decoded megabyte is over it.
  fetch_request request = request_for(target.url("/bytes?n=1000000"));
  request.max_body_bytes = 500000;
  const fetch_result result = fetch_sync(fetcher, request);
  CHECK_FALSE(result.transport_ok);
  CHECK(result.failure_kind == failure::too_large);
  CHECK(result.error == "body exceeds limit of 500000 bytes");
  CHECK(result.body.empty());
  CHECK(result.status == 200);

  request = request_for(target.url("/bytes?n=1000"));
  request.max_body_bytes = 1000;
  const fetch_result exact = fetch_sync(fetcher, request);
  CHECK(exact.transport_ok);
  CHECK(exact.body.size() == 1000);

  request = request_for(target.url("/bytes?n=1001"));
  request.max_body_bytes = 1000;
  CHECK(fetch_sync(fetcher, request).failure_kind == failure::too_large);

  request = request_for(target.url("/bytes?n=1"));
  request.max_body_bytes = 0;
  CHECK(fetch_sync(fetcher, request).error == "body exceeds limit of 0 bytes");
}

TEST_CASE("metrics are served compressed and change on every scrape") {
  target_process target;
  http_fetcher fetcher;
  const fetch_result first = fetch_sync(fetcher, target.url("/metrics?series=100"));
  const fetch_result second = fetch_sync(fetcher, target.url("/metrics?series=100"));
  REQUIRE(first.transport_ok);
  REQUIRE(second.transport_ok);
  CHECK(first.status == 200);
  CHECK(header(first, "Content-Encoding") == "gzip");
  CHECK(first.content_type.find("text/plain; version=0.0.4") == 0);
  CHECK(count_occurrences(first.body, "target_series_value{series=") == 100);
  CHECK(count_occurrences(first.body, "# TYPE ") == 3);
  CHECK(first.body != second.body);
}

TEST_CASE("an endless body is cut at the limit, quickly") {
  target_process target;
  http_fetcher fetcher;
  fetch_request request = request_for(target.url("/huge"));
  request.max_body_bytes = 1 << 20;
  const auto start = std::chrono::steady_clock::now();
  const fetch_result result = fetch_sync(fetcher, request);
  CHECK(seconds_since(start) < 5.0);  // the body never ends: any bound shows the cut
  CHECK_FALSE(result.transport_ok);
  CHECK(result.failure_kind == failure::too_large);
  CHECK(result.error == "body exceeds limit of 1048576 bytes");
  CHECK(result.body.empty());
}

TEST_CASE("a trickling target is cut at the timeout") {
  target_process target;
  http_fetcher fetcher;
  fetch_request request = request_for(target.url("/trickle"));
  request.timeout = 1500ms;
  const auto start = std::chrono::steady_clock::now();
  const fetch_result result = fetch_sync(fetcher, request);
  const double elapsed = seconds_since(start);
  CHECK(elapsed >= 1.45);
  CHECK(elapsed < 4.0);
  CHECK_FALSE(result.transport_ok);
  CHECK(result.failure_kind == failure::timeout);
  CHECK(result.error == "timeout after 1500 ms");
  CHECK(result.status == 200);  // the headers had arrived
  CHECK(result.body.empty());
}

TEST_CASE("a slow answer is cut at the timeout") {
  target_process target;
  http_fetcher fetcher;
  fetch_request request = request_for(target.url("/slow?ms=5000"));
  request.timeout = 300ms;
  const auto start = std::chrono::steady_clock::now();
  const fetch_result result = fetch_sync(fetcher, request);
  CHECK(seconds_since(start) < 2.0);
  CHECK(result.failure_kind == failure::timeout);
  CHECK(result.error == "timeout after 300 ms");
  CHECK(result.status == 0);

  request.timeout = 5000ms;
  request.url = target.url("/slow?ms=200");
  const fetch_result patient = fetch_sync(fetcher, request);
  CHECK(patient.transport_ok);
  CHECK(patient.body == "slow\n");
  CHECK(patient.first_byte_seconds >= 0.2);
}

TEST_CASE("a target that never accepts hits the connect timeout") {
  const wk::net::test::blackhole_listener blackhole;
  http_fetcher fetcher;
  fetch_request request =
      request_for("http://127.0.0.1:" + std::to_string(blackhole.port()) + "/metrics");
  request.connect_timeout = 300ms;
  request.timeout = 5000ms;
  auto start = std::chrono::steady_clock::now();
  const fetch_result connect_cut = fetch_sync(fetcher, request);
  CHECK(seconds_since(start) < 2.0);
  CHECK(connect_cut.failure_kind == failure::timeout);
  CHECK(connect_cut.error == "connect timeout after 300 ms");

  // The connect timeout never outlasts the whole transfer's.
  request.connect_timeout = 5000ms;
  request.timeout = 400ms;
  start = std::chrono::steady_clock::now();
  const fetch_result overall_cut = fetch_sync(fetcher, request);
  CHECK(seconds_since(start) < 2.0);
  CHECK(overall_cut.failure_kind == failure::timeout);
  CHECK(overall_cut.error == "timeout after 400 ms");

  start = std::chrono::steady_clock::now();
  const tcp_result tcp = wk::net::test::connect_sync(fetcher, "127.0.0.1", blackhole.port(), 300ms);
  CHECK(seconds_since(start) < 2.0);
  CHECK_FALSE(tcp.ok);
  CHECK(tcp.failure_kind == failure::timeout);
  CHECK(tcp.error == "timeout after 300 ms");
}

TEST_CASE("connection refused is a connect failure") {
  http_fetcher fetcher;
  const int port = wk::net::test::unused_port();
  const fetch_result result =
      fetch_sync(fetcher, "http://127.0.0.1:" + std::to_string(port) + "/metrics");
  CHECK_FALSE(result.transport_ok);
  CHECK(result.failure_kind == failure::connect);
  CHECK(result.error == "connection refused");
  CHECK(result.status == 0);
}

TEST_CASE("an unresolvable host is a DNS failure") {
  http_fetcher fetcher;
  const fetch_result result = fetch_sync(fetcher, "http://watchkeeper-no-such-host.invalid/health");
  CHECK_FALSE(result.transport_ok);
  CHECK(result.failure_kind == failure::dns);
  CHECK(result.error == "could not resolve host 'watchkeeper-no-such-host.invalid'");
}

TEST_CASE("invalid requests fail with a clear error and never reach the network") {
  http_fetcher fetcher;
  const auto error_of = [&](fetch_request request) {
    const fetch_result result = fetch_sync(fetcher, std::move(request));
    CHECK_FALSE(result.transport_ok);
    CHECK(result.failure_kind == failure::other);
    return result.error;
  };
  CHECK(error_of(request_for("")) == "empty URL");
  CHECK(error_of(request_for("ftp://127.0.0.1/file")) ==
        "unsupported URL scheme 'ftp' (only http and https)");
  CHECK(error_of(request_for("file:///etc/passwd")) ==
        "unsupported URL scheme 'file' (only http and https)");
  CHECK(error_of(request_for("no scheme at all")).find("invalid URL 'no scheme at all'") == 0);
  CHECK(error_of(request_for("http://")).find("invalid URL") == 0);
  CHECK(error_of(request_for(std::string("http://a\0b/", 11))) == "URL contains a NUL byte");

  fetch_request bad_header = request_for("http://127.0.0.1:1/");
  bad_header.headers = {{"X-Ok", "1"}, {"X-Evil", "a\r\nInjected: yes"}};
  CHECK(error_of(bad_header) == "header 'X-Evil' contains a line break");
  bad_header.headers = {{"Bad Name", "1"}};
  CHECK(error_of(bad_header) == "invalid header name 'Bad Name'");

  fetch_request bad_method = request_for("http://127.0.0.1:1/");
  bad_method.method = "GET /other HTTP/1.1\r\n";
  CHECK(error_of(bad_method).find("invalid HTTP method") == 0);
  bad_method.method = "";
  CHECK(error_of(bad_method).find("invalid HTTP method") == 0);

  // Echoed input is cut short and never carries line breaks into logs.
  const std::string long_url = "gopher://" + std::string(1 << 20, 'a');
  const std::string long_error =
      error_of(request_for("http://exa mple/" + std::string(1 << 20, 'a')));
  CHECK(long_error.size() < 300);
  CHECK(long_error.find("...'") != std::string::npos);
  CHECK(error_of(request_for(long_url)).size() < 300);
  bad_method.method = "GET\r\nX: y";
  CHECK(error_of(bad_method) == "invalid HTTP method 'GET??X: y'");

  fetch_request head_with_body = request_for("http://127.0.0.1:1/");
  head_with_body.method = "HEAD";
  head_with_body.body = "x";
  CHECK(error_of(head_with_body) == "a HEAD request cannot carry a body");

  fetch_request no_time = request_for("http://127.0.0.1:1/");
  no_time.timeout = 0ms;
  CHECK(error_of(no_time) == "timeout must be positive");
  no_time.timeout = -5ms;
  CHECK(error_of(no_time) == "timeout must be positive");

  const wk::net::fetcher_stats stats = fetcher.stats();
  CHECK(stats.failed == stats.started);
  CHECK(stats.in_flight == 0);
}

TEST_CASE("method, headers and body reach the target") {
  target_process target;
  http_fetcher fetcher;
  fetch_request request = request_for(target.url("/echo?x=1"));
  request.method = "POST";
  request.body = std::string(2 << 20, 'b');  // past curl's 1 MiB Expect: 100-continue threshold
  request.headers = {{"Content-Type", "text/plain"}, {"X-Probe", "watchkeeper"}, {"X-Empty", ""}};
  const fetch_result result = fetch_sync(fetcher, request);
  REQUIRE(result.transport_ok);
  CHECK(result.status == 200);
  CHECK(result.body.find("\"method\": \"POST\"") != std::string::npos);
  CHECK(result.body.find("\"query\": \"x=1\"") != std::string::npos);
  CHECK(result.body.find("[\"X-Probe\", \"watchkeeper\"]") != std::string::npos);
  CHECK(result.body.find("[\"X-Empty\", \"\"]") != std::string::npos);
  CHECK(result.body.find("[\"User-Agent\", \"Watchkeeper/0.1\"]") != std::string::npos);
  CHECK(result.body.find("[\"Content-Length\", \"2097152\"]") != std::string::npos);
  CHECK(result.body.find("Expect") == std::string::npos);
  CHECK(count_occurrences(result.body, "b") >= 2u << 20);

  fetch_request put = request_for(target.url("/echo"));
  put.method = "PUT";
  put.body = "payload";
  const fetch_result put_result = fetch_sync(fetcher, put);
  CHECK(put_result.body.find("\"method\": \"PUT\"") != std::string::npos);
  CHECK(put_result.body.find("\"body\": \"payload\"") != std::string::npos);

  fetch_request del = request_for(target.url("/echo"));
  del.method = "DELETE";
  CHECK(fetch_sync(fetcher, del).body.find("\"method\": \"DELETE\"") != std::string::npos);

  fetch_request head = request_for(target.url("/health"));
  head.method = "HEAD";
  const fetch_result head_result = fetch_sync(fetcher, head);
  CHECK(head_result.transport_ok);
  CHECK(head_result.status == 200);
  CHECK(head_result.body.empty());
  CHECK(header(head_result, "Content-Length") == "2");
}

TEST_CASE("the user agent comes from the options and a request header overrides it") {
  target_process target;
  fetcher_options options;
  options.user_agent = "custom-agent/2";
  http_fetcher fetcher(options);
  CHECK(
      fetch_sync(fetcher, target.url("/echo")).body.find("[\"User-Agent\", \"custom-agent/2\"]") !=
      std::string::npos);
  fetch_request request = request_for(target.url("/echo"));
  request.headers = {{"User-Agent", "per-request/3"}};
  const std::string body = fetch_sync(fetcher, request).body;
  CHECK(body.find("per-request/3") != std::string::npos);
  CHECK(body.find("custom-agent/2") == std::string::npos);
}

TEST_CASE("sequential fetches reuse one connection") {
  target_process target;
  http_fetcher fetcher;
  for (int i = 0; i < 30; ++i) REQUIRE(fetch_sync(fetcher, target.url("/health")).status == 200);
  const fetch_result stats = fetch_sync(fetcher, target.url("/control/stats"));
  REQUIRE(stats.transport_ok);
  CHECK(stats.body.find("\"connections\": 1,") != std::string::npos);
}

TEST_CASE("response headers beyond the limit are too large") {
  target_process target;
  http_fetcher fetcher;
  const fetch_result fine = fetch_sync(fetcher, target.url("/headers?count=50&size=100"));
  CHECK(fine.transport_ok);
  CHECK(header(fine, "X-Filler-49") == std::string(100, 'f'));

  const fetch_result result = fetch_sync(fetcher, target.url("/headers?count=400&size=1000"));
  CHECK_FALSE(result.transport_ok);
  CHECK(result.failure_kind == failure::too_large);
  CHECK(result.error == "response headers exceed limit of 262144 bytes");
}

TEST_CASE("500 concurrent fetches all complete") {
  target_process target;
  for (const std::size_t per_host : {std::size_t{4}, std::size_t{0}}) {
    CAPTURE(per_host);
    fetcher_options options;
    options.max_host_connections = per_host;
    http_fetcher fetcher(options);
    completion_counter counter;
    std::atomic<int> bad_bodies{0};
    constexpr std::size_t total = 500;
    const auto start = std::chrono::steady_clock::now();
    // Submitted from two threads at once: fetch() is thread-safe.
    const auto submit = [&](std::size_t count) {
      for (std::size_t i = 0; i < count; ++i) {
        fetch_request request = request_for(target.url("/metrics?series=20"));
        request.timeout = 60s;
        fetcher.fetch(std::move(request), [&](fetch_result result) {
          if (result.body.find("target_series_value{series=\"19\"}") == std::string::npos) {
            ++bad_bodies;
          }
          counter.add(result.transport_ok && result.status == 200);
        });
      }
    };
    std::thread other(submit, total / 2);
    submit(total - total / 2);
    other.join();
    REQUIRE(counter.wait_for(total, 90s));
    MESSAGE(total << " fetches with max_host_connections=" << per_host << " in "
                  << seconds_since(start) << " s");
    CHECK(counter.ok() == total);
    CHECK(bad_bodies.load() == 0);
    const wk::net::fetcher_stats stats = fetcher.stats();
    CHECK(stats.started == total);
    CHECK(stats.completed == total);
    CHECK(stats.failed == 0);
    CHECK(stats.in_flight == 0);
  }
}

TEST_CASE("transfers beyond the per-host limit wait in order, on their own timeout") {
  target_process target;
  fetcher_options options;
  options.max_host_connections = 1;
  http_fetcher fetcher(options);

  std::promise<fetch_result> slow;
  auto slow_future = slow.get_future();
  fetch_request slow_request = request_for(target.url("/slow?ms=3000"));
  fetcher.fetch(slow_request, [&](fetch_result r) { slow.set_value(std::move(r)); });

  // Waits behind the slow one and runs out of time while waiting.
  fetch_request impatient = request_for(target.url("/health"));
  impatient.timeout = 500ms;
  const auto start = std::chrono::steady_clock::now();
  std::promise<fetch_result> expired;
  fetcher.fetch(impatient, [&](fetch_result r) { expired.set_value(std::move(r)); });
  std::this_thread::sleep_for(200ms);
  CHECK(fetcher.stats().waiting_for_host == 1);
  auto expired_future = expired.get_future();
  REQUIRE(expired_future.wait_for(10s) == std::future_status::ready);
  const double expired_after = seconds_since(start);
  const fetch_result timed_out = expired_future.get();
  CHECK(expired_after >= 0.45);
  CHECK(expired_after < 2.5);
  CHECK(timed_out.failure_kind == failure::timeout);
  CHECK(timed_out.error == "timeout after 500 ms waiting for a free connection to '127.0.0.1:" +
                               std::to_string(target.port()) + "'");

  // Another host:port is not held up by the busy one.
  const fetch_result other_host =
      fetch_sync(fetcher, "http://localhost:" + std::to_string(target.port()) + "/health");
  CHECK(other_host.transport_ok);
  CHECK(slow_future.wait_for(0s) == std::future_status::timeout);

  // The rest run one at a time, in submission order, once the slow one is done.
  std::mutex mutex;
  std::vector<int> order;
  completion_counter counter;
  for (int i = 0; i < 5; ++i) {
    fetcher.fetch(request_for(target.url("/status/20" + std::to_string(i))), [&](fetch_result r) {
      {
        const std::lock_guard<std::mutex> lock(mutex);
        order.push_back(r.status);
      }
      counter.add(r.transport_ok);
    });
  }
  REQUIRE(slow_future.wait_for(10s) == std::future_status::ready);
  CHECK(slow_future.get().body == "slow\n");
  REQUIRE(counter.wait_for(5, 10s));
  CHECK(order == std::vector<int>{200, 201, 202, 203, 204});
  CHECK(fetcher.stats().waiting_for_host == 0);
  CHECK(fetcher.stats().in_flight == 0);
}

TEST_CASE("callbacks may submit more work, and a throwing callback harms nothing") {
  target_process target;
  http_fetcher fetcher;
  std::promise<fetch_result> chained;
  fetcher.fetch(request_for(target.url("/health")), [&](fetch_result first) {
    CHECK(first.status == 200);
    fetcher.fetch(request_for(target.url("/status/418")),
                  [&](fetch_result second) { chained.set_value(std::move(second)); });
  });
  auto future = chained.get_future();
  REQUIRE(future.wait_for(30s) == std::future_status::ready);
  CHECK(future.get().status == 418);

  std::promise<void> thrown;
  fetcher.fetch(request_for(target.url("/health")), [&](fetch_result) {
    thrown.set_value();
    throw std::runtime_error("callback failure");
  });
  REQUIRE(thrown.get_future().wait_for(30s) == std::future_status::ready);
  CHECK(fetch_sync(fetcher, target.url("/health")).body == "ok");
  CHECK(fetcher.stats().callback_exceptions == 1);
}

TEST_CASE("destruction cancels in-flight and queued transfers, each callback once") {
  target_process target;
  std::mutex mutex;
  std::map<std::string, int> calls;
  std::vector<std::string> errors;
  const auto record = [&](const std::string& id, bool ok, const std::string& error) {
    const std::lock_guard<std::mutex> lock(mutex);
    ++calls[id];
    if (ok) errors.push_back(id + " unexpectedly succeeded");
    if (error != "cancelled") errors.push_back(id + ": " + error);
  };
  std::optional<http_fetcher> fetcher;
  fetcher.emplace();
  for (int i = 0; i < 10; ++i) {
    const std::string id = "slow" + std::to_string(i);
    fetch_request request = request_for(target.url("/slow?ms=20000"));
    request.timeout = 60s;
    fetcher->fetch(std::move(request),
                   [&, id](fetch_result r) { record(id, r.transport_ok, r.error); });
  }
  fetch_request trickle = request_for(target.url("/trickle"));
  trickle.timeout = 60s;
  fetcher->fetch(std::move(trickle),
                 [&](fetch_result r) { record("trickle", r.transport_ok, r.error); });
  // Four run (the per-host limit) and seven wait inside curl; five more are submitted just
  // before destruction, so they are queued or barely started.
  std::this_thread::sleep_for(500ms);
  CHECK(fetcher->stats().in_flight == 11);
  for (int i = 0; i < 5; ++i) {
    const std::string id = "late" + std::to_string(i);
    fetcher->fetch(request_for(target.url("/slow?ms=20000")),
                   [&, id](fetch_result r) { record(id, r.transport_ok, r.error); });
  }
  const auto start = std::chrono::steady_clock::now();
  fetcher.reset();
  CHECK(seconds_since(start) < 2.0);
  CHECK(calls.size() == 16);
  for (const auto& [id, count] : calls) {
    CAPTURE(id);
    CHECK(count == 1);
  }
  CHECK(errors.empty());
}

TEST_CASE("TCP connect checks succeed, are refused, and reject bad input") {
  target_process target;
  http_fetcher fetcher;
  const tcp_result ok = wk::net::test::connect_sync(fetcher, "127.0.0.1", target.port(), 2000ms);
  CHECK(ok.ok);
  CHECK(ok.error.empty());
  CHECK(ok.connect_seconds > 0);
  CHECK(ok.connect_seconds < 1.0);

  const tcp_result named = wk::net::test::connect_sync(fetcher, "localhost", target.port(), 2000ms);
  CHECK(named.ok);

  const int closed_port = wk::net::test::unused_port();
  const tcp_result refused = wk::net::test::connect_sync(fetcher, "127.0.0.1", closed_port, 2000ms);
  CHECK_FALSE(refused.ok);
  CHECK(refused.failure_kind == failure::connect);
  CHECK(refused.error == "connection refused");
  // An IPv6 literal gets its brackets: the connect is attempted (and fails) rather than the
  // host being rejected.
  const tcp_result ipv6 = wk::net::test::connect_sync(fetcher, "::1", closed_port, 2000ms);
  CHECK_FALSE(ipv6.ok);
  CHECK(ipv6.failure_kind == failure::connect);

  const tcp_result dns =
      wk::net::test::connect_sync(fetcher, "watchkeeper-no-such-host.invalid", 80, 2000ms);
  CHECK_FALSE(dns.ok);
  CHECK(dns.failure_kind == failure::dns);

  const tcp_result zero_port = wk::net::test::connect_sync(fetcher, "127.0.0.1", 0, 2000ms);
  CHECK(zero_port.error == "port 0 is outside 1-65535");
  const tcp_result big_port = wk::net::test::connect_sync(fetcher, "127.0.0.1", 70000, 2000ms);
  CHECK(big_port.error == "port 70000 is outside 1-65535");
  const tcp_result smuggled =
      wk::net::test::connect_sync(fetcher, "evil.example/path?x", 80, 2000ms);
  CHECK(smuggled.error == "invalid host 'evil.example/path?x'");
  const tcp_result userinfo = wk::net::test::connect_sync(fetcher, "user@127.0.0.1", 80, 2000ms);
  CHECK(userinfo.error == "invalid host 'user@127.0.0.1'");
  const tcp_result empty = wk::net::test::connect_sync(fetcher, "", 80, 2000ms);
  CHECK(empty.error == "invalid host ''");
  const tcp_result no_time = wk::net::test::connect_sync(fetcher, "127.0.0.1", 80, 0ms);
  CHECK(no_time.error == "timeout must be positive");
}

TEST_CASE("nothing from curl reaches stdout") {
  target_process target;
  const wk::net::test::temp_dir dir;
  const std::string captured = dir.path() + "/stdout";
  std::vector<fetch_result> results;
  tcp_result tcp;
  {
    const stdout_capture capture(captured);
    http_fetcher fetcher;
    results.push_back(fetch_sync(fetcher, target.url("/bytes?n=5000")));
    fetch_request post = request_for(target.url("/echo"));
    post.method = "POST";
    post.body = "secret";
    results.push_back(fetch_sync(fetcher, post));
    results.push_back(fetch_sync(fetcher, target.url("/huge")));
    results.push_back(
        fetch_sync(fetcher, "http://127.0.0.1:" + std::to_string(wk::net::test::unused_port())));
    tcp = wk::net::test::connect_sync(fetcher, "127.0.0.1", target.port(), 2000ms);
  }
  CHECK(results[0].body.size() == 5000);
  CHECK(results[1].status == 200);
  CHECK(results[2].failure_kind == failure::too_large);
  CHECK(results[3].failure_kind == failure::connect);
  CHECK(tcp.ok);
  CHECK(std::filesystem::file_size(captured) == 0);
}

TEST_CASE("TCP connect checks do not leave connections open") {
  target_process target;
  http_fetcher fetcher;
  const std::size_t sockets_before = open_sockets();
  for (int i = 0; i < 20; ++i) {
    REQUIRE(wk::net::test::connect_sync(fetcher, "127.0.0.1", target.port(), 2000ms).ok);
  }
  CHECK(open_sockets() == sockets_before);
  // Every check opened its own connection (none reused a pooled one).
  const fetch_result stats = fetch_sync(fetcher, target.url("/control/stats"));
  REQUIRE(stats.transport_ok);
  CHECK(stats.body.find("\"connections\": 21,") != std::string::npos);
}
