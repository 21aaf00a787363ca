#pragma once

// Rule evaluation for one scope: a service (every selector limited to service="<name>",
// evaluated as soon as a scrape or probe of the service lands) or the global rules (on their
// intervals). Each alert transition is committed to PostgreSQL before it is announced; pending
// and firing alerts are restored from there after a restart.

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <caf/event_based_actor.hpp>

#include "actors/interfaces.hpp"
#include "actors/runtime.hpp"
#include "rules/rule_file.hpp"

namespace wk::actors {

struct alerter_settings {
  std::string scope;  // service name; "" = global
  rule_groups_ptr groups;
  std::chrono::milliseconds default_interval{15'000};
  std::map<std::string, std::string> external_labels;
  std::string external_url;
};

// Messages: landed_atom (data of the scope arrived), evaluate_atom (its timer),
// (reload_atom, rule_groups_ptr) (new rules: alert state carries over by group and rule name).
caf::behavior alerter(caf::event_based_actor* self, runtime_ptr rt, alerter_settings settings,
                      alert_store_actor store);

}  // namespace wk::actors

