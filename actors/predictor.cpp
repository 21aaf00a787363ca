#include "actors/predictor.hpp"

#include <chrono>
#include <cmath>
#include <map>

#include <caf/all.hpp>

#include "forecast/capacity.hpp"
#include "promql/engine.hpp"
#include "telemetry/logging.hpp"

namespace wk::actors {
namespace {

std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

constexpr std::size_t max_series_per_prediction = 1000;

struct predictor_state {
  config_ptr cfg;
  std::map<std::string, std::int64_t> next_due;  // prediction name -> when
  std::map<std::string, std::string> last_error;  // logged once per change
  // (prediction, series) -> the estimate last recorded
  std::map<std::pair<std::string, std::string>, forecast::capacity_estimate> recorded;
};

std::map<std::string, std::string> plain_labels(const tsdb::label_set& labels) {
  std::map<std::string, std::string> out;
  for (const auto& l : labels.labels()) out[l.name] = l.value;
  return out;
}

std::string series_key(const tsdb::label_set& labels) {
  std::string key;
  for (const auto& l : labels.labels()) key += l.name + '\x1f' + l.value + '\x1e';
  return key;
}

tsdb::label_set output_labels(const char* metric, const std::string& prediction,
                              const tsdb::label_set& series) {
  std::vector<tsdb::label> labels;
  labels.push_back({"__name__", metric});
  labels.push_back({"prediction", prediction});
  for (const auto& l : series.labels()) {
    if (l.name == "__name__" || l.name == "prediction") continue;
    labels.push_back({l.name, l.value});
  }
  return tsdb::label_set(std::move(labels));
}

void write(tsdb::head& head, const tsdb::label_set& labels, std::int64_t t, double v) {
  auto ref = head.get_or_create(labels);
  if (head.append(ref, t, v) == tsdb::append_status::unknown_series)
    head.append(head.get_or_create(labels), t, v);
}

}  // namespace

caf::behavior predictor(caf::event_based_actor* self, runtime_ptr rt, config_ptr cfg,
                        prediction_store_actor store) {
  auto log = telemetry::logger("predictions");
  auto st = std::make_shared<predictor_state>();
  st->cfg = std::move(cfg);
  auto engine = std::make_shared<promql::engine>(*rt->head);

  auto run = [=](const config::prediction_spec& p, std::int64_t now) {
    const auto history = p.history.count();
    const auto step = std::max<std::int64_t>(1000, history / 240);
    promql::query_result result;
    std::string error;
    try {
      result = engine->range_query(p.query, now - history, now, step);
    } catch (const std::exception& e) {
      error = e.what();
    }
    std::size_t written = 0, failed = 0;
    std::vector<persistence::prediction_row> changed;
    for (const auto& s : result.matrix) {
      if (written == max_series_per_prediction) break;
      std::vector<forecast::point> points;
      points.reserve(s.samples.size());
      for (const auto& sample : s.samples) points.push_back({sample.t, sample.v});
      const auto e = forecast::estimate_capacity(points, p.horizon.count(), p.threshold, p.linear, now);
      if (!e.error.empty()) {
        ++failed;
        error = e.error;
        continue;
      }
      write(*rt->head, output_labels("watchkeeper_prediction_seconds_to_threshold", p.name, s.labels),
            now, e.seconds_to_threshold);
      write(*rt->head, output_labels("watchkeeper_prediction_value", p.name, s.labels), now,
            e.value_at_horizon);
      ++written;
      const auto key = std::make_pair(p.name, series_key(s.labels));
      auto it = st->recorded.find(key);
      if (it == st->recorded.end() || forecast::materially_changed(it->second, e)) {
        st->recorded[key] = e;
        persistence::prediction_row row;
        row.prediction = p.name;
        row.labels = plain_labels(s.labels);
        row.method = e.method;
        if (std::isfinite(e.seconds_to_threshold)) row.seconds_to_threshold = e.seconds_to_threshold;
        row.value_at_horizon = std::isfinite(e.value_at_horizon) ? e.value_at_horizon : 0;
        row.at_ms = now;
        changed.push_back(std::move(row));
      }
    }
    if (!changed.empty()) self->send(store, record_atom_v, std::move(changed));
    auto& last = st->last_error[p.name];
    const std::string now_error = written == 0 && !error.empty() ? error : std::string();
    if (now_error != last) {
      if (now_error.empty())
        log->info("prediction {} works again ({} series)", p.name, written);
      else
        log->warn("prediction {} wrote nothing: {}", p.name, now_error);
      last = now_error;
    }
    if (failed > 0) log->debug("prediction {}: {} series without enough history", p.name, failed);
  };

  auto tick = [=] {
    const auto now = wall_ms();
    std::int64_t next = now + 60'000;
    for (const auto& p : st->cfg->predictions) {
      auto& due = st->next_due[p.name];
      if (due <= now) {
        run(p, now);
        due = now + p.interval.count();
      }
      next = std::min(next, due);
    }
    self->delayed_send(self, std::chrono::milliseconds(std::max<std::int64_t>(next - now, 10)),
                       tick_atom_v);
  };
  self->send(self, tick_atom_v);

  return {
    [=](tick_atom) { tick(); },
    [=](reload_atom, const config_ptr& next) {
      st->cfg = next;
      std::map<std::string, std::int64_t> kept;
      for (const auto& p : next->predictions) kept[p.name] = st->next_due[p.name];
      st->next_due = std::move(kept);
    },
  };
}

}  // namespace wk::actors
