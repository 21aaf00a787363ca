// PromQL figures over a realistic head: selector lookup, rate over ranges, aggregation, and a
// rule set of 1,000 services x 10 rules (each rule carrying the service matcher the alerting
// actor adds), reported as rules evaluated per second of CPU.
//
//   bench_promql [--services N]     (default 1,000 services x 10 series, 1 h at 10 s)
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "promql/engine.hpp"
#include "promql/parser.hpp"
#include "tsdb/head.hpp"

using namespace wk;
using clock_type = std::chrono::steady_clock;

namespace {

constexpr std::int64_t t0_ms = 1'700'000'000'000;  // real epoch times, as a scrape stamps them
constexpr std::int64_t interval_ms = 10'000;
constexpr int samples_per_series = 360;
constexpr std::int64_t now_ms = t0_ms + (samples_per_series - 1) * interval_ms;

double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

void load(tsdb::head& head, int services) {
  const char* const codes[] = {"200", "201", "404", "500", "503"};
  for (int s = 0; s < services; ++s) {
    for (int i = 0; i < 10; ++i) {
      const bool counter = i < 5;
      tsdb::label_set ls({{"__name__", counter ? "http_requests_total" : "http_request_duration_seconds_bucket"},
                          {"service", "svc-" + std::to_string(s)},
                          {"instance", "10.0.0." + std::to_string(s % 250)},
                          {counter ? "code" : "le", counter ? codes[i] : std::to_string(0.1 * (i - 4))}});
      const auto ref = head.get_or_create(ls);
      double v = 0;
      for (int k = 0; k < samples_per_series; ++k) {
        v += counter ? (i + 1) * 3 : (i - 4) * 2;
        head.append(ref, t0_ms + k * interval_ms, v);
      }
    }
  }
}

template <class F>
void measure(const char* name, int iterations, F&& f) {
  const auto t0 = clock_type::now();
  std::size_t out = 0;
  for (int i = 0; i < iterations; ++i) out += f(i);
  const double us = std::chrono::duration<double, std::micro>(clock_type::now() - t0).count() / iterations;
  std::printf("%-58s %10.1f us/query  (%zu result series)\n", name, us, out / static_cast<std::size_t>(iterations));
}

}  // namespace

int main(int argc, char** argv) {
  int services = 1000;
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], "--services") == 0) services = std::max(1, std::atoi(argv[i + 1]));

  tsdb::head head;
  const auto l0 = clock_type::now();
  load(head, services);
  std::printf("loaded %d series x %d samples in %.2f s\n", services * 10, samples_per_series,
              std::chrono::duration<double>(clock_type::now() - l0).count());

  const promql::engine eng(head);
  auto q = [&](const std::string& text) { return eng.instant_query(text, now_ms).vector.size(); };
  measure("selector: http_requests_total{service=\"svc-N\"}", 2000,
          [&](int i) { return q("http_requests_total{service=\"svc-" + std::to_string(i % services) + "\"}"); });
  measure("rate: rate(http_requests_total{service=\"svc-N\"}[5m])", 2000,
          [&](int i) { return q("rate(http_requests_total{service=\"svc-" + std::to_string(i % services) + "\"}[5m])"); });
  measure("rate over all: sum by (service) (rate(http_requests_total[5m]))", 20,
          [&](int) { return q("sum by (service) (rate(http_requests_total[5m]))"); });
  measure("aggregation: topk(5, sum by (service, code) (http_requests_total))", 20,
          [&](int) { return q("topk(5, sum by (service, code) (http_requests_total))"); });
  measure("histogram_quantile(0.9, sum by (le) (rate(bucket[5m])))", 20, [&](int) {
    return q("histogram_quantile(0.9, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))");
  });
  measure("range query 1h step 1m: sum(rate(http_requests_total{service}[5m]))", 200, [&](int i) {
    return eng
        .range_query("sum(rate(http_requests_total{service=\"svc-" + std::to_string(i % services) + "\"}[5m]))",
                     now_ms - 3'600'000, now_ms, 60'000)
        .matrix.size();
  });

  // The rule set: 10 rules per service, parsed once as the alerting actor would keep them.
  const char* const templates[] = {
      "sum(rate(http_requests_total{service=\"%s\",code=~\"5..\"}[5m])) / sum(rate(http_requests_total{service=\"%s\"}[5m])) > 0.05",
      "sum(rate(http_requests_total{service=\"%s\"}[5m])) < 1",
      "histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{service=\"%s\"}[5m]))) > 0.3",
      "absent(http_requests_total{service=\"%s\"})",
      "increase(http_requests_total{service=\"%s\",code=\"500\"}[10m]) > 100",
      "max_over_time(http_requests_total{service=\"%s\"}[5m]) - min_over_time(http_requests_total{service=\"%s\"}[5m]) > 1e9",
      "count(http_requests_total{service=\"%s\"}) < 5",
      "rate(http_requests_total{service=\"%s\",code=\"200\"}[1m]) == 0",
      "deriv(http_request_duration_seconds_bucket{service=\"%s\",le=\"0.5\"}[15m]) < 0",
      "avg_over_time(http_request_duration_seconds_bucket{service=\"%s\"}[5m]) > 1e12",
  };
  std::vector<promql::expr_ptr> rules;
  for (int s = 0; s < services; ++s) {
    const std::string svc = "svc-" + std::to_string(s);
    for (const char* t : templates) {
      char buf[512];
      std::snprintf(buf, sizeof buf, t, svc.c_str(), svc.c_str());
      rules.push_back(promql::parse(buf));
    }
  }
  const double c0 = cpu_seconds();
  const auto w0 = clock_type::now();
  std::size_t firing = 0;
  for (const auto& r : rules) firing += eng.instant_query(*r, now_ms).vector.size();
  const double wall = std::chrono::duration<double>(clock_type::now() - w0).count();
  const double cpu = cpu_seconds() - c0;
  std::printf("rule set: %zu rules in %.3f s wall, %.3f s CPU -> %.0f rules/s per core (%zu result series)\n",
              rules.size(), wall, cpu, static_cast<double>(rules.size()) / cpu, firing);
  std::printf("a 1 s interval for all %zu rules needs %.1f%% of one core\n", rules.size(), cpu * 100.0);
  return 0;
}
