#include "persistence/error.hpp"
#include "persistence/incident_store.hpp"
#include "persistence/migrations.hpp"
#include "tests/persistence/pg_test_support.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <string>

namespace wp = wk::persistence;
namespace wi = wk::incidents;
using wp::test::scratch_database;

namespace {

constexpr std::int64_t t0 = 1'767'225'600'123;  // 2026-01-01T00:00:00.123Z

wi::incident_alert alert(std::string fingerprint, std::string service) {
  wi::incident_alert a;
  a.fingerprint = std::move(fingerprint);
  a.alertname = "ServiceDown";
  a.service = std::move(service);
  a.labels = {{"alertname", "ServiceDown"}, {"service", a.service}};
  a.annotations = {{"summary", "down"}};
  a.value = 1;
  a.starts_at_ms = t0;
  return a;
}

wi::incident incident(std::int64_t id, std::string group, std::int64_t opened_ms) {
  wi::incident i;
  i.id = id;
  i.group_key = group;
  i.service = std::move(group);
  i.title = i.service + " is down";
  i.severity = "critical";
  i.opened_at_ms = opened_ms;
  i.updated_at_ms = opened_ms;
  i.version = 1;
  i.alerts = {alert("fp-" + std::to_string(id), i.service)};
  return i;
}

wi::timeline_entry entry(std::string kind, std::int64_t at_ms) {
  wi::timeline_entry e;
  e.at_ms = at_ms;
  e.kind = std::move(kind);
  e.actor = "system";
  e.text = e.kind;
  return e;
}

wp::outbox_entry outbox(std::string dedup_key, std::int64_t next_attempt_ms) {
  wp::outbox_entry o;
  o.receiver = "ops-slack";
  o.channel = "slack";
  o.transition = "triggered";
  o.dedup_key = std::move(dedup_key);
  o.delivery_key = o.dedup_key;
  o.target = "http://127.0.0.1:1/hook";
  o.body = "{\"text\":\"down\"}";
  o.created_ms = next_attempt_ms;
  o.next_attempt_ms = next_attempt_ms;
  return o;
}

// A change that opens (or rewrites) one incident with no expectations about the stored row.
wp::incident_change opening(const wi::incident& i) {
  wp::incident_change c;
  c.incident = i;
  c.timeline = {entry("opened", i.opened_at_ms)};
  return c;
}

std::string count(const scratch_database& db, const std::string& table, std::int64_t id) {
  return db.scalar("SELECT count(*) FROM " + table + " WHERE incident_id = " + std::to_string(id));
}

}  // namespace

