// Series head figures: append throughput, memory per series and per sample, select latency
// and write-behind collection cost.
//
//   bench_tsdb [--series N] [--samples K]     (defaults: 1,000,000 series x 30 samples)
//
// Series look like 5,000 scrape targets x 200 series: {__name__, instance, job, service and
// one of cpu|mode|device|code}. Timestamps are exactly 10 s apart (the scraper stamps the
// scheduled time); values are half counters with integer increments, a quarter small-integer
// gauges and a quarter float gauges.
#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "tsdb/head.hpp"
#include "tsdb/xor_chunk.hpp"

using namespace wk::tsdb;
using clock_type = std::chrono::steady_clock;

namespace {

constexpr std::int64_t t0 = 1'700'000'000'000;
constexpr std::int64_t interval_ms = 10'000;
constexpr int series_per_target = 200;
constexpr int variants = 4;

const char* const metric_names[] = {
    "node_cpu_seconds_total", "node_disk_read_bytes_total", "node_network_receive_bytes_total",
    "http_requests_total", "http_request_duration_seconds_count", "process_cpu_seconds_total",
    "process_resident_memory_bytes", "go_goroutines", "go_memstats_heap_alloc_bytes",
    "node_filesystem_avail_bytes", "node_memory_MemAvailable_bytes", "node_load1",
    "grpc_server_handled_total", "db_query_duration_seconds_sum", "cache_hits_total",
    "cache_misses_total", "queue_depth", "queue_messages_published_total", "kubelet_running_pods",
    "container_cpu_usage_seconds_total", "container_memory_working_set_bytes", "up",
    "scrape_duration_seconds", "scrape_samples_scraped", "node_context_switches_total",
    "node_intr_total", "node_forks_total", "node_procs_running", "nginx_connections_active",
    "nginx_http_requests_total", "postgres_xact_commit_total", "postgres_locks_count",
    "redis_commands_processed_total", "redis_connected_clients", "jvm_gc_collection_seconds_sum",
    "jvm_threads_current", "ingress_bytes_sent_total", "ingress_upstream_latency_seconds_sum",
    "blackbox_probe_success", "blackbox_probe_duration_seconds", "tls_cert_expiry_seconds",
    "app_errors_total", "app_sessions_active", "app_jobs_processed_total", "app_job_failures_total",
    "disk_io_time_seconds_total", "net_tcp_retransmits_total", "net_sockets_used", "ntp_offset_seconds",
    "power_watts"};
constexpr int metric_count = sizeof(metric_names) / sizeof(metric_names[0]);
static_assert(metric_count * variants == series_per_target);

const char* const jobs[] = {"node", "api", "db", "cache", "kubelet", "ingress", "queue", "blackbox"};
const char* const modes[] = {"user", "system", "idle", "iowait"};
const char* const devices[] = {"sda", "nvme0n1", "eth0", "eth1"};
const char* const codes[] = {"200", "404", "500", "503"};

// Builds the label views of series i into the caller's buffers, without allocating.
struct label_buffers {
  char instance[48];
  char service[24];
  char variant[8];
  std::vector<label_view> views;
  label_buffers() { views.reserve(8); }
};

std::string_view fill_labels(std::size_t i, label_buffers& b) {
  std::size_t target = i / series_per_target;
  int within = static_cast<int>(i % series_per_target);
  int metric = within / variants;
  int variant = within % variants;
  std::snprintf(b.instance, sizeof b.instance, "host-%05zu.prod.example.com:9100", target);
  // 100 consecutive series share a service: an equality matcher that returns 100 series.
  std::snprintf(b.service, sizeof b.service, "svc-%05zu", i / 100);
  b.views.clear();
  b.views.emplace_back("instance", b.instance);
  b.views.emplace_back("job", jobs[target % 8]);
  b.views.emplace_back("service", b.service);
  switch (metric % 4) {
    case 0:
      std::snprintf(b.variant, sizeof b.variant, "%d", variant);
      b.views.emplace_back("cpu", b.variant);
      break;
    case 1: b.views.emplace_back("mode", modes[variant]); break;
    case 2: b.views.emplace_back("device", devices[variant]); break;
    default: b.views.emplace_back("code", codes[variant]); break;
  }
  return metric_names[metric];
}

double value_for(std::size_t i, int round) {
  std::uint64_t h = (i + 1) * 0x9E3779B97F4A7C15ULL;
  switch (i % 4) {
    case 0:
    case 1:  // counter with integer increments
      return static_cast<double>((h >> 40) % 1000 + static_cast<std::uint64_t>(round) * ((h >> 20) % 37));
    case 2:  // small-integer gauge that changes now and then
      return static_cast<double>(((h >> 30) + static_cast<std::uint64_t>(round / 5)) % 8);
    default:  // float gauge
      return 100.0 + std::sin(static_cast<double>(round) * 0.1 + static_cast<double>(i)) * 20.0;
  }
}

double seconds_since(clock_type::time_point start) {
  return std::chrono::duration<double>(clock_type::now() - start).count();
}

// The machine is shared: CPU seconds of this process say more than wall time.
double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

struct stopwatch {
  clock_type::time_point wall = clock_type::now();
  double cpu = cpu_seconds();
  double wall_s() const { return seconds_since(wall); }
  double cpu_s() const { return cpu_seconds() - cpu; }
};

std::size_t heap_in_use() {
  struct mallinfo2 mi = mallinfo2();
  return mi.uordblks + mi.hblkhd;
}

std::size_t rss_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::size_t pages = 0;
  std::size_t resident = 0;
  statm >> pages >> resident;
  return resident * static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
}

