#include "persistence/alert_store.hpp"
#include "persistence/anomaly_store.hpp"
#include "persistence/error.hpp"
#include "persistence/migrations.hpp"
#include "tests/persistence/pg_test_support.hpp"

#include <doctest/doctest.h>

namespace wp = wk::persistence;
using wp::test::scratch_database;

namespace {

wp::alert_row row(std::string fp, std::string scope, std::string from, std::string to,
                  std::int64_t at_ms) {
  wp::alert_row r;
  r.fingerprint = std::move(fp);
  r.scope = std::move(scope);
  r.rule_group = "g";
  r.rule_name = "ServiceDown";
  r.service = r.scope;
  r.labels = {{"alertname", "ServiceDown"}, {"service", r.scope}, {"note", "quote \" and ü"}};
  r.annotations = {{"summary", "down"}};
  r.from_state = std::move(from);
  r.to_state = std::move(to);
  r.value = 1;
  r.active_at_ms = 1'700'000'000'000;
  r.at_ms = at_ms;
  if (r.to_state == "firing") r.fired_at_ms = at_ms;
  if (r.to_state == "inactive") r.resolved_at_ms = at_ms;
  return r;
}

}  // namespace

TEST_CASE("alert_store keeps pending/firing alerts current and every transition in history") {
  const scratch_database db;
  wp::apply_migrations(db.url());
  wp::alert_store store(db.url());
  const std::int64_t t0 = 1'700'000'000'000;

  store.record({row("a1", "api", "inactive", "pending", t0), row("b1", "db", "inactive", "firing", t0)});
  store.record({row("a1", "api", "pending", "firing", t0 + 1000)});

  auto api = store.current("api");
  REQUIRE(api.size() == 1);
  CHECK(api[0].to_state == "firing");
  CHECK(api[0].fired_at_ms == t0 + 1000);
  CHECK(api[0].active_at_ms == t0);
  CHECK(api[0].labels.at("note") == "quote \" and ü");
  CHECK(api[0].annotations.at("summary") == "down");
  CHECK(store.all_current().size() == 2);
  CHECK(store.current("").empty());

  store.record({row("a1", "api", "firing", "inactive", t0 + 2000)});
  CHECK(store.current("api").empty());
  // An update older than the row it would replace is ignored.
  auto stale = row("b1", "db", "firing", "pending", t0 - 5);
  store.record({stale});
  REQUIRE(store.current("db").size() == 1);
  CHECK(store.current("db")[0].to_state == "firing");
  store.record({row("b1", "db", "firing", "inactive", t0 + 10)});
  CHECK(store.current("db").empty());

  wp::alert_query q;
  q.service = "api";
  auto history = store.history(q);
  REQUIRE(history.size() == 3);
  CHECK(history[0].to_state == "inactive");
  CHECK(history[0].resolved_at_ms == t0 + 2000);
  CHECK(history[2].to_state == "pending");
  q.state = "firing";
  CHECK(store.history(q).size() == 1);
  q = {};
  q.since_ms = t0 + 1500;
  REQUIRE(store.history(q).size() == 1);  // only api's resolve at t0 + 2000
  CHECK(store.history(q)[0].fingerprint == "a1");
}

TEST_CASE("alert_store refuses rows that are not text or have an unknown state, writing nothing") {
  const scratch_database db;
  wp::apply_migrations(db.url());
  wp::alert_store store(db.url());
  auto bad = row("x", "api", "inactive", "exploded", 1);
  CHECK_THROWS_AS(store.record({row("ok", "api", "inactive", "pending", 1), bad}), wp::error);
  auto nul = row("y", "api", "inactive", "pending", 1);
  nul.labels["k"] = std::string("a\0b", 3);
  CHECK_THROWS_AS(store.record({nul}), wp::error);
  CHECK(store.all_current().empty());
}

TEST_CASE("anomaly_store keeps anomaly events newest first and filters them") {
  const scratch_database db;
  wp::apply_migrations(db.url());
  wp::anomaly_store store(db.url());
  const std::int64_t t0 = 1'700'000'000'000;
  store.record({{"api", "probe_duration_seconds", {{"check", "http"}}, 2.5, 0.97, t0},
                {"db", "up", {}, 0, 0.91, t0 + 1000}});
  auto all = store.list("", 0, 10);
  REQUIRE(all.size() == 2);
  CHECK(all[0].service == "db");
  CHECK(all[1].labels.at("check") == "http");
  CHECK(all[1].at_ms == t0);
  CHECK(store.list("api", 0, 10).size() == 1);
  CHECK(store.list("", t0 + 500, 10).size() == 1);
  CHECK_THROWS_AS(store.record({{"api", "x", {}, 1, 1.5, t0}}), wp::error);
}
