#include "telemetry/metrics_registry.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>

namespace wk::telemetry {

namespace {

void atomic_add(std::atomic<double>& target, double by) {
  double current = target.load(std::memory_order_relaxed);
  while (!target.compare_exchange_weak(current, current + by, std::memory_order_relaxed)) {
  }
}

void append_escaped(std::string& out, const std::string& value, bool help) {
  for (char c : value) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else if (c == '"' && !help)
      out += "\\\"";
    else
      out += c;
  }
}

void append_labels(std::string& out, const std::vector<std::string>& names,
                   const std::vector<std::string>& values, const char* extra_name = nullptr,
                   const std::string& extra_value = {}) {
  if (names.empty() && !extra_name)
    return;
  out += '{';
  bool first = true;
  for (std::size_t i = 0; i < names.size() && i < values.size(); ++i) {
    if (!first)
      out += ',';
    first = false;
    out += names[i];
    out += "=\"";
    append_escaped(out, values[i], false);
    out += '"';
  }
  if (extra_name) {
    if (!first)
      out += ',';
    out += extra_name;
    out += "=\"";
    out += extra_value;
    out += '"';
  }
  out += '}';
}

}  // namespace

void counter::inc(double by) {
  if (by < 0)
    return;  // counters never go down
  atomic_add(value_, by);
}

void gauge::add(double by) {
  atomic_add(value_, by);
}

histogram::histogram(const std::vector<double>& upper_bounds)
  : bounds_(upper_bounds), counts_(new std::atomic<std::uint64_t>[upper_bounds.size() + 1]) {
  std::sort(bounds_.begin(), bounds_.end());
  for (std::size_t i = 0; i <= bounds_.size(); ++i)
    counts_[i].store(0, std::memory_order_relaxed);
}

void histogram::observe(double v) {
  auto it = std::lower_bound(bounds_.begin(), bounds_.end(), v);
  counts_[static_cast<std::size_t>(it - bounds_.begin())].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  atomic_add(sum_, v);
}

histogram::snapshot histogram::read() const {
  snapshot s;
  s.upper_bounds = bounds_;
  std::uint64_t running = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    running += counts_[i].load(std::memory_order_relaxed);
    s.cumulative_counts.push_back(running);
  }
  s.count = running;
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

std::vector<double> exponential_buckets(double start, double factor, int count) {
  std::vector<double> out;
  double v = start;
  for (int i = 0; i < count; ++i, v *= factor)
    out.push_back(v);
  return out;
}

metrics_registry::entry& metrics_registry::add_entry(const std::string& name,
                                                     const std::string& help, metric_kind kind) {
  std::lock_guard<std::mutex> guard(mutex_);
  for (const auto& e : entries_)
    if (e.name == name)
      throw std::logic_error("metric registered twice: " + name);
  auto& e = entries_.emplace_back();
  e.name = name;
  e.help = help;
  e.kind = kind;
  return e;
}

family<counter>& metrics_registry::add_counter(const std::string& name, const std::string& help,
                                               std::vector<std::string> label_names) {
  auto& e = add_entry(name, help, metric_kind::counter);
  e.counters = std::make_unique<family<counter>>(std::move(label_names),
                                                 [] { return std::make_unique<counter>(); });
  return *e.counters;
}

family<gauge>& metrics_registry::add_gauge(const std::string& name, const std::string& help,
                                           std::vector<std::string> label_names) {
  auto& e = add_entry(name, help, metric_kind::gauge);
  e.gauges = std::make_unique<family<gauge>>(std::move(label_names),
                                             [] { return std::make_unique<gauge>(); });
  return *e.gauges;
}

family<histogram>& metrics_registry::add_histogram(const std::string& name,
                                                   const std::string& help,
                                                   std::vector<double> upper_bounds,
                                                   std::vector<std::string> label_names) {
  auto& e = add_entry(name, help, metric_kind::histogram);
  e.histograms = std::make_unique<family<histogram>>(
    std::move(label_names), [upper_bounds] { return std::make_unique<histogram>(upper_bounds); });
  return *e.histograms;
}

void metrics_registry::add_callback_gauge(const std::string& name, const std::string& help,
                                          std::function<double()> read) {
  auto& e = add_entry(name, help, metric_kind::gauge);
  e.callback = std::move(read);
}

std::string format_value(double v) {
  if (std::isnan(v))
    return "NaN";
  if (std::isinf(v))
    return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  if (v == std::floor(v) && std::fabs(v) < 1e15)
    std::snprintf(buf, sizeof buf, "%.0f", v);
  else {
    // Shortest of %.15g / %.17g that reads back as the same double ("0.1", not 0.1000...01).
    std::snprintf(buf, sizeof buf, "%.15g", v);
    if (std::strtod(buf, nullptr) != v)
      std::snprintf(buf, sizeof buf, "%.17g", v);
  }
  return buf;
}

std::string metrics_registry::render() const {
  std::lock_guard<std::mutex> guard(mutex_);
  std::vector<const entry*> sorted;
  for (const auto& e : entries_)
    sorted.push_back(&e);
  std::sort(sorted.begin(), sorted.end(),
            [](const entry* a, const entry* b) { return a->name < b->name; });
  std::string out;
  out.reserve(16384);
  for (const entry* e : sorted) {
    out += "# HELP " + e->name + ' ';
    append_escaped(out, e->help, true);
    out += "\n# TYPE " + e->name + ' ';
    switch (e->kind) {
      case metric_kind::counter:
        out += "counter\n";
        e->counters->for_each([&](const auto& values, const counter& c) {
          out += e->name;
          append_labels(out, e->counters->label_names(), values);
          out += ' ' + format_value(c.value()) + '\n';
        });
        break;
      case metric_kind::gauge:
        out += "gauge\n";
        if (e->callback) {
          out += e->name + ' ' + format_value(e->callback()) + '\n';
          break;
        }
        e->gauges->for_each([&](const auto& values, const gauge& g) {
          out += e->name;
          append_labels(out, e->gauges->label_names(), values);
          out += ' ' + format_value(g.value()) + '\n';
        });
        break;
      case metric_kind::histogram:
        out += "histogram\n";
        e->histograms->for_each([&](const auto& values, const histogram& h) {
          auto snap = h.read();
          const auto& names = e->histograms->label_names();
          for (std::size_t i = 0; i <= snap.upper_bounds.size(); ++i) {
            out += e->name + "_bucket";
            std::string le = i < snap.upper_bounds.size() ? format_value(snap.upper_bounds[i])
                                                          : std::string("+Inf");
            append_labels(out, names, values, "le", le);
            out += ' ' + std::to_string(snap.cumulative_counts[i]) + '\n';
          }
          out += e->name + "_sum";
          append_labels(out, names, values);
          out += ' ' + format_value(snap.sum) + '\n';
          out += e->name + "_count";
          append_labels(out, names, values);
          out += ' ' + std::to_string(snap.count) + '\n';
        });
        break;
    }
  }
  return out;
}

}  // namespace wk::telemetry
