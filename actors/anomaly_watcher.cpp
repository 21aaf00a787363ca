#include "actors/anomaly_watcher.hpp"

#include <chrono>
#include <unordered_map>

#include <caf/all.hpp>

#include "anomaly/series_scorer.hpp"
#include "promql/error.hpp"
#include "promql/parser.hpp"
#include "protocol/rest/anomaly_json.hpp"
#include "telemetry/logging.hpp"

namespace wk::actors {

namespace {

// Scoring runs at most this often however many checks land.
constexpr std::int64_t min_gap_ms = 250;
// First run: recent history warms the detectors up.
constexpr std::int64_t first_window_ms = 5 * 60 * 1000;
// Later runs look back this far, so a late sample of a slow scrape is not missed.
constexpr std::int64_t overlap_ms = 30 * 1000;

std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

struct watcher_state {
  explicit watcher_state(const anomaly_settings& s) : scorer(s.threshold, s.max_series) {}
  anomaly::series_scorer scorer;
  std::vector<std::vector<tsdb::matcher>> selectors;
  std::unordered_map<std::uint64_t, tsdb::series_ref> score_refs;
  std::int64_t last_run = 0;
  bool deferred = false;  // a run is scheduled for when min_gap has passed
};

}  // namespace

caf::behavior anomaly_watcher(caf::event_based_actor* self, runtime_ptr rt,
                              anomaly_settings settings, anomaly_store_actor store,
                              supervisor_actor parent) {
  auto st = std::make_shared<watcher_state>(settings);
  auto log = telemetry::logger("anomaly");
  for (const auto& text : settings.selectors) {
    try {
      auto e = promql::parse(text);
      if (e->kind != promql::expr_kind::vector_selector) continue;
      auto matchers = e->matchers;
      matchers.emplace_back("service", tsdb::match_op::equal, settings.service);
      st->selectors.push_back(std::move(matchers));
    } catch (const promql::error& e) {
      log->error("service={} anomaly selector \"{}\" ignored: {}", settings.service, text, e.what());
    }
  }
  const std::string service = settings.service;
  auto run = [=] {
    const auto now = wall_ms();
    const auto from = st->last_run == 0 ? now - first_window_ms : st->last_run - overlap_ms;
    st->last_run = now;
    std::vector<tsdb::series_data> series;
    for (const auto& m : st->selectors) {
      auto found = rt->head->select(m, from, now);
      for (auto& s : found) {
        // Never score our own scores.
        if (s.labels.get("__name__") != "watchkeeper_anomaly_score") series.push_back(std::move(s));
      }
    }
    auto scored = st->scorer.feed(series);
    std::vector<persistence::anomaly_row> events;
    for (const auto& s : scored) {
      const auto fp = s.score_labels.fingerprint();
      auto it = st->score_refs.find(fp);
      if (it == st->score_refs.end())
        it = st->score_refs.emplace(fp, rt->head->get_or_create(s.score_labels)).first;
      if (rt->head->append(it->second, s.t_ms, s.score) == tsdb::append_status::unknown_series) {
        it->second = rt->head->get_or_create(s.score_labels);
        rt->head->append(it->second, s.t_ms, s.score);
      }
      if (!s.crossed) continue;
      persistence::anomaly_row row;
      row.service = service;
      row.metric = std::string(s.series.get("__name__"));
      for (const auto& l : s.series.labels())
        if (l.name != "__name__") row.labels.emplace(l.name, l.value);
      row.value = s.value;
      row.score = s.score;
      row.at_ms = s.t_ms;
      rt->metrics->anomaly_events.with({service}).inc();
      log->info("anomaly service={} series={} value={} score={:.3f}", service,
                s.series.to_string(), s.value, s.score);
      publish_event(*rt, "anomalies", "anomaly",
                    rest::anomaly_json({row.service, row.metric, row.labels, row.value, row.score, row.at_ms}),
                    row.at_ms);
      events.push_back(std::move(row));
    }
    if (!events.empty()) caf::anon_send(store, record_atom_v, std::move(events));
    if (!scored.empty()) caf::anon_send(parent, landed_atom_v);
    rt->metrics->anomaly_detectors.with({service}).set(double(st->scorer.series()));
  };
  return {
    [=](landed_atom) {
      const auto now = wall_ms();
      if (now - st->last_run >= min_gap_ms) {
        run();
        return;
      }
      // Data landing in a burst is scored once, right after the burst, never dropped.
      if (!st->deferred) {
        st->deferred = true;
        self->delayed_send(self, std::chrono::milliseconds(min_gap_ms - (now - st->last_run)),
                           evaluate_atom_v);
      }
    },
    [=](evaluate_atom) {
      st->deferred = false;
      run();
    },
  };
}

}  // namespace wk::actors
