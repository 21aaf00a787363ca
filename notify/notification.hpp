#pragma once

// What every channel renders: one incident transition with the alerts behind it. Renderers are
// pure functions of this struct (plus options and a clock value), so a retried delivery sends
// the same bytes.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace wk::notify {

struct alert_info {
  std::string status;  // firing|resolved
  std::map<std::string, std::string> labels, annotations;
  std::int64_t starts_at_ms = 0, ends_at_ms = 0;  // 0 = unset
  std::string generator_url, fingerprint;
};

struct notification {
  std::string incident_id;
  std::string title;
  std::string service;
  std::string severity;    // critical|error|warning|info
  std::string transition;  // triggered|acknowledged|resolved|escalated|reminder|updated
  std::string status;      // triggered|acknowledged|resolved
  std::vector<alert_info> alerts;
  std::map<std::string, std::string> group_labels, common_labels, common_annotations;
  std::string external_url;
  std::string receiver;
  std::string group_key;
  std::int64_t at_ms = 0;
  std::string acknowledged_by, resolved_by, note;
};

// "<external_url>/incidents/<id>" (id percent-encoded), or "" when external_url is not an
// http(s) URL: channels then leave the link out rather than send a broken one.
std::string incident_url(const notification& n);

// The uppercase status tag used in subjects and fallback texts: "TRIGGERED", "ACKNOWLEDGED",
// "RESOLVED", "ESCALATED", "REMINDER" (from the transition; the status when it is unknown).
std::string transition_tag(const notification& n);

}  // namespace wk::notify