TEST_CASE("incident_store round-trips every field, unicode and empty maps included") {
  const scratch_database db;
  wp::apply_migrations(db.url());
  wp::incident_store store(db.url());
  CHECK(store.max_id() == 0);
  CHECK_FALSE(store.get(1).has_value());

  wi::incident i = incident(7, "api/{region=\"eu\"}", t0);
  i.service = "api";
  i.title = "Ünïcödé 🚨 \"quoted\" \\ back\nslash";
  i.severity = "warning";
  i.state = wi::status::acknowledged;
  i.group_labels = {{"region", "eu"}, {"ключ", "значение"}};
  i.updated_at_ms = t0 + 5000;
  i.acknowledged_at_ms = t0 + 4000;
  i.acknowledged_by = "alice";
  i.assignee = "bob";
  i.created_by = "token-ops";
  i.escalation_policy = "default";
  i.escalation_started_ms = t0 + 1;
  i.escalated = {{0, 0}, {1, 2}};
  i.reopen_count = 3;
  i.notified_receivers = {"ops-slack", "user:alice:email"};
  i.related_to = 5;
  i.version = 42;
  auto second = alert("fp-empty", "db");
  second.alertname = "";
  second.labels = {};
  second.annotations = {};
  second.firing = false;
  second.value = -0.25;
  second.ends_at_ms = t0 + 3000;
  second.related = true;
  auto nan = alert("fp-nan", "api");
  nan.value = std::numeric_limits<double>::quiet_NaN();
  auto inf = alert("fp-inf", "api");
  inf.value = -std::numeric_limits<double>::infinity();
  i.alerts.push_back(second);
  i.alerts.push_back(nan);
  i.alerts.push_back(inf);

  wp::incident_change c;
  c.incident = i;
  auto opened = entry("opened", t0);
  opened.detail = {{"fingerprint", "fp-7"}, {"ü", "✓"}};
  c.timeline = {opened, entry("acknowledged", t0 + 4000)};
  auto o = outbox("7:ops-slack:triggered:0", t0 + 10);
  o.body = "{\"text\":\"Ünïcödé 🚨\"}\n";
  o.delivery_key = "7:triggered:0";
  o.attempts = 2;
  o.last_status = 503;
  o.last_error = "Service Unavailable";
  c.outbox = {o};
  c.audit = wp::audit_entry{t0 + 4000, "token-ops", "responder", "incident.acknowledge", "7",
                            {{"note", "on it ✓"}}};
  store.commit(c);

  const auto got = store.get(7);
  REQUIRE(got.has_value());
  CHECK(got->id == 7);
  CHECK(got->group_key == i.group_key);
  CHECK(got->service == "api");
  CHECK(got->title == i.title);
  CHECK(got->severity == "warning");
  CHECK(got->state == wi::status::acknowledged);
  CHECK(got->group_labels == i.group_labels);
  CHECK(got->opened_at_ms == t0);
  CHECK(got->updated_at_ms == t0 + 5000);
  CHECK(got->acknowledged_at_ms == t0 + 4000);
  CHECK(got->acknowledged_by == "alice");
  CHECK(got->resolved_at_ms == 0);
  CHECK(got->resolved_by.empty());
  CHECK(got->assignee == "bob");
  CHECK(got->created_by == "token-ops");
  CHECK(got->escalation_policy == "default");
  CHECK(got->escalation_started_ms == t0 + 1);
  CHECK(got->escalated == i.escalated);
  CHECK(got->reopen_count == 3);
  CHECK(got->notified_receivers == i.notified_receivers);
  CHECK(got->related_to == 5);
  CHECK(got->version == 42);
  REQUIRE(got->alerts.size() == 4);
  CHECK(got->alerts[0].fingerprint == "fp-7");  // the order given, not sorted
  CHECK(got->alerts[0].labels == i.alerts[0].labels);
  CHECK(got->alerts[0].annotations == i.alerts[0].annotations);
  CHECK(got->alerts[0].firing);
  CHECK(got->alerts[0].ends_at_ms == 0);
  const auto& empty = got->alerts[1];
  CHECK(empty.fingerprint == "fp-empty");
  CHECK(empty.alertname.empty());
  CHECK(empty.service == "db");
  CHECK(empty.labels.empty());
  CHECK(empty.annotations.empty());
  CHECK_FALSE(empty.firing);
  CHECK(empty.value == -0.25);
  CHECK(empty.starts_at_ms == t0);
  CHECK(empty.ends_at_ms == t0 + 3000);
  CHECK(empty.related);
  CHECK(std::isnan(got->alerts[2].value));
  CHECK(got->alerts[3].value == -std::numeric_limits<double>::infinity());

  const auto timeline = store.timeline(7);
  REQUIRE(timeline.size() == 2);
  CHECK(timeline[0].incident_id == 7);
  CHECK(timeline[0].kind == "opened");
  CHECK(timeline[0].at_ms == t0);
  CHECK(timeline[0].actor == "system");
  CHECK(timeline[0].detail == opened.detail);
  CHECK(timeline[1].kind == "acknowledged");
  CHECK(timeline[1].detail.empty());

  const auto rows = store.outbox_for(7);
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].id > 0);
  CHECK(rows[0].incident_id == 7);
  CHECK(rows[0].receiver == "ops-slack");
  CHECK(rows[0].channel == "slack");
  CHECK(rows[0].transition == "triggered");
  CHECK(rows[0].dedup_key == o.dedup_key);
  CHECK(rows[0].delivery_key == "7:triggered:0");
  CHECK(rows[0].target == o.target);
  CHECK(rows[0].body == o.body);
  CHECK(rows[0].state == "pending");
  CHECK(rows[0].attempts == 2);
  CHECK(rows[0].created_ms == t0 + 10);
  CHECK(rows[0].next_attempt_ms == t0 + 10);
  CHECK(rows[0].delivered_ms == 0);
  CHECK(rows[0].last_status == 503);
  CHECK(rows[0].last_error == "Service Unavailable");

  std::size_t total = 0;
  const auto audit = store.audit_log(10, 0, &total);
  CHECK(total == 1);
  REQUIRE(audit.size() == 1);
  CHECK(audit[0].at_ms == t0 + 4000);
  CHECK(audit[0].actor == "token-ops");
  CHECK(audit[0].role == "responder");
  CHECK(audit[0].action == "incident.acknowledge");
  CHECK(audit[0].target == "7");
  CHECK(audit[0].detail.at("note") == "on it ✓");

  const auto open = store.open_incidents();
  REQUIRE(open.size() == 1);
  CHECK(open[0].alerts.size() == 4);
  CHECK(store.max_id() == 7);
}

