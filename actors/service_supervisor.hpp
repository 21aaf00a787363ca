#pragma once

// One per watched service. Spawns the scraper and one prober per health check, links them so
// they die with it, traps their exits and restarts a failed child after a backoff, within a
// restart budget. Aggregates the children's status and reports it to the registry.

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <caf/stateful_actor.hpp>

#include "actors/interfaces.hpp"
#include "actors/runtime.hpp"
#include "config/loader.hpp"
#include "watch/restart_policy.hpp"

namespace wk::actors {

// A child the supervisor keeps alive: its name (for logs and metrics) and how to spawn it.
struct child_spec {
  std::string name;
  std::function<caf::actor(supervisor_actor self)> spawn;
  bool wants_data = false;  // told (landed_atom) whenever a scrape or probe of the service lands
};

// The rule groups of a service, read by its alerter child whenever it is (re)spawned and
// replaced by the supervisor on reload.
using rules_holder = std::shared_ptr<rule_groups_ptr>;

struct supervisor_settings {
  std::string service;
  std::string source;  // config | api
  std::map<std::string, std::string> labels;
  std::vector<std::string> depends_on;
  watch::restart_settings restart;
  std::vector<child_spec> children;
  std::optional<std::string> scrape_url;  // for the status before the first scrape
  rules_holder rules;                      // null when the service has no rules
};

struct supervisor_state;

supervisor_actor::behavior_type
service_supervisor(supervisor_actor::stateful_pointer<supervisor_state> self, runtime_ptr rt,
                   supervisor_settings settings, caf::actor status_sink);

struct child_context {
  health_store_actor health;
  alert_store_actor alerts;
  anomaly_store_actor anomalies;
  bool anomaly_enabled = false;
  std::vector<std::string> anomaly_series;
  double anomaly_threshold = 0.8;  // config::anomaly_spec's default
  std::size_t anomaly_max_series = 500;
  bool jitter = true;
  rules_holder rules;  // the service's rule groups; an alerter child when not empty
  std::chrono::milliseconds evaluation_interval{15'000};
  std::map<std::string, std::string> external_labels;
  std::string external_url;
};

// The children of a configured service: a scraper when it has a metrics endpoint, a prober per
// health check, an alerter when rules apply to it.
std::vector<child_spec> children_for(const config::service_spec& spec, runtime_ptr rt,
                                     const child_context& ctx);

struct supervisor_state {
  struct child {
    child_spec spec;
    caf::actor handle;
    watch::restart_policy policy;
    bool gave_up = false;
  };
  std::vector<child> children;
  watch::service_status status;
  bool report_pending = false;
  static inline const char* name = "service_supervisor";
};

}  // namespace wk::actors
