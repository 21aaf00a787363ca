#include "actors/alert_entry.hpp"

namespace wk::actors {

rest::alert_entry alert_entry_of(const persistence::alert_row& r) {
  rest::alert_entry e;
  auto it = r.labels.find("alertname");
  e.alertname = it == r.labels.end() ? r.rule_name : it->second;
  e.service = r.service;
  e.state = r.to_state == "inactive" ? "resolved" : r.to_state;
  e.rule_group = r.rule_group;
  e.labels = r.labels;
  e.annotations = r.annotations;
  e.value = r.value;
  e.active_at_ms = r.active_at_ms;
  e.fired_at_ms = r.fired_at_ms;
  e.resolved_at_ms = r.resolved_at_ms;
  e.fingerprint = r.fingerprint;
  return e;
}

}  // namespace wk::actors
