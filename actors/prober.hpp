#pragma once

#include <map>

// Runs one health check of one service on its interval. A state change (after the thresholds)
// is committed to PostgreSQL through the health store first; only then is it reported to the
// supervisor, the metrics and everyone else.

#include <caf/stateful_actor.hpp>

#include "actors/interfaces.hpp"
#include "actors/runtime.hpp"
#include "config/loader.hpp"

namespace wk::actors {

struct prober_settings {
  std::string service;
  config::health_check_spec spec;
  std::map<std::string, std::string> service_labels;  // carried by the probe_* series
};

caf::behavior prober(caf::event_based_actor* self, runtime_ptr rt, prober_settings settings,
                     supervisor_actor parent, health_store_actor store);

}  // namespace wk::actors
