#pragma once

// The incident lifecycle as pure functions: alert transitions and operator commands change an
// incident and say what to record (timeline) and whom to tell (transitions to notify). The
// incident actor applies them, commits the result, and only then lets anyone know.
//
//   triggered --acknowledge--> acknowledged --resolve--> resolved
//        \__________________resolve_____________________/
//   resolved --(an alert of the group fires within reopen_window)--> triggered (reopened)

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "incidents/model.hpp"

namespace wk::incidents {

struct settings {
  std::vector<std::string> group_by;  // alert labels that split a service's alerts
  bool auto_resolve = true;           // resolve when every alert resolved
  std::int64_t reopen_window_ms = 10 * 60 * 1000;
  std::size_t max_alerts = 1000;      // per incident; later alerts are counted, not listed
};

// An alert transition as the rule engine committed it.
struct alert_event {
  std::string fingerprint, alertname, service;
  std::map<std::string, std::string> labels, annotations;
  bool firing = true;  // false: resolved
  double value = 0;
  std::int64_t starts_at_ms = 0, at_ms = 0;
};

// The service label of the alert's group plus its group_by labels that are present.
std::map<std::string, std::string> group_labels(const settings& s, const alert_event& e);
// "<service>" or "<service>/{a=\"x\",b=\"y\"}" (sorted, Go-quoted values).
std::string group_key(const std::string& service, const std::map<std::string, std::string>& labels);

// critical|error|warning|info from a free-form severity label (page/fatal -> critical, warn ->
// warning, none/debug -> info, missing or unknown -> error).
std::string normalize_severity(const std::string& label);
// Lower is more urgent: critical 0 .. info 3.
int urgency(const std::string& severity);

// What a change did. `refused` non-empty: nothing changed and the caller answers 409 with it.
struct change {
  bool changed = false;
  std::vector<timeline_entry> timeline;
  std::vector<std::string> notify;  // transitions to send: triggered | acknowledged | resolved
  std::string refused;
};

// A new incident for the first firing alert of a group.
incident open_for_alert(std::int64_t id, const settings& s, const alert_event& e,
                        const std::string& escalation_policy, change& out);
// A new incident opened by hand.
incident open_manual(std::int64_t id, const std::string& title, const std::string& service,
                     const std::string& severity, const std::string& description,
                     const std::string& actor, const std::string& escalation_policy,
                     std::int64_t now_ms, change& out);

// An alert of this incident's group fired or resolved. related: joined through dependency
// suppression. A firing alert on a resolved incident reopens it.
change apply_alert(incident& i, const settings& s, const alert_event& e, bool related);

change acknowledge(incident& i, const std::string& actor, const std::string& note,
                   std::int64_t now_ms);
change resolve(incident& i, const std::string& actor, const std::string& note, std::int64_t now_ms);
change add_note(incident& i, const std::string& actor, const std::string& text, std::int64_t now_ms);
change set_severity(incident& i, const std::string& actor, const std::string& severity,
                    std::int64_t now_ms);
change reassign(incident& i, const std::string& actor, const std::string& assignee,
                std::int64_t now_ms);

// Firing alerts that joined as related; they need an incident of their own once this one
// resolves while they still fire.
std::vector<const incident_alert*> orphaned_related(const incident& i);

}  // namespace wk::incidents