TEST_CASE("incident_store replaces an incident's alerts on every commit") {
  const scratch_database db;
  wp::apply_migrations(db.url());
  wp::incident_store store(db.url());
  auto i = incident(1, "api", t0);
  i.alerts = {alert("a", "api"), alert("b", "api")};
  store.commit(opening(i));

  auto b = alert("b", "api");
  b.firing = false;
  b.ends_at_ms = t0 + 60'000;
  b.labels["extra"] = "x";
  i.alerts = {alert("c", "api"), b};
  i.version = 2;
  wp::incident_change c;
  c.incident = i;
  c.expect_version = 1;
  store.commit(c);

  const auto got = store.get(1);
  REQUIRE(got.has_value());
  REQUIRE(got->alerts.size() == 2);
  CHECK(got->alerts[0].fingerprint == "c");
  CHECK(got->alerts[1].fingerprint == "b");
  CHECK_FALSE(got->alerts[1].firing);
  CHECK(got->alerts[1].ends_at_ms == t0 + 60'000);
  CHECK(got->alerts[1].labels.at("extra") == "x");
  CHECK(count(db, "incident_alerts", 1) == "2");
  CHECK(count(db, "incident_timeline", 1) == "1");  // the second change added no entry

  i.alerts.clear();
  i.version = 3;
  store.commit({i, {}, {}, {}, 2});
  CHECK(store.get(1)->alerts.empty());
  CHECK(count(db, "incident_alerts", 1) == "0");
}

TEST_CASE("incident_store allows one unresolved incident per group and commits all or nothing") {
  const scratch_database db;
  wp::apply_migrations(db.url());
  wp::incident_store store(db.url());
  store.commit(opening(incident(1, "api", t0)));

  auto second = opening(incident(2, "api", t0 + 1000));
  second.outbox = {outbox("2:ops-slack:triggered:0", t0 + 1000)};
  second.audit = wp::audit_entry{t0, "ops", "responder", "incident.create", "2", {}};
  CHECK_THROWS_AS(store.commit(second), wp::group_conflict);
  CHECK_THROWS_WITH_AS(store.commit(second), doctest::Contains("already has an unresolved"),
                       wp::error);
  CHECK_FALSE(store.get(2).has_value());
  CHECK(count(db, "incident_timeline", 2) == "0");
  CHECK(count(db, "incident_alerts", 2) == "0");
  CHECK(db.scalar("SELECT count(*) FROM notification_outbox") == "0");
  CHECK(db.scalar("SELECT count(*) FROM audit_log") == "0");

  // Once the first is resolved, the group may open again; the store is still usable.
  auto first = incident(1, "api", t0);
  first.state = wi::status::resolved;
  first.resolved_at_ms = t0 + 500;
  first.version = 2;
  store.commit({first, {entry("resolved", t0 + 500)}, {}, {}, 1});
  store.commit(second);
  CHECK(store.get(2).has_value());
  CHECK(store.outbox_for(2).size() == 1);
  const auto open = store.open_incidents();
  REQUIRE(open.size() == 1);
  CHECK(open[0].id == 2);
}

TEST_CASE("incident_store skips an outbox row whose dedup_key exists") {
  const scratch_database db;
  wp::apply_migrations(db.url());
  wp::incident_store store(db.url());
  auto c = opening(incident(3, "api", t0));
  auto first = outbox("3:ops-slack:triggered:0", t0);
  first.body = "first";
  auto repeat_in_batch = first;
  repeat_in_batch.body = "same batch";
  c.outbox = {first, repeat_in_batch};
  store.commit(c);

  // A replay of the same transition (e.g. after a crash before the actor heard back).
  auto replay = c;
  replay.incident.version = 2;
  replay.outbox[0].body = "second";
  replay.outbox.push_back(outbox("3:pd:triggered:0", t0));
  replay.outbox.back().receiver = "pd";
  store.commit(replay);

  const auto rows = store.outbox_for(3);
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].dedup_key == "3:ops-slack:triggered:0");
  CHECK(rows[0].body == "first");
  CHECK(rows[1].receiver == "pd");
  CHECK(store.get(3)->version == 2);  // the rest of the change was applied
}

