#include <doctest/doctest.h>

#include "incidents/engine.hpp"

using namespace wk::incidents;

namespace {

alert_event fire(const std::string& fp, const std::string& name, std::int64_t at,
                 std::map<std::string, std::string> labels = {}) {
  alert_event e;
  e.fingerprint = fp;
  e.alertname = name;
  e.service = "api";
  e.labels = std::move(labels);
  e.labels["alertname"] = name;
  e.labels["service"] = "api";
  e.at_ms = e.starts_at_ms = at;
  return e;
}

alert_event clear(alert_event e, std::int64_t at) {
  e.firing = false;
  e.at_ms = at;
  return e;
}

bool has_kind(const change& c, const std::string& kind) {
  for (const auto& t : c.timeline)
    if (t.kind == kind) return true;
  return false;
}

}  // namespace

TEST_CASE("group keys split a service's alerts only by the configured labels") {
  settings s;
  auto e = fire("f1", "Down", 1, {{"instance", "a:1"}, {"severity", "critical"}});
  CHECK(group_key("api", group_labels(s, e)) == "api");
  s.group_by = {"instance", "missing"};
  CHECK(group_key("api", group_labels(s, e)) == "api/{instance=\"a:1\"}");
  e.labels["instance"] = "x\"y";
  CHECK(group_key("api", group_labels(s, e)) == "api/{instance=\"x\\\"y\"}");
}

TEST_CASE("severity labels are normalised and ranked") {
  CHECK(normalize_severity("CRITICAL") == "critical");
  CHECK(normalize_severity("page") == "critical");
  CHECK(normalize_severity("warn") == "warning");
  CHECK(normalize_severity("") == "error");
  CHECK(normalize_severity("bogus") == "error");
  CHECK(urgency("critical") < urgency("warning"));
}

TEST_CASE("an alert opens an incident, a second joins, both resolving auto-resolves") {
  settings s;
  change c;
  auto a = fire("f1", "Down", 1000, {{"severity", "warning"}});
  auto i = open_for_alert(7, s, a, "default", c);
  CHECK(i.state == status::triggered);
  CHECK(i.title == "Down on api");
  CHECK(i.severity == "warning");
  CHECK(i.escalation_policy == "default");
  REQUIRE(c.notify == std::vector<std::string>{"triggered"});
  CHECK(c.timeline.at(0).kind == "opened");

  auto b = fire("f2", "Slow", 2000, {{"severity", "critical"}});
  b.annotations["summary"] = "p99 high";
  auto c2 = apply_alert(i, s, b, false);
  CHECK(c2.changed);
  CHECK(c2.notify.empty());  // joining pages nobody again
  CHECK(i.alerts.size() == 2);
  CHECK(i.severity == "critical");  // raised by the worse alert
  CHECK(has_kind(c2, "alert_joined"));
  CHECK(has_kind(c2, "severity_changed"));

  // The same firing alert announced again (a restart) changes nothing.
  auto again = apply_alert(i, s, b, false);
  CHECK_FALSE(again.changed);

  auto c3 = apply_alert(i, s, clear(a, 3000), false);
  CHECK(i.state == status::triggered);
  CHECK(c3.notify.empty());
  auto c4 = apply_alert(i, s, clear(b, 4000), false);
  CHECK(i.state == status::resolved);
  CHECK(i.resolved_by == "system");
  CHECK(i.resolved_at_ms == 4000);
  CHECK(c4.notify == std::vector<std::string>{"resolved"});
  // A repeated resolve is a no-op.
  CHECK_FALSE(apply_alert(i, s, clear(b, 5000), false).changed);
}

TEST_CASE("auto_resolve off keeps the incident open for a human") {
  settings s;
  s.auto_resolve = false;
  change c;
  auto a = fire("f1", "Down", 1000);
  auto i = open_for_alert(1, s, a, "", c);
  apply_alert(i, s, clear(a, 2000), false);
  CHECK(i.state == status::triggered);
  CHECK_FALSE(i.alerts.front().firing);
}

