#pragma once

// Watchkeeper's own metrics: counters, gauges and histograms with label sets, rendered in the
// Prometheus text format. Updates are lock-free on the hot path (callers keep the reference a
// family hands out); only creating a new label combination takes a lock.

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace wk::telemetry {

class counter {
 public:
  void inc(double by = 1.0);
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

class gauge {
 public:
  void set(double v) { value_.store(v, std::memory_order_relaxed); }
  void add(double by);
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

class histogram {
 public:
  explicit histogram(const std::vector<double>& upper_bounds);
  void observe(double v);
  struct snapshot {
    std::vector<double> upper_bounds;
    std::vector<std::uint64_t> cumulative_counts;
    std::uint64_t count = 0;
    double sum = 0;
  };
  snapshot read() const;

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> counts_;  // one per bound, plus +Inf
  std::atomic<std::uint64_t> count_{0};
  std::atomic<double> sum_{0.0};
};

std::vector<double> exponential_buckets(double start, double factor, int count);

enum class metric_kind { counter, gauge, histogram };

// One metric family: a name, help text, label names and a child per label-value combination.
template <class Metric>
class family {
 public:
  family(std::vector<std::string> label_names, std::function<std::unique_ptr<Metric>()> make)
    : label_names_(std::move(label_names)), make_(std::move(make)) {}

  // Returns the child for these label values (in label_names order); the reference stays valid
  // until the child is removed.
  Metric& with(const std::vector<std::string>& label_values) {
    std::lock_guard<std::mutex> guard(mutex_);
    auto& slot = children_[label_values];
    if (!slot)
      slot = make_();
    return *slot;
  }
  Metric& get() { return with({}); }

  // Drops a child, e.g. the per-service series of a service no longer watched.
  void remove(const std::vector<std::string>& label_values) {
    std::lock_guard<std::mutex> guard(mutex_);
    children_.erase(label_values);
  }

  template <class Fn>
  void for_each(Fn&& fn) const {
    std::lock_guard<std::mutex> guard(mutex_);
    for (const auto& [values, metric] : children_)
      fn(values, *metric);
  }

  const std::vector<std::string>& label_names() const { return label_names_; }

 private:
  std::vector<std::string> label_names_;
  std::function<std::unique_ptr<Metric>()> make_;
  mutable std::mutex mutex_;
  std::map<std::vector<std::string>, std::unique_ptr<Metric>> children_;
};

class metrics_registry {
 public:
  family<counter>& add_counter(const std::string& name, const std::string& help,
                               std::vector<std::string> label_names = {});
  family<gauge>& add_gauge(const std::string& name, const std::string& help,
                           std::vector<std::string> label_names = {});
  family<histogram>& add_histogram(const std::string& name, const std::string& help,
                                   std::vector<double> upper_bounds,
                                   std::vector<std::string> label_names = {});

  // Gauges computed at render time (queue depths, series counts) without a writer thread.
  void add_callback_gauge(const std::string& name, const std::string& help,
                          std::function<double()> read);

  // Prometheus text format 0.0.4, HELP and TYPE on every family, families sorted by name.
  std::string render() const;

 private:
  struct entry {
    std::string name;
    std::string help;
    metric_kind kind;
    std::unique_ptr<family<counter>> counters;
    std::unique_ptr<family<gauge>> gauges;
    std::unique_ptr<family<histogram>> histograms;
    std::function<double()> callback;
  };
  entry& add_entry(const std::string& name, const std::string& help, metric_kind kind);

  mutable std::mutex mutex_;
  std::deque<entry> entries_;
};

// Formats a double the way Prometheus clients do: integers without exponent, +Inf, -Inf, NaN.
std::string format_value(double v);

}  // namespace wk::telemetry
