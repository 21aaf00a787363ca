#include <doctest/doctest.h>

#include <thread>

#include "telemetry/metrics_registry.hpp"
#include "telemetry/watchkeeper_metrics.hpp"

using namespace wk::telemetry;

TEST_CASE("render emits HELP and TYPE for every family, escapes labels and help") {
  metrics_registry r;
  r.add_counter("a_total", "Counts \\ things\nwell.", {"who"}).with({"x\"y\\z\n"}).inc(3);
  r.add_gauge("b", "A gauge.").get().set(-1.5);
  auto text = r.render();
  CHECK(text.find("# HELP a_total Counts \\\\ things\\nwell.\n") != std::string::npos);
  CHECK(text.find("# TYPE a_total counter\n") != std::string::npos);
  CHECK(text.find("a_total{who=\"x\\\"y\\\\z\\n\"} 3\n") != std::string::npos);
  CHECK(text.find("# TYPE b gauge\nb -1.5\n") != std::string::npos);
  CHECK(text.find("# HELP a_total") < text.find("# HELP b"));
}

TEST_CASE("histogram buckets are cumulative with +Inf, sum and count") {
  metrics_registry r;
  auto& h = r.add_histogram("lat_seconds", "Latency.", {0.1, 1}).get();
  h.observe(0.0625);
  h.observe(0.5);
  h.observe(4);
  auto text = r.render();
  CHECK(text.find("lat_seconds_bucket{le=\"0.1\"} 1\n") != std::string::npos);
  CHECK(text.find("lat_seconds_bucket{le=\"1\"} 2\n") != std::string::npos);
  CHECK(text.find("lat_seconds_bucket{le=\"+Inf\"} 3\n") != std::string::npos);
  CHECK(text.find("lat_seconds_sum 4.5625\n") != std::string::npos);
  CHECK(text.find("lat_seconds_count 3\n") != std::string::npos);
}

TEST_CASE("counters never decrease and are exact under concurrent increments") {
  metrics_registry r;
  auto& c = r.add_counter("c_total", "C.").get();
  c.inc(-5);
  CHECK(c.value() == 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 100000; ++i)
        c.inc();
    });
  for (auto& t : threads)
    t.join();
  CHECK(c.value() == 400000);
}

TEST_CASE("registering a name twice is a programming error") {
  metrics_registry r;
  r.add_gauge("x", "X.");
  CHECK_THROWS_AS(r.add_counter("x", "again"), std::logic_error);
}

TEST_CASE("forget_service drops every per-service child and keeps the others") {
  metrics_registry r;
  watchkeeper_metrics m(r);
  m.scrapes.with({"api", "success"}).inc();
  m.scrapes.with({"db", "success"}).inc();
  m.service_up.with({"api"}).set(1);
  m.service_health.with({"api", "http"}).set(1);
  forget_service(m, "api");
  auto text = r.render();
  CHECK(text.find("service=\"api\"") == std::string::npos);
  CHECK(text.find("watchkeeper_scrapes_total{service=\"db\",outcome=\"success\"} 1") !=
        std::string::npos);
}

TEST_CASE("callback gauges are read at render time") {
  metrics_registry r;
  double v = 1;
  r.add_callback_gauge("g", "G.", [&] { return v; });
  CHECK(r.render().find("g 1\n") != std::string::npos);
  v = 42;
  CHECK(r.render().find("g 42\n") != std::string::npos);
}
