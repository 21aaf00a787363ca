#include "incidents/engine.hpp"

#include <algorithm>
#include <cctype>

namespace wk::incidents {
namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string quoted(const std::string& v) {
  std::string out = "\"";
  for (char c : v) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + '"';
}

timeline_entry entry(const incident& i, std::int64_t at_ms, std::string kind, std::string actor,
                     std::string text, std::map<std::string, std::string> detail = {}) {
  timeline_entry t;
  t.incident_id = i.id;
  t.at_ms = at_ms;
  t.kind = std::move(kind);
  t.actor = std::move(actor);
  t.text = std::move(text);
  t.detail = std::move(detail);
  return t;
}

std::string title_for(const alert_event& e) {
  for (const char* key : {"summary", "title"}) {
    auto it = e.annotations.find(key);
    if (it != e.annotations.end() && !it->second.empty()) return it->second.substr(0, 200);
  }
  std::string name = e.alertname.empty() ? "alert" : e.alertname;
  return (name + " on " + e.service).substr(0, 200);
}

incident_alert alert_of(const alert_event& e, bool related) {
  incident_alert a;
  a.fingerprint = e.fingerprint;
  a.alertname = e.alertname;
  a.service = e.service;
  a.labels = e.labels;
  a.annotations = e.annotations;
  a.firing = e.firing;
  a.value = e.value;
  a.starts_at_ms = e.starts_at_ms ? e.starts_at_ms : e.at_ms;
  a.ends_at_ms = e.firing ? 0 : e.at_ms;
  a.related = related;
  return a;
}

bool any_firing(const incident& i, bool include_related) {
  return std::any_of(i.alerts.begin(), i.alerts.end(), [&](const incident_alert& a) {
    return a.firing && (include_related || !a.related);
  });
}

void touch(incident& i, std::int64_t at_ms, change& c) {
  c.changed = true;
  i.updated_at_ms = std::max(i.updated_at_ms, at_ms);
}

// The most urgent severity of the firing alerts raises the incident's, never lowers it: an
// operator's choice or an earlier worse state stays visible.
void raise_severity(incident& i, const std::string& severity, std::int64_t at_ms, change& c) {
  if (urgency(severity) >= urgency(i.severity)) return;
  c.timeline.push_back(entry(i, at_ms, "severity_changed", "system",
                             "severity raised from " + i.severity + " to " + severity,
                             {{"from", i.severity}, {"to", severity}}));
  i.severity = severity;
}

void do_resolve(incident& i, const std::string& actor, const std::string& note,
                std::int64_t at_ms, change& c) {
  i.state = status::resolved;
  i.resolved_at_ms = at_ms;
  i.resolved_by = actor;
  std::map<std::string, std::string> detail;
  if (!note.empty()) detail["note"] = note;
  c.timeline.push_back(entry(i, at_ms, "resolved", actor,
                             actor == "system" ? "resolved automatically: every alert resolved"
                                               : "resolved by " + actor,
                             std::move(detail)));
  c.notify.push_back("resolved");
  touch(i, at_ms, c);
}

}  // namespace

std::map<std::string, std::string> group_labels(const settings& s, const alert_event& e) {
  std::map<std::string, std::string> out;
  out["service"] = e.service;
  for (const auto& name : s.group_by) {
    auto it = e.labels.find(name);
    if (it != e.labels.end() && !it->second.empty()) out[name] = it->second;
  }
  return out;
}

std::string group_key(const std::string& service, const std::map<std::string, std::string>& labels) {
  std::string inner;
  for (const auto& [name, value] : labels) {
    if (name == "service") continue;
    if (!inner.empty()) inner += ',';
    inner += name + "=" + quoted(value);
  }
  return inner.empty() ? service : service + "/{" + inner + "}";
}

std::string normalize_severity(const std::string& label) {
  const std::string s = lower(label);
  if (s == "critical" || s == "error" || s == "warning" || s == "info") return s;
  if (s == "page" || s == "fatal") return "critical";
  if (s == "warn" || s == "minor") return "warning";
  if (s == "none" || s == "debug") return "info";
  return "error";
}

