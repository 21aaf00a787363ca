#include <doctest/doctest.h>

#include "watch/health_machine.hpp"

using namespace wk::watch;

TEST_CASE("first observation decides the state at once") {
  health_machine m(3, 2);
  auto t = m.observe(false, "refused");
  REQUIRE(t);
  CHECK(t->from == health_state::unknown);
  CHECK(t->to == health_state::down);
  CHECK(t->reason == "refused");
}

TEST_CASE("up flips to down only after failure_threshold consecutive failures") {
  health_machine m(3, 1);
  REQUIRE(m.observe(true, "ok"));
  CHECK_FALSE(m.observe(false, "x"));
  CHECK_FALSE(m.observe(false, "x"));
  CHECK_FALSE(m.observe(true, "ok"));  // a success resets the run
  CHECK_FALSE(m.observe(false, "x"));
  CHECK_FALSE(m.observe(false, "x"));
  auto t = m.observe(false, "timeout");
  REQUIRE(t);
  CHECK(t->to == health_state::down);
  CHECK(t->reason == "timeout");
  CHECK(m.state() == health_state::down);
}

TEST_CASE("down flips to up after success_threshold consecutive successes") {
  health_machine m(1, 2);
  REQUIRE(m.observe(false, "x"));
  CHECK_FALSE(m.observe(true, "ok"));
  CHECK_FALSE(m.observe(false, "x"));
  CHECK_FALSE(m.observe(true, "ok"));
  auto t = m.observe(true, "ok");
  REQUIRE(t);
  CHECK(t->from == health_state::down);
  CHECK(t->to == health_state::up);
}

TEST_CASE("thresholds below one behave as one") {
  health_machine m(0, -3);
  REQUIRE(m.observe(true, "ok"));
  REQUIRE(m.observe(false, "x"));
  REQUIRE(m.observe(true, "ok"));
}
