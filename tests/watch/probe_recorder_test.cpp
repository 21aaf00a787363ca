#include <doctest/doctest.h>

#include "watch/probe_recorder.hpp"

using wk::tsdb::match_op;
using wk::tsdb::matcher;

TEST_CASE("probe_recorder writes Blackbox-style series with service, check and service labels") {
  wk::tsdb::head head;
  wk::watch::probe_recorder rec("api", "http", {{"team", "payments"}});
  CHECK(rec.record(head, 1000, {true, 0.012, 200, 30.5}) == 0);
  CHECK(rec.record(head, 2000, {false, 5.0, std::nullopt, std::nullopt}) == 0);

  auto success = head.select({matcher("__name__", match_op::equal, "probe_success")}, 0, 3000);
  REQUIRE(success.size() == 1);
  CHECK(success[0].labels.to_string() == R"(probe_success{check="http",service="api",team="payments"})");
  REQUIRE(success[0].samples.size() == 2);
  CHECK(success[0].samples[0].v == 1.0);
  CHECK(success[0].samples[1].v == 0.0);

  auto duration = head.select({matcher("__name__", match_op::equal, "probe_duration_seconds")}, 0, 3000);
  REQUIRE(duration.size() == 1);
  CHECK(duration[0].samples[1].v == 5.0);
  auto status = head.select({matcher("__name__", match_op::equal, "probe_http_status_code")}, 0, 3000);
  REQUIRE(status.size() == 1);
  CHECK(status[0].samples.size() == 1);  // no status for the failed transport
  CHECK(head.select({matcher("__name__", match_op::equal, "probe_tls_days_left")}, 0, 3000)[0].samples[0].v == 30.5);
}

TEST_CASE("probe_recorder reports refused samples and recovers after gc dropped its series") {
  wk::tsdb::head_options o;
  o.retention_ms = 10'000;
  wk::tsdb::head head(o);
  wk::watch::probe_recorder rec("db", "tcp", {});
  CHECK(rec.record(head, 5000, {true, 0.001, std::nullopt, std::nullopt}) == 0);
  CHECK(rec.record(head, 4000, {true, 0.001, std::nullopt, std::nullopt}) == 2);  // out of order
  head.gc(100'000);  // drops both series
  CHECK(rec.record(head, 100'500, {true, 0.002, std::nullopt, std::nullopt}) == 0);
  auto s = head.select({matcher("service", match_op::equal, "db")}, 0, 200'000);
  CHECK(s.size() == 2);
}
