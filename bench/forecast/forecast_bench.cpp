// Fit time and heap use of one forecast, for 1k and 10k points of history.
// Plain main: the figure that matters is the time and bytes of one call, median of many.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <new>
#include <random>
#include <vector>

#include "forecast/forecast.hpp"

namespace {

// Heap accounting: every allocation carries its size in a header, so peak bytes in use during
// one call can be measured without a profiler.
std::size_t live_bytes = 0;
std::size_t peak_bytes = 0;
constexpr std::size_t header = alignof(std::max_align_t);

void* counted_alloc(std::size_t n) {
  void* p = std::malloc(n + header);
  if (!p) throw std::bad_alloc();
  *static_cast<std::size_t*>(p) = n;
  live_bytes += n;
  peak_bytes = std::max(peak_bytes, live_bytes);
  return static_cast<char*>(p) + header;
}

void counted_free(void* p) noexcept {
  if (!p) return;
  char* base = static_cast<char*>(p) - header;
  live_bytes -= *reinterpret_cast<std::size_t*>(base);
  std::free(base);
}

}  // namespace

void* operator new(std::size_t n) { return counted_alloc(n); }
void* operator new[](std::size_t n) { return counted_alloc(n); }
void operator delete(void* p) noexcept { counted_free(p); }
void operator delete[](void* p) noexcept { counted_free(p); }
void operator delete(void* p, std::size_t) noexcept { counted_free(p); }
void operator delete[](void* p, std::size_t) noexcept { counted_free(p); }

namespace {

using wk::forecast::point;

constexpr std::int64_t step_ms = 300'000;
constexpr std::int64_t day_ms = 86'400'000;

std::vector<point> history(std::size_t n, bool seasonal) {
  std::mt19937 rng(42);
  std::normal_distribution<double> noise(0.0, 1.0);
  std::vector<point> h(n);
  for (std::size_t i = 0; i < n; ++i) {
    const double season =
        seasonal ? 10.0 * std::sin(2.0 * M_PI * static_cast<double>(i % 288) / 288.0) : 0.0;
    h[i] = {1'700'000'000'000 + static_cast<std::int64_t>(i) * step_ms,
            50.0 + 0.01 * static_cast<double>(i) + season + noise(rng)};
  }
  return h;
}

// CPU time of this thread: other builds share the two cores, and wall time would count
// the time this process spent waiting for them.
double thread_cpu_us() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) / 1e3;
}

template <class F>
void measure(const char* name, std::size_t n, bool seasonal, F fit) {
  const auto h = history(n, seasonal);
  const wk::forecast::forecast_options o{day_ms, step_ms};
  std::vector<double> us, cpu;
  std::size_t peak = 0;
  std::string method;
  for (int rep = 0; rep < 41; ++rep) {
    const std::size_t base = live_bytes;
    peak_bytes = live_bytes;
    const double cpu_start = thread_cpu_us();
    const auto start = std::chrono::steady_clock::now();
    const auto r = fit(h, o);
    const auto stop = std::chrono::steady_clock::now();
    cpu.push_back(thread_cpu_us() - cpu_start);
    peak = std::max(peak, peak_bytes - base);
    method = r.method;
    us.push_back(std::chrono::duration<double, std::micro>(stop - start).count());
  }
  std::sort(us.begin(), us.end());
  std::sort(cpu.begin(), cpu.end());
  std::printf(
      "%-9s %6zu points  %-12s  cpu median %7.1f us  wall median %7.1f us p90 %7.1f us  "
      "peak heap %8zu bytes (%.1f per point)\n",
      name, n, method.c_str(), cpu[cpu.size() / 2], us[us.size() / 2], us[us.size() * 9 / 10], peak,
      static_cast<double>(peak) / static_cast<double>(n));
}

}  // namespace

int main() {
  std::printf(
      "forecast of one day at 5-minute steps (288 points out), history at 5-minute steps\n");
  for (std::size_t n : {1'000u, 10'000u, 20'000u}) {
    measure("seasonal", n, true, wk::forecast::forecast);
    measure("trend", n, false, wk::forecast::forecast);
    measure("linear", n, false, wk::forecast::forecast_linear);
  }
  return 0;
}
