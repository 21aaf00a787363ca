#pragma once

// One per watched service. Spawns the scraper and one prober per health check, links them so
// they die with it, traps their exits and restarts a failed child after a backoff, within a
// restart budget. Aggregates the children's status and reports it to the registry.

#include <functional>
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
};

struct supervisor_settings {
  std::string service;
  std::string source;  // config | api
  std::map<std::string, std::string> labels;
  std::vector<std::string> depends_on;
  watch::restart_settings restart;
  std::vector<child_spec> children;
  std::optional<std::string> scrape_url;  // for the status before the first scrape
};

struct supervisor_state;

supervisor_actor::behavior_type
service_supervisor(supervisor_actor::stateful_pointer<supervisor_state> self, runtime_ptr rt,
                   supervisor_settings settings, caf::actor status_sink);

// The children of a configured service: a scraper when it has a metrics endpoint, a prober per
// health check.
std::vector<child_spec> children_for(const config::service_spec& spec, runtime_ptr rt,
                                     health_store_actor store, bool jitter);

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