TEST_CASE("incident_store rejects a change made against another version, writing nothing") {
  const scratch_database db;
  wp::apply_migrations(db.url());
  wp::incident_store store(db.url());

  auto missing = opening(incident(4, "api", t0));
  missing.expect_version = 3;  // the writer thinks it exists
  CHECK_THROWS_AS(store.commit(missing), wp::version_conflict);
  CHECK_FALSE(store.get(4).has_value());
  CHECK(count(db, "incident_timeline", 4) == "0");

  auto create = opening(incident(4, "api", t0));
  create.expect_version = 0;  // none exists yet
  store.commit(create);
  CHECK(store.get(4)->version == 1);

  auto stale = create;  // a second creator lost the race
  stale.incident.title = "stale";
  stale.outbox = {outbox("4:x:triggered:0", t0)};
  CHECK_THROWS_WITH_AS(store.commit(stale), doctest::Contains("stored version is not 0"),
                       wp::version_conflict);
  CHECK(store.get(4)->title == "api is down");
  CHECK(store.outbox_for(4).empty());
  CHECK(count(db, "incident_timeline", 4) == "1");

  auto ack = create;
  ack.incident.state = wi::status::acknowledged;
  ack.incident.version = 2;
  ack.expect_version = 1;
  ack.timeline = {entry("acknowledged", t0 + 1)};
  store.commit(ack);
  CHECK(store.get(4)->state == wi::status::acknowledged);
  CHECK_THROWS_AS(store.commit(ack), wp::version_conflict);  // replayed: version is now 2
  CHECK(count(db, "incident_timeline", 4) == "2");
}