int urgency(const std::string& severity) {
  int rank = 0;
  for (const auto known : severities) {
    if (severity == known) return rank;
    ++rank;
  }
  return 1;
}

incident open_for_alert(std::int64_t id, const settings& s, const alert_event& e,
                        const std::string& escalation_policy, change& out) {
  incident i;
  i.id = id;
  i.service = e.service;
  i.group_labels = group_labels(s, e);
  i.group_key = group_key(e.service, i.group_labels);
  i.title = title_for(e);
  auto sev = e.labels.find("severity");
  i.severity = normalize_severity(sev == e.labels.end() ? std::string() : sev->second);
  i.state = status::triggered;
  i.opened_at_ms = i.updated_at_ms = e.at_ms;
  i.escalation_policy = escalation_policy;
  i.alerts.push_back(alert_of(e, false));
  out.timeline.push_back(entry(i, e.at_ms, "opened", "system",
                               "opened by alert " + e.alertname,
                               {{"fingerprint", e.fingerprint}, {"alertname", e.alertname}}));
  out.notify.push_back("triggered");
  out.changed = true;
  return i;
}

incident open_manual(std::int64_t id, const std::string& title, const std::string& service,
                     const std::string& severity, const std::string& description,
                     const std::string& actor, const std::string& escalation_policy,
                     std::int64_t now_ms, change& out) {
  incident i;
  i.id = id;
  i.service = service;
  i.group_labels = {{"service", service}};
  // Manual incidents never absorb alerts: their key cannot collide with an alert group's.
  i.group_key = "manual/" + std::to_string(id);
  i.title = title;
  i.severity = normalize_severity(severity);
  i.opened_at_ms = i.updated_at_ms = now_ms;
  i.created_by = actor;
  i.escalation_policy = escalation_policy;
  std::map<std::string, std::string> detail;
  if (!description.empty()) detail["description"] = description;
  out.timeline.push_back(entry(i, now_ms, "opened", actor, "opened by " + actor, std::move(detail)));
  out.notify.push_back("triggered");
  out.changed = true;
  return i;
}

change apply_alert(incident& i, const settings& s, const alert_event& e, bool related) {
  change c;
  auto it = std::find_if(i.alerts.begin(), i.alerts.end(),
                         [&](const incident_alert& a) { return a.fingerprint == e.fingerprint; });
  if (!e.firing) {
    if (it == i.alerts.end() || !it->firing) return c;  // unknown or already resolved: a repeat
    it->firing = false;
    it->ends_at_ms = e.at_ms;
    it->value = e.value;
    c.timeline.push_back(entry(i, e.at_ms, "alert_resolved", "system",
                               "alert " + e.alertname + " resolved",
                               {{"fingerprint", e.fingerprint}, {"alertname", e.alertname},
                                {"service", e.service}}));
    touch(i, e.at_ms, c);
    if (s.auto_resolve && i.state != status::resolved && !any_firing(i, false) &&
        i.created_by.empty()) {
      do_resolve(i, "system", "", e.at_ms, c);
    }
    return c;
  }

  if (i.state == status::resolved) {
    // Reopen: same incident, same id, a fresh paging cycle.
    i.state = status::triggered;
    i.acknowledged_at_ms = i.resolved_at_ms = 0;
    i.acknowledged_by.clear();
    i.resolved_by.clear();
    ++i.reopen_count;
    i.escalation_started_ms = 0;
    i.escalated.clear();
    i.notified_receivers.clear();
    c.timeline.push_back(entry(i, e.at_ms, "reopened", "system",
                               "reopened by alert " + e.alertname,
                               {{"fingerprint", e.fingerprint},
                                {"reopen_count", std::to_string(i.reopen_count)}}));
    c.notify.push_back("triggered");
  }
  const bool known = it != i.alerts.end();
  if (known) {
    const bool was_firing = it->firing;
    const incident_alert fresh = alert_of(e, related && it->related);
    *it = fresh;
    if (was_firing && c.notify.empty()) {
      // A re-announcement of a firing alert (e.g. after a restart): nothing new happened.
      c.changed = c.changed || !c.timeline.empty();
      return c;
    }
  } else if (i.alerts.size() >= s.max_alerts) {
    c.timeline.push_back(entry(i, e.at_ms, "alert_joined", "system",
                               "alert " + e.alertname + " joined (not listed: the incident holds " +
                                 std::to_string(s.max_alerts) + " alerts)",
                               {{"fingerprint", e.fingerprint}, {"alertname", e.alertname}}));
    touch(i, e.at_ms, c);
    return c;
  } else {
    i.alerts.push_back(alert_of(e, related));
  }
  if (related) {
    c.timeline.push_back(entry(i, e.at_ms, "related_alert_joined", "system",
                               "alert " + e.alertname + " of dependent service " + e.service +
                                 " joined as related",
                               {{"fingerprint", e.fingerprint}, {"alertname", e.alertname},
                                {"service", e.service}}));
  } else {
    c.timeline.push_back(entry(i, e.at_ms, "alert_joined", "system",
                               "alert " + e.alertname + (known ? " fired again" : " joined"),
                               {{"fingerprint", e.fingerprint}, {"alertname", e.alertname},
                                {"service", e.service}}));
    auto sev = e.labels.find("severity");
    raise_severity(i, normalize_severity(sev == e.labels.end() ? std::string() : sev->second),
                   e.at_ms, c);
  }
  touch(i, e.at_ms, c);
  return c;
}

