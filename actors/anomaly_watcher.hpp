#pragma once

// Online anomaly detection for one service: whenever a scrape or probe of the service lands,
// the new samples of the selected series go through one detector per series. Scores are
// appended to the head as watchkeeper_anomaly_score{metric=...} (so ordinary rules can alert
// on them); a score crossing the threshold is an anomaly event, kept in PostgreSQL and
// published on the anomalies topic.

#include <string>
#include <vector>

#include <caf/event_based_actor.hpp>

#include "actors/interfaces.hpp"
#include "actors/runtime.hpp"

namespace wk::actors {

struct anomaly_settings {
  std::string service;
  std::vector<std::string> selectors;  // PromQL series selectors, checked at config load
  double threshold = 0.9;
  std::size_t max_series = 500;
};

// Messages: landed_atom. New scores are reported to the parent as landed data in turn, so the
// service's rules on watchkeeper_anomaly_score run at once instead of on their interval.
caf::behavior anomaly_watcher(caf::event_based_actor* self, runtime_ptr rt,
                              anomaly_settings settings, anomaly_store_actor store,
                              supervisor_actor parent);

}  // namespace wk::actors
