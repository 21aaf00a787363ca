#include "persistence/health_store.hpp"
#include "persistence/error.hpp"
#include "persistence/migrations.hpp"
#include "tests/persistence/pg_test_support.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <string>

namespace wp = wk::persistence;
using wp::test::scratch_database;

namespace {

wp::health_transition transition(std::string service, std::string check, std::string from,
                                 std::string to, std::int64_t at_ms, double latency = 12.5) {
  std::string reason = "status " + to;
  return {std::move(service),
          std::move(check),
          std::move(from),
          std::move(to),
          std::move(reason),
          latency,
          at_ms};
}

}  // namespace

TEST_CASE("health_store records history and keeps the current state per check") {
  const scratch_database db;
  wp::apply_migrations(db.url());
  wp::health_store store(db.url());

  const std::int64_t t0 = 1'700'000'000'123;
  const auto id1 = store.record(transition("api", "http", "", "up", t0));
  const auto id2 = store.record(transition("api", "http", "up", "down", t0 + 10'001, 2000.25));
  const auto id3 = store.record(transition("api", "tcp", "", "up", t0 + 5));
  store.record(transition("db", "tcp", "", "up", t0 + 7));
  CHECK(id1 < id2);
  CHECK(id2 < id3);

  const auto history = store.history("api", 10);
  REQUIRE(history.size() == 3);
  CHECK(history[0].check_name == "http");
  CHECK(history[0].from_state == "up");
  CHECK(history[0].to_state == "down");
  CHECK(history[0].reason == "status down");
  CHECK(history[0].latency_ms == 2000.25);
  CHECK(history[0].at_ms == t0 + 10'001);  // millisecond exact
  CHECK(history[1].check_name == "tcp");
  CHECK(history[2].at_ms == t0);
  CHECK(store.history("api", 1).size() == 1);
  CHECK(store.history("api", 1)[0].to_state == "down");
  CHECK(store.history("api", 0).empty());
  CHECK(store.history("nobody", 10).empty());

  const auto current = store.current();
  REQUIRE(current.size() == 3);
  CHECK(current[0].service == "api");
  CHECK(current[0].check_name == "http");
  CHECK(current[0].from_state == "up");
  CHECK(current[0].to_state == "down");
  CHECK(current[0].latency_ms == 2000.25);
  CHECK(current[0].at_ms == t0 + 10'001);
  CHECK(current[1].check_name == "tcp");
  CHECK(current[2].service == "db");
}

TEST_CASE("a late, older transition joins the history but does not move the current state") {
  const scratch_database db;
  wp::apply_migrations(db.url());
  wp::health_store store(db.url());
  store.record(transition("api", "http", "up", "down", 2'000));
  store.record(transition("api", "http", "", "up", 1'000));
  CHECK(store.history("api", 10).size() == 2);
  const auto current = store.current();
  REQUIRE(current.size() == 1);
  CHECK(current[0].to_state == "down");
  CHECK(current[0].at_ms == 2'000);
  // Equal timestamps: the later record wins.
  store.record(transition("api", "http", "down", "up", 2'000));
  CHECK(store.current()[0].to_state == "up");
}

TEST_CASE("health_store rejects bad input and survives a dropped connection") {
  const scratch_database db;
  wp::apply_migrations(db.url());
  wp::health_store store(db.url());
  CHECK_THROWS_WITH_AS(store.record(transition("", "http", "", "up", 1)), "service is empty",
                       wp::error);
  CHECK_THROWS_WITH_AS(store.record(transition("api", "", "", "up", 1)), "check_name is empty",
                       wp::error);
  CHECK_THROWS_WITH_AS(store.record(transition("api", "http", "", "up", 1, std::nan(""))),
                       "latency_ms is not a finite number", wp::error);
  CHECK_THROWS_WITH_AS(store.record(transition("api", std::string("a\0b", 3), "", "up", 1)),
                       doctest::Contains("contains a NUL byte"), wp::error);
  auto long_reason = transition("api", "http", "", "up", 1);
  long_reason.reason.assign(5000, 'r');
  CHECK_THROWS_WITH_AS(store.record(long_reason), doctest::Contains("longer than 4096 bytes"),
                       wp::error);
  // Out of timestamptz's range: PostgreSQL's own error, reported as persistence::error.
  CHECK_THROWS_WITH_AS(
      store.record(transition("api", "http", "", "up", std::numeric_limits<std::int64_t>::max())),
      doctest::Contains("cannot record health of api/http"), wp::error);
  CHECK(store.current().empty());

  store.record(transition("api", "http", "", "up", 1));
  db.terminate_other_sessions();
  store.record(transition("api", "http", "up", "down", 2));
  CHECK(db.scalar("SELECT count(*) FROM health_transitions") == "2");
  CHECK(store.current().at(0).to_state == "down");
}