change acknowledge(incident& i, const std::string& actor, const std::string& note,
                   std::int64_t now_ms) {
  change c;
  if (i.state == status::resolved) {
    c.refused = "incident " + std::to_string(i.id) + " is resolved; it cannot be acknowledged";
    return c;
  }
  if (i.state == status::acknowledged) return c;
  i.state = status::acknowledged;
  i.acknowledged_at_ms = now_ms;
  i.acknowledged_by = actor;
  std::map<std::string, std::string> detail;
  if (!note.empty()) detail["note"] = note;
  c.timeline.push_back(entry(i, now_ms, "acknowledged", actor, "acknowledged by " + actor,
                             std::move(detail)));
  c.notify.push_back("acknowledged");
  touch(i, now_ms, c);
  return c;
}

change resolve(incident& i, const std::string& actor, const std::string& note, std::int64_t now_ms) {
  change c;
  if (i.state == status::resolved) return c;
  do_resolve(i, actor, note, now_ms, c);
  return c;
}

change add_note(incident& i, const std::string& actor, const std::string& text, std::int64_t now_ms) {
  change c;
  c.timeline.push_back(entry(i, now_ms, "note", actor, text));
  touch(i, now_ms, c);
  return c;
}

change set_severity(incident& i, const std::string& actor, const std::string& severity,
                    std::int64_t now_ms) {
  change c;
  const std::string next = normalize_severity(severity);
  if (next == i.severity) return c;
  c.timeline.push_back(entry(i, now_ms, "severity_changed", actor,
                             "severity changed from " + i.severity + " to " + next + " by " + actor,
                             {{"from", i.severity}, {"to", next}}));
  i.severity = next;
  touch(i, now_ms, c);
  return c;
}

change reassign(incident& i, const std::string& actor, const std::string& assignee,
                std::int64_t now_ms) {
  change c;
  if (i.state == status::resolved) {
    c.refused = "incident " + std::to_string(i.id) + " is resolved; it cannot be reassigned";
    return c;
  }
  if (assignee == i.assignee) return c;
  c.timeline.push_back(entry(i, now_ms, "reassigned", actor,
                             "assigned to " + assignee + " by " + actor,
                             {{"from", i.assignee}, {"to", assignee}}));
  i.assignee = assignee;
  touch(i, now_ms, c);
  return c;
}

std::vector<const incident_alert*> orphaned_related(const incident& i) {
  std::vector<const incident_alert*> out;
  for (const auto& a : i.alerts) {
    if (a.related && a.firing) out.push_back(&a);
  }
  return out;
}

}  // namespace wk::incidents
