#include <doctest/doctest.h>

#include "promql/promqltest.hpp"

using wk::promql::run_promql_test;
using wk::promql::run_promql_test_file;
using wk::promql::test_report;

namespace {

test_report run_shared(const char* name) {
  auto r = run_promql_test_file(std::string(WK_SHARED_DIR) + "/data/promql/" + name);
  for (const auto& f : r.failures) MESSAGE(f);
  MESSAGE(std::string(name) << ": " << r.passed << " passed, " << r.failed << " failed, " << r.skipped << " skipped");
  return r;
}

}  // namespace

// The counts reached today; a regression lowers them.
TEST_CASE("promqltest: shared literals.test") {
  const auto r = run_shared("literals.test");
  CHECK(r.passed >= 25);
  CHECK(r.failed == 0);
}

TEST_CASE("promqltest: shared selectors.test") {
  const auto r = run_shared("selectors.test");
  CHECK(r.passed >= 31);
  CHECK(r.failed == 0);
}

TEST_CASE("promqltest: expanding notation, range evals and expectations") {
  const auto r = run_promql_test(R"T(
# a comment
load 1m
  a{x="1"} 1+1x3 _x2 stale 10x1
  b -2-2x2 1e1 Inf -Inf NaN

eval range from 0 to 7m step 1m a
  a{x="1"} 1 2 3 4 4 4 _ 10

eval range from 0 to 5m step 1m b
  b -2 -4 -6 10 +Inf -Inf

eval instant at 6m b
  b NaN

eval instant at 0m nosuch(
  expect fail regex: unknown function

eval_fail instant at 0m a +
  expected_fail_regexp .*

eval instant at 0m 1 + 1
  expect fail

eval range from 0 to 2m step 1m a
  a{x="1"} 1 2 4
)T",
                                   "notation");
  for (const auto& f : r.failures) MESSAGE(f);
  CHECK(r.passed == 5);
  CHECK(r.skipped == 0);
  REQUIRE(r.failed == 2);
  CHECK(r.failures[0].find("notation:22: 1 + 1: expected an error") == 0);
  CHECK(r.failures[1].find("notation:25: a: series a{x=\"1\"}: expected 4 @120000, got 3 @120000") == 0);
}

TEST_CASE("promqltest: native histograms and annotations are skipped, not failed") {
  const auto r = run_promql_test(R"T(
load 1m
  h {{schema:0 sum:1 count:1}}
  f 1

eval instant at 0m f
  f 1

clear
load 1m
  f 2

eval instant at 0m f
  f 2

eval instant at 0m f
  expect warn
  f 2

load_with_nhcb 1m
  g_bucket{le="1"} 1

eval instant at 0m f
  f 2
)T",
                                   "hist");
  for (const auto& f : r.failures) MESSAGE(f);
  CHECK(r.passed == 1);
  CHECK(r.skipped == 3);
  CHECK(r.failed == 0);
}

TEST_CASE("promqltest: malformed input is reported, never thrown") {
  const auto missing = run_promql_test_file("/nonexistent/file.test");
  CHECK(missing.failed == 1);
  const auto r = run_promql_test(R"T(
load 1m
  a{x=} 1
  b 1+1x99999999999

load zz
  c 1

bogus command

eval instant at never a
  a 1

eval sideways at 0 a
)T",
                                 "bad");
  CHECK(r.passed == 0);
  CHECK(r.failed == 6);
}