TEST_CASE("a firing alert reopens a resolved incident with a fresh paging cycle") {
  settings s;
  change c;
  auto a = fire("f1", "Down", 1000);
  auto i = open_for_alert(1, s, a, "p", c);
  i.notified_receivers = {"slack"};
  i.escalated = {{0, 0}, {1, 0}};
  i.escalation_started_ms = 1000;
  acknowledge(i, "alice", "", 1500);
  apply_alert(i, s, clear(a, 2000), false);
  REQUIRE(i.state == status::resolved);
  auto r = apply_alert(i, s, fire("f1", "Down", 3000), false);
  CHECK(i.state == status::triggered);
  CHECK(i.reopen_count == 1);
  CHECK(i.acknowledged_by.empty());
  CHECK(i.resolved_at_ms == 0);
  CHECK(i.escalated.empty());
  CHECK(i.notified_receivers.empty());
  CHECK(r.notify == std::vector<std::string>{"triggered"});
  CHECK(has_kind(r, "reopened"));
  CHECK(i.alerts.size() == 1);
  CHECK(i.alerts.front().firing);
}

TEST_CASE("operator commands: idempotent repeats, refusals for impossible transitions") {
  settings s;
  change c;
  auto i = open_manual(3, "DB slow", "db", "WARNING", "users report timeouts", "bob", "", 100, c);
  CHECK(i.group_key == "manual/3");
  CHECK(i.severity == "warning");
  CHECK(i.created_by == "bob");
  CHECK(c.timeline.at(0).detail.at("description") == "users report timeouts");

  auto ack = acknowledge(i, "alice", "looking", 200);
  CHECK(ack.notify == std::vector<std::string>{"acknowledged"});
  CHECK(ack.timeline.at(0).detail.at("note") == "looking");
  CHECK(i.acknowledged_by == "alice");
  auto ack2 = acknowledge(i, "carol", "", 300);
  CHECK_FALSE(ack2.changed);
  CHECK(ack2.refused.empty());
  CHECK(i.acknowledged_by == "alice");

  CHECK(add_note(i, "alice", "restarted replica", 350).timeline.at(0).text == "restarted replica");
  CHECK(set_severity(i, "alice", "critical", 360).changed);
  CHECK_FALSE(set_severity(i, "alice", "critical", 370).changed);
  CHECK(reassign(i, "alice", "bob", 380).changed);
  CHECK(i.assignee == "bob");

  auto res = resolve(i, "alice", "fixed", 400);
  CHECK(res.notify == std::vector<std::string>{"resolved"});
  CHECK(i.resolved_by == "alice");
  CHECK_FALSE(resolve(i, "alice", "", 500).changed);
  CHECK_FALSE(acknowledge(i, "alice", "", 600).refused.empty());
  CHECK_FALSE(reassign(i, "alice", "carol", 600).refused.empty());
  CHECK(i.updated_at_ms == 400);
}

TEST_CASE("a manual incident does not auto-resolve and dependency-related alerts do not page") {
  settings s;
  change c;
  auto db = fire("d1", "DbDown", 1000);
  db.service = "db";
  auto i = open_for_alert(9, s, db, "", c);
  auto api = fire("a1", "ApiDown", 1100);
  auto r = apply_alert(i, s, api, true);
  CHECK(r.notify.empty());
  CHECK(has_kind(r, "related_alert_joined"));
  CHECK(i.alerts.back().related);
  CHECK(i.severity == "error");
  // Resolving db's own alert resolves the incident although the related one still fires ...
  apply_alert(i, s, clear(db, 2000), false);
  CHECK(i.state == status::resolved);
  // ... and that alert is handed back to get an incident of its own.
  auto orphans = orphaned_related(i);
  REQUIRE(orphans.size() == 1);
  CHECK(orphans.front()->fingerprint == "a1");
}

TEST_CASE("the alert list is bounded") {
  settings s;
  s.max_alerts = 2;
  change c;
  auto i = open_for_alert(1, s, fire("f0", "A", 1), "", c);
  apply_alert(i, s, fire("f1", "A", 2), false);
  auto r = apply_alert(i, s, fire("f2", "A", 3), false);
  CHECK(i.alerts.size() == 2);
  CHECK(r.changed);
  CHECK(r.timeline.at(0).text.find("not listed") != std::string::npos);
}