std::vector<series_ref> create_all(head& h, std::size_t series) {
  std::vector<series_ref> refs(series);
  label_buffers b;
  for (std::size_t i = 0; i < series; ++i) {
    std::string_view name = fill_labels(i, b);
    refs[i] = h.get_or_create(name, b.views);
  }
  return refs;
}

void append_rounds(head& h, const std::vector<series_ref>& refs, std::size_t from, std::size_t to, int first_round,
                   int rounds) {
  for (int r = first_round; r < first_round + rounds; ++r) {
    std::int64_t t = t0 + r * interval_ms;
    for (std::size_t i = from; i < to; ++i) {
      if (h.append(refs[i], t, value_for(i, r)) != append_status::ok) {
        std::fprintf(stderr, "append failed for series %zu\n", i);
        std::exit(1);
      }
    }
  }
}

template <class F>
double median_micros(int iterations, F&& f) {
  std::vector<double> times;
  for (int k = 0; k < iterations; ++k) {
    auto start = clock_type::now();
    f(k);
    times.push_back(seconds_since(start) * 1e6);
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t series = 1'000'000;
  int samples = 30;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--series") == 0) series = std::strtoull(argv[i + 1], nullptr, 10);
    if (std::strcmp(argv[i], "--samples") == 0) samples = std::atoi(argv[i + 1]);
  }
  if (series < 1000 || samples < 2) {
    std::fprintf(stderr, "usage: bench_tsdb [--series N>=1000] [--samples K>=2]\n");
    return 2;
  }
  series -= series % series_per_target;
  std::printf("bench_tsdb: %zu series x %d samples, 10 s interval, %u hardware threads\n", series, samples,
              std::thread::hardware_concurrency());

  // --- single thread: creation, appends, memory ---
  {
    std::vector<series_ref> refs;
    refs.reserve(series);
    malloc_trim(0);
    std::size_t heap_before = heap_in_use();
    std::size_t rss_before = rss_bytes();
    auto head_ptr = std::make_unique<head>();
    head& h = *head_ptr;

    stopwatch sw;
    refs = create_all(h, series);
    std::printf("create series          : %8.2f s wall %8.2f s CPU  %10.0f series per CPU-s\n", sw.wall_s(),
                sw.cpu_s(), series / sw.cpu_s());

    std::size_t heap_empty_series = heap_in_use() - heap_before;

    sw = stopwatch();
    append_rounds(h, refs, 0, series, 0, samples);
    double total_samples = static_cast<double>(series) * samples;
    std::printf("append, 1 thread       : %8.2f s wall %8.2f s CPU  %10.2f M samples per CPU-s\n", sw.wall_s(),
                sw.cpu_s(), total_samples / sw.cpu_s() / 1e6);

    std::size_t heap = heap_in_use() - heap_before;
    std::size_t rss = rss_bytes() - rss_before;
    head_stats st = h.stats();
    // refs (8 bytes a series) belong to the caller, not the head.
    std::size_t head_heap = heap - refs.capacity() * sizeof(series_ref);
    std::printf("heap per series        : %8.1f B  (after creation, no samples: %.1f B)\n",
                static_cast<double>(head_heap) / series,
                static_cast<double>(heap_empty_series - refs.capacity() * sizeof(series_ref)) / series);
    std::printf("RSS per series         : %8.1f B  (includes the caller's 8 B ref)\n", static_cast<double>(rss) / series);
    std::printf("chunk bytes per sample : %8.3f B\n", static_cast<double>(st.chunk_bytes) / st.samples);
    std::printf("overhead per series    : %8.1f B  (heap minus encoded sample bytes)\n",
                static_cast<double>(head_heap - st.chunk_bytes) / series);
    const char* const classes[] = {"counter", "counter", "small-integer gauge", "float gauge"};
    for (std::size_t kind = 1; kind < 4; ++kind) {
      xor_chunk c;
      for (int r = 0; r < 120; ++r) c.append(t0 + r * interval_ms, value_for(kind + 4 * 1234, r));
      std::printf("  %-20s: %6.3f B/sample in a 120-sample chunk\n", classes[kind],
                  static_cast<double>(c.bytes().size()) / 120);
    }
    std::printf("stats(): series %zu, samples %zu, symbols %zu, memory estimate %.1f B/series\n", st.series,
                st.samples, st.symbols, static_cast<double>(st.memory_bytes) / series);

    // --- scrape fast path: lookup by label views, then append ---
    {
      label_buffers b;
      sw = stopwatch();
      for (std::size_t i = 0; i < series; ++i) {
        std::string_view name = fill_labels(i, b);
        series_ref ref = h.get_or_create(name, b.views);
        h.append(ref, t0 + samples * interval_ms, value_for(i, samples));
      }
      std::printf("get_or_create+append   : %8.2f s wall %8.2f s CPU  %10.2f M samples per CPU-s (label formatting included)\n",
                  sw.wall_s(), sw.cpu_s(), series / sw.cpu_s() / 1e6);
    }

    // --- selects ---
    std::size_t services = series / 100;
    std::int64_t maxt = t0 + (samples + 1) * interval_ms;
    std::size_t returned = 0;
    double eq_us = median_micros(200, [&](int k) {
      char service[24];
      std::snprintf(service, sizeof service, "svc-%05zu", (static_cast<std::size_t>(k) * 7919) % services);
      auto r = h.select({matcher("service", match_op::equal, service)}, t0, maxt);
      returned = r.size();
    });
    std::printf("select service=\"...\"   : %8.1f us median, %zu series x %d samples\n", eq_us, returned, samples + 1);
    double two_us = median_micros(200, [&](int k) {
      char instance[48];
      std::snprintf(instance, sizeof instance, "host-%05zu.prod.example.com:9100",
                    (static_cast<std::size_t>(k) * 131) % (series / series_per_target));
      auto r = h.select({matcher("__name__", match_op::equal, "node_cpu_seconds_total"),
                         matcher("instance", match_op::equal, instance)},
                        maxt - 5 * 60'000, maxt);
      returned = r.size();
    });
    std::printf("select name+instance   : %8.1f us median, %zu series, last 5 min\n", two_us, returned);
    double re_us = median_micros(20, [&](int) {
      auto r = h.select({matcher("__name__", match_op::equal, "up"),
                         matcher("instance", match_op::regex, "host-0001[0-9]\\.prod.*")},
                        maxt - 5 * 60'000, maxt);
      returned = r.size();
    });
    std::printf("select name+regex      : %8.1f us median, %zu series (regex over %zu instance values)\n", re_us,
                returned, series / series_per_target);

    // --- write-behind collection ---
    sw = stopwatch();
    auto chunks = h.collect_unflushed();
    double collect_all_s = sw.cpu_s();
    std::size_t collected = 0;
    for (const auto& c : chunks) collected += c.count;
    std::printf("collect_unflushed      : %8.2f s wall %8.2f s CPU for %zu chunks / %zu samples (%.0f CPU-ns/sample)\n",
                sw.wall_s(), collect_all_s, chunks.size(), collected, collect_all_s * 1e9 / collected);
    chunks.clear();
    chunks.shrink_to_fit();
    append_rounds(h, refs, 0, series, samples + 1, 1);
    sw = stopwatch();
    chunks = h.collect_unflushed();
    double collect_one_s = sw.cpu_s();
    std::printf("collect_unflushed, 1 new sample a series: %.2f s wall %.2f s CPU for %zu chunks (%.0f CPU-ns/series)\n",
                sw.wall_s(), collect_one_s, chunks.size(), collect_one_s * 1e9 / chunks.size());
    chunks.clear();

    sw = stopwatch();
    std::size_t dropped = h.gc(t0 + 10 * 3600 * 1000LL);
    std::printf("gc dropping everything : %8.2f s wall %8.2f s CPU (%zu series)\n", sw.wall_s(), sw.cpu_s(), dropped);
  }

  // --- two threads appending to disjoint halves ---
  {
    auto head_ptr = std::make_unique<head>();
    head& h = *head_ptr;
    std::vector<series_ref> refs = create_all(h, series);
    stopwatch sw;
    std::thread other([&] { append_rounds(h, refs, series / 2, series, 0, samples); });
    append_rounds(h, refs, 0, series / 2, 0, samples);
    other.join();
    double total = static_cast<double>(series) * samples;
    std::printf("append, 2 threads      : %8.2f s wall %8.2f s CPU  %10.2f M samples/s wall, %.2f M per CPU-s\n",
                sw.wall_s(), sw.cpu_s(), total / sw.wall_s() / 1e6, total / sw.cpu_s() / 1e6);
  }
  return 0;
}
