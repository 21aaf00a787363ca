#pragma once

// The services under watch: the configuration's plus those added over REST (kept in PostgreSQL;
// the configuration wins on a name clash). Starts, stops and replaces supervisors to match,
// keeps each service's latest status for the API, and takes pushed metrics.

#include <map>
#include <string>
#include <vector>

#include <caf/stateful_actor.hpp>

#include "actors/interfaces.hpp"
#include "actors/runtime.hpp"

namespace wk::actors {

struct registry_state {
  struct entry {
    config::service_spec spec;
    std::string source;  // config | api
    supervisor_actor supervisor;
    watch::service_status status;
    bool has_rules = false;
  };
  config_ptr config;
  catalog_ptr catalog;
  caf::actor global_alerter;  // the rules of rules.files, when there are any
  std::map<std::string, entry> services;
  std::map<std::string, config::service_spec> api_services;
  bool api_loaded = false;
  bool started = false;  // the first reload_atom starts watching
  caf::response_promise shutdown_promise;
  std::map<caf::actor_addr, std::string> retiring;  // supervisors told to stop, not yet down
  std::size_t stopping = 0;
  bool shutting_down = false;
  static inline const char* name = "registry";
};

registry_actor::behavior_type registry(registry_actor::stateful_pointer<registry_state> self,
                                       runtime_ptr rt, config_ptr initial,
                                       health_store_actor health, service_store_actor store,
                                       alert_store_actor alerts, anomaly_store_actor anomalies);

}  // namespace wk::actors
