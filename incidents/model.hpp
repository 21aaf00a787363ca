#pragma once

// The incident as every part sees it: the incident actor owns one, persistence stores it, REST
// renders it. Plain data; the rules that change it live in incidents/engine.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace wk::incidents {

enum class status { triggered, acknowledged, resolved };

std::string_view to_string(status s);
std::optional<status> parse_status(std::string_view text);

// Severities in order of urgency; anything else is normalised to "error" on the way in.
inline constexpr std::string_view severities[] = {"critical", "error", "warning", "info"};
bool valid_severity(std::string_view s);

// One alert attached to an incident, keyed by the rule engine's fingerprint.
struct incident_alert {
  std::string fingerprint;
  std::string alertname;
  std::string service;
  std::map<std::string, std::string> labels, annotations;
  bool firing = true;  // false once the alert resolved (it stays listed)
  double value = 0;
  std::int64_t starts_at_ms = 0, ends_at_ms = 0;  // ends_at_ms 0 while firing
  // Joined through dependency suppression: its service depends on this incident's service,
  // which is down, so it is listed here instead of paging on its own.
  bool related = false;
};

// Append-only history. Persistence assigns the order (its own serial id); at_ms is when it
// happened.
struct timeline_entry {
  std::int64_t incident_id = 0;
  std::int64_t at_ms = 0;
  // opened | alert_joined | alert_resolved | related_alert_joined | notified |
  // notification_failed | escalated | acknowledged | resolved | reopened | note |
  // severity_changed | reassigned | suppressed
  std::string kind;
  std::string actor;  // token name, a user id, "system", or a receiver name
  std::string text;   // one human sentence, e.g. "acknowledged by alice"
  std::map<std::string, std::string> detail;
};

struct incident {
  std::int64_t id = 0;
  // "<service>" or "<service>/{a=\"x\",b=\"y\"}" over incidents.group_by; at most one
  // unresolved incident per group key.
  std::string group_key;
  std::string service;
  std::string title;
  std::string severity = "error";
  status state = status::triggered;
  std::map<std::string, std::string> group_labels;
  std::int64_t opened_at_ms = 0, updated_at_ms = 0;
  std::int64_t acknowledged_at_ms = 0, resolved_at_ms = 0;  // 0 = not (yet)
  std::string acknowledged_by, resolved_by, assignee;
  std::string created_by;  // token name for a manual incident; "" when opened by alerts
  // Escalation: the policy name ("" = none), the time its clock started (trigger or reopen)
  // and the (level, repetition) pairs already paged, so a restart pages nobody twice.
  std::string escalation_policy;
  std::int64_t escalation_started_ms = 0;
  std::vector<std::pair<int, int>> escalated;
  int reopen_count = 0;
  // Receivers that were sent "triggered": acknowledge and resolve go to exactly these.
  std::vector<std::string> notified_receivers;
  // Set when another incident is the root cause (dependency suppression).
  std::int64_t related_to = 0;
  std::vector<incident_alert> alerts;
  std::int64_t version = 0;  // +1 per committed change; optimistic concurrency for writers
};

}  // namespace wk::incidents