TEST_CASE("incident_store lists with filters, a total and pages, newest opened first") {
  const scratch_database db;
  wp::apply_migrations(db.url());
  wp::incident_store store(db.url());
  // 12 incidents: services api/db alternating, one opened per minute; every third resolved,
  // every fourth warning.
  for (int n = 1; n <= 12; ++n) {
    auto i = incident(n, (n % 2 ? "api" : "db") + std::string("/") + std::to_string(n),
                      t0 + n * 60'000);
    i.service = n % 2 ? "api" : "db";
    if (n % 3 == 0) {
      i.state = wi::status::resolved;
      i.resolved_at_ms = i.opened_at_ms + 1000;
    }
    if (n % 4 == 0) i.severity = "warning";
    store.commit(opening(i));
  }
  const auto ids = [](const wp::incident_page& page) {
    std::vector<std::int64_t> out;
    for (const auto& i : page.incidents) out.push_back(i.id);
    return out;
  };

  wp::incident_query q;
  auto page = store.list(q);
  CHECK(page.total == 12);
  REQUIRE(page.incidents.size() == 12);
  CHECK(page.incidents.front().id == 12);
  CHECK(page.incidents.back().id == 1);
  CHECK(page.incidents.front().alerts.size() == 1);

  q.limit = 5;
  q.offset = 5;
  page = store.list(q);
  CHECK(page.total == 12);
  CHECK(ids(page) == std::vector<std::int64_t>{7, 6, 5, 4, 3});
  q.offset = 100;
  page = store.list(q);
  CHECK(page.total == 12);
  CHECK(page.incidents.empty());
  q.offset = std::numeric_limits<std::size_t>::max();
  CHECK(store.list(q).incidents.empty());
  q.limit = 0;
  q.offset = 0;
  page = store.list(q);
  CHECK(page.total == 12);
  CHECK(page.incidents.empty());

  q = {};
  q.service = "api";
  CHECK(ids(store.list(q)) == std::vector<std::int64_t>{11, 9, 7, 5, 3, 1});
  q.statuses = {"resolved"};
  CHECK(ids(store.list(q)) == std::vector<std::int64_t>{9, 3});
  q.statuses = {"triggered", "acknowledged"};
  CHECK(store.list(q).total == 4);
  q = {};
  q.severity = "warning";
  CHECK(ids(store.list(q)) == std::vector<std::int64_t>{12, 8, 4});
  q = {};
  q.since_ms = t0 + 3 * 60'000;
  q.until_ms = t0 + 5 * 60'000;  // both bounds inclusive
  CHECK(ids(store.list(q)) == std::vector<std::int64_t>{5, 4, 3});
  q.since_ms = t0 + 11 * 60'000;
  q.until_ms = 0;
  CHECK(ids(store.list(q)) == std::vector<std::int64_t>{12, 11});

  q = {};
  q.statuses = {"open"};
  CHECK_THROWS_WITH_AS(store.list(q), doctest::Contains("triggered|acknowledged|resolved"),
                       wp::error);
  q = {};
  q.since_ms = -1;
  CHECK_THROWS_AS(store.list(q), wp::error);
}

TEST_CASE("incident_store hands out due notifications earliest first and knows the next one") {
  const scratch_database db;
  wp::apply_migrations(db.url());
  wp::incident_store store(db.url());
  CHECK_FALSE(store.next_outbox_due_ms().has_value());
  CHECK(store.due_outbox(t0 + 1'000'000, 10).empty());

  auto c = opening(incident(1, "api", t0));
  c.outbox = {outbox("late", t0 + 3000), outbox("early", t0 + 1000), outbox("mid", t0 + 2000),
              outbox("tie", t0 + 1000)};
  auto done = outbox("done", t0);
  done.state = "delivered";
  done.delivered_ms = t0;
  c.outbox.push_back(done);
  store.commit(c);

  CHECK(store.next_outbox_due_ms() == t0 + 1000);
  CHECK(store.due_outbox(t0 + 999, 10).empty());
  auto due = store.due_outbox(t0 + 2000, 10);
  REQUIRE(due.size() == 3);
  CHECK(due[0].dedup_key == "early");
  CHECK(due[1].dedup_key == "tie");  // same time: insertion order
  CHECK(due[2].dedup_key == "mid");
  CHECK(store.due_outbox(t0 + 5000, 2).size() == 2);
  CHECK(store.due_outbox(t0 + 5000, 0).empty());
  CHECK(store.due_outbox(std::numeric_limits<std::int64_t>::max(), 100).size() == 4);

  for (const auto& row : store.due_outbox(t0 + 2000, 10)) {
    CHECK(store.mark_retry(row.id, 1, t0 + 10'000, 500, "HTTP 500"));
  }
  CHECK(store.next_outbox_due_ms() == t0 + 3000);
  due = store.due_outbox(t0 + 10'000, 10);
  REQUIRE(due.size() == 4);
  CHECK(due[0].dedup_key == "late");
  CHECK(due[1].attempts == 1);
  CHECK(due[1].last_status == 500);
  CHECK(due[1].last_error == "HTTP 500");
}

TEST_CASE("incident_store marks notifications delivered, retried or failed with a timeline entry") {
  const scratch_database db;
  wp::apply_migrations(db.url());
  wp::incident_store store(db.url());
  auto c = opening(incident(9, "api", t0));
  c.outbox = {outbox("a", t0), outbox("b", t0), outbox("c", t0)};
  store.commit(c);
  auto rows = store.outbox_for(9);
  REQUIRE(rows.size() == 3);

  auto notified = entry("notified", t0 + 100);
  notified.actor = "ops-slack";
  notified.detail = {{"channel", "slack"}};
  notified.incident_id = 12345;  // ignored: the entry goes to the row's incident
  CHECK(store.mark_delivered(rows[0].id, t0 + 100, 200, notified));
  CHECK_FALSE(store.mark_delivered(rows[0].id, t0 + 200, 200, notified));  // already delivered

  CHECK(store.mark_retry(rows[1].id, 3, t0 + 5000, 0, std::string("bad \xff\0 byte", 11)));
  const std::string long_error(10'000, 'e');
  CHECK(store.mark_failed(rows[1].id, 4, 429, long_error, entry("notification_failed", t0 + 6000)));
  CHECK_FALSE(store.mark_retry(rows[1].id, 5, t0 + 9000, 500, "late"));

  CHECK_THROWS_WITH_AS(store.mark_delivered(999'999, t0, 200, notified),
                       doctest::Contains("does not exist"), wp::error);
  CHECK_THROWS_AS(store.mark_retry(999'999, 1, t0, 0, ""), wp::error);
  CHECK_THROWS_AS(store.mark_failed(rows[2].id, 1, 1000, "", notified), wp::error);  // status
  auto no_kind = notified;
  no_kind.kind.clear();
  CHECK_THROWS_AS(store.mark_delivered(rows[2].id, t0, 200, no_kind), wp::error);

  rows = store.outbox_for(9);
  CHECK(rows[0].state == "delivered");
  CHECK(rows[0].attempts == 1);
  CHECK(rows[0].delivered_ms == t0 + 100);
  CHECK(rows[0].last_status == 200);
  CHECK(rows[1].state == "failed");
  CHECK(rows[1].attempts == 4);
  CHECK(rows[1].last_status == 429);
  CHECK(rows[1].last_error.size() == wp::incident_store::max_error_bytes);
  CHECK(rows[1].next_attempt_ms == t0 + 5000);
  CHECK(rows[2].state == "pending");
  CHECK(rows[2].attempts == 0);

  const auto timeline = store.timeline(9);
  REQUIRE(timeline.size() == 3);
  CHECK(timeline[1].kind == "notified");
  CHECK(timeline[1].incident_id == 9);
  CHECK(timeline[1].actor == "ops-slack");
  CHECK(timeline[1].detail.at("channel") == "slack");
  CHECK(timeline[2].kind == "notification_failed");
  CHECK(timeline[2].at_ms == t0 + 6000);
  CHECK(store.timeline(12345).empty());
  CHECK(store.timeline(9, 2).front().kind == "notified");  // the newest two, oldest first
  CHECK(store.timeline(9, 0).empty());
  CHECK(store.due_outbox(t0 + 1'000'000, 10).size() == 1);
}

TEST_CASE("incident_store keeps an invalid error text as valid UTF-8") {
  const scratch_database db;
  wp::apply_migrations(db.url());
  wp::incident_store store(db.url());
  auto c = opening(incident(1, "api", t0));
  c.outbox = {outbox("k", t0)};
  store.commit(c);
  const auto id = store.outbox_for(1).at(0).id;
  constexpr char raw[] = "bad \xff\0 byte é";
  CHECK(store.mark_retry(id, 1, t0, 0, std::string(raw, sizeof raw - 1)));
  CHECK(store.outbox_for(1).at(0).last_error == "bad \xEF\xBF\xBD\xEF\xBF\xBD byte é");
  // A cut never splits a character.
  std::string accents;
  for (int n = 0; n < 3000; ++n) accents += "é";
  CHECK(store.mark_retry(id, 2, t0, 0, "x" + accents));
  const auto stored = store.outbox_for(1).at(0).last_error;
  CHECK(stored.size() == wp::incident_store::max_error_bytes - 1);
  CHECK(stored.substr(stored.size() - 2) == "é");
}

TEST_CASE("incident_store finds the newest incident of a group resolved within the window") {
  const scratch_database db;
  wp::apply_migrations(db.url());
  wp::incident_store store(db.url());
  for (int n = 1; n <= 3; ++n) {
    auto i = incident(n, "api", t0 + n * 1000);
    i.state = wi::status::resolved;
    i.resolved_at_ms = t0 + n * 10'000;
    store.commit(opening(i));
  }
  store.commit(opening(incident(4, "api", t0 + 40'000)));  // open: never a reopen candidate
  auto other = incident(5, "db", t0);
  other.state = wi::status::resolved;
  other.resolved_at_ms = t0 + 50'000;
  store.commit(opening(other));

  auto found = store.last_resolved("api", t0 + 5000);
  REQUIRE(found.has_value());
  CHECK(found->id == 3);
  CHECK(found->alerts.size() == 1);
  CHECK(store.last_resolved("api", t0 + 30'000)->id == 3);  // at the bound: included
  CHECK_FALSE(store.last_resolved("api", t0 + 30'001).has_value());
  CHECK_FALSE(store.last_resolved("cache", 0).has_value());
  CHECK(store.last_resolved("db", -5)->id == 5);
}

TEST_CASE("incident_store appends to the audit log and pages it newest first") {
  const scratch_database db;
  wp::apply_migrations(db.url());
  wp::incident_store store(db.url());
  for (int n = 0; n < 5; ++n) {
    store.audit({t0 + n, "token-" + std::to_string(n), "admin", "silence.create",
                 "s" + std::to_string(n), {{"n", std::to_string(n)}}});
  }
  std::size_t total = 0;
  auto page = store.audit_log(2, 1, &total);
  CHECK(total == 5);
  REQUIRE(page.size() == 2);
  CHECK(page[0].actor == "token-3");
  CHECK(page[1].actor == "token-2");
  CHECK(page[1].detail.at("n") == "2");
  CHECK(store.audit_log(10, 5, nullptr).empty());
  CHECK(store.audit_log(0, 0, &total).empty());
  CHECK(store.audit_log(10, std::numeric_limits<std::size_t>::max(), nullptr).empty());
  CHECK_THROWS_AS(store.audit({t0, "x", "admin", "", "", {}}), wp::error);  // no action
  CHECK_THROWS_AS(store.audit({t0, std::string("a\0b", 3), "admin", "x", "", {}}), wp::error);
}

TEST_CASE("incident_store refuses bad input before it reaches the database") {
  const scratch_database db;
  wp::apply_migrations(db.url());
  wp::incident_store store(db.url());
  const auto refused = [&](const wp::incident_change& c, const char* why) {
    CHECK_THROWS_WITH_AS(store.commit(c), doctest::Contains(why), wp::error);
  };
  auto c = opening(incident(1, "api", t0));

  auto bad = c;
  bad.incident.id = 0;
  refused(bad, "id must be positive");
  bad = c;
  bad.incident.group_key.clear();
  refused(bad, "group_key is empty");
  bad = c;
  bad.incident.severity = "page";
  refused(bad, "severity must be");
  bad = c;
  bad.incident.title = "bad \xC3";
  refused(bad, "title is not valid UTF-8");
  bad = c;
  bad.incident.title = std::string(wp::incident_store::max_text_bytes + 1, 'x');
  refused(bad, "title is longer than");
  bad = c;
  bad.incident.group_labels[std::string("k\0", 2)] = "v";
  refused(bad, "group_labels key contains a NUL byte");
  bad = c;
  bad.incident.opened_at_ms = -1;
  refused(bad, "opened_at_ms -1 is not a time");
  bad = c;
  bad.incident.alerts.push_back(bad.incident.alerts.front());
  refused(bad, "listed twice");
  bad = c;
  bad.incident.alerts.front().starts_at_ms = std::numeric_limits<std::int64_t>::max();
  refused(bad, "starts_at_ms");
  bad = c;
  bad.timeline.front().incident_id = 2;
  refused(bad, "timeline entry names incident 2");
  bad = c;
  bad.timeline.front().kind.clear();
  refused(bad, "timeline kind is empty");
  bad = c;
  bad.outbox = {outbox("k", t0)};
  bad.outbox[0].channel = "sms";
  refused(bad, "outbox channel must be one of slack|pagerduty|webhook|email");
  bad.outbox[0].channel = "slack";
  bad.outbox[0].transition = "reopened";
  refused(bad, "outbox transition");
  bad.outbox[0].transition = "triggered";
  bad.outbox[0].dedup_key.clear();
  refused(bad, "dedup_key is empty");
  bad = c;
  bad.timeline.assign(wp::incident_store::max_entries + 1, entry("note", t0));
  refused(bad, "more than");
  bad = c;
  bad.audit = wp::audit_entry{};
  refused(bad, "audit action is empty");

  CHECK(store.max_id() == 0);
  CHECK(db.scalar("SELECT count(*) FROM incident_timeline") == "0");
  store.commit(c);  // the good change still goes through
  CHECK(store.max_id() == 1);
}

TEST_CASE("incident_store reconnects after the server ends its session") {
  const scratch_database db;
  wp::apply_migrations(db.url());
  wp::incident_store store(db.url());
  store.commit(opening(incident(1, "api", t0)));
  db.terminate_other_sessions();
  auto i = incident(1, "api", t0);
  i.version = 2;
  store.commit({i, {entry("note", t0 + 1)}, {}, {}, 1});
  CHECK(store.get(1)->version == 2);
  CHECK(store.timeline(1).size() == 2);
}

TEST_CASE("incident_store reports an unreachable database as persistence::error") {
  wp::incident_store store("postgresql://postgres@127.0.0.1:1/none?connect_timeout=2");
  CHECK_THROWS_WITH_AS(store.max_id(), doctest::Contains("cannot connect"), wp::error);
}

TEST_CASE("incident_store commits a batch in one transaction, refusing changes one by one") {
  const scratch_database db;
  wp::apply_migrations(db.url());
  wp::incident_store store(db.url());
  CHECK(store.commit_batch({}).empty());
  store.commit(opening(incident(1, "db", t0)));

  std::vector<wp::incident_change> batch;
  auto open_api = opening(incident(2, "api", t0));  // committed
  open_api.expect_version = 0;
  open_api.outbox = {outbox("2:ops-slack:triggered:0", t0)};
  batch.push_back(open_api);
  auto stale = opening(incident(1, "db", t0));  // stored version is 1
  stale.expect_version = 0;
  stale.outbox = {outbox("1:stale", t0)};
  batch.push_back(stale);
  auto invalid = opening(incident(3, "cache", t0));
  invalid.incident.severity = "loud";
  batch.push_back(invalid);
  auto duplicate = opening(incident(4, "api", t0));  // api is open since the first change
  duplicate.outbox = {outbox("4:dup", t0)};
  batch.push_back(duplicate);
  auto ack = open_api;  // sees the first change of its own batch
  ack.incident.state = wi::status::acknowledged;
  ack.incident.version = 2;
  ack.expect_version = 1;
  ack.timeline = {entry("acknowledged", t0 + 1)};
  ack.outbox = {outbox("2:ops-slack:acknowledged:0", t0 + 1)};
  batch.push_back(ack);

  using st = wp::commit_result::status;
  const auto results = store.commit_batch(batch);
  REQUIRE(results.size() == 5);
  CHECK(results[0].state == st::committed);
  CHECK(results[0].message.empty());
  CHECK(results[1].state == st::version_conflict);
  CHECK(results[1].message == "cannot commit incident 1: stored version is not 0");
  CHECK(results[2].state == st::invalid);
  CHECK(results[2].message.find("severity must be") != std::string::npos);
  CHECK(results[3].state == st::group_conflict);
  CHECK(results[4].state == st::committed);

  CHECK(store.get(2)->state == wi::status::acknowledged);
  CHECK(store.get(2)->version == 2);
  CHECK(store.timeline(2).size() == 2);
  CHECK(store.outbox_for(2).size() == 2);
  CHECK(store.get(1)->version == 1);
  CHECK(store.outbox_for(1).empty());
  CHECK(count(db, "incident_timeline", 1) == "1");
  CHECK_FALSE(store.get(3).has_value());
  CHECK_FALSE(store.get(4).has_value());
  CHECK(db.scalar("SELECT count(*) FROM notification_outbox") == "2");

  CHECK_THROWS_WITH_AS(
      store.commit_batch(std::vector<wp::incident_change>(wp::incident_store::max_batch + 1)),
      doctest::Contains("more than"), wp::error);
}

TEST_CASE("incident_store refuses a change too large to send as a whole") {
  const scratch_database db;
  wp::apply_migrations(db.url());
  wp::incident_store store(db.url());
  auto c = opening(incident(1, "api", t0));
  const std::string body(wp::incident_store::max_body_bytes, 'x');  // each one is allowed
  for (std::size_t n = 0; n * body.size() <= wp::incident_store::max_change_bytes; ++n) {
    c.outbox.push_back(outbox("k" + std::to_string(n), t0));
    c.outbox.back().body = body;
  }
  CHECK_THROWS_WITH_AS(store.commit(c), doctest::Contains("the change is larger than"),
                       wp::error);
  const auto results = store.commit_batch({c});
  REQUIRE(results.size() == 1);
  CHECK(results[0].state == wp::commit_result::status::invalid);
  CHECK(store.max_id() == 0);
}
