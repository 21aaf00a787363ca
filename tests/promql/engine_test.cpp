#include <doctest/doctest.h>

#include <limits>
#include <string>

#include "promql/engine.hpp"
#include "promql/error.hpp"
#include "promql/promqltest.hpp"

using namespace wk::promql;

namespace {

// Expected values below are worked out by hand from Prometheus's definitions, not copied from
// this engine's output.
void expect_all_pass(const std::string& script, int cases) {
  const test_report r = run_promql_test(script, "inline");
  for (const auto& f : r.failures) MESSAGE(f);
  CHECK(r.failed == 0);
  CHECK(r.skipped == 0);
  CHECK(r.passed == cases);
}

const char* const http_data = R"T(
load 5m
  http_requests{job="api", instance="0", group="production"} 0+10x10
  http_requests{job="api", instance="1", group="production"} 0+20x10
  http_requests{job="api", instance="0", group="canary"} 0+30x10
  http_requests{job="api", instance="1", group="canary"} 0+40x10
  http_requests{job="app", instance="0", group="production"} 0+50x10
  http_requests{job="app", instance="1", group="production"} 0+60x10
  http_requests{job="app", instance="0", group="canary"} 0+70x10
  http_requests{job="app", instance="1", group="canary"} 0+80x10
)T";

}  // namespace

TEST_CASE("engine: aggregations") {
  expect_all_pass(std::string(http_data) + R"T(
eval instant at 50m sum by (job) (http_requests)
  {job="api"} 1000
  {job="app"} 2600

eval instant at 50m sum(http_requests) by (group)
  {group="production"} 1400
  {group="canary"} 2200

eval instant at 50m avg without (instance, group) (http_requests)
  {job="api"} 250
  {job="app"} 650

eval instant at 50m count(http_requests)
  {} 8

eval instant at 50m max(http_requests)
  {} 800

eval instant at 50m min by (group) (http_requests)
  {group="production"} 100
  {group="canary"} 300

eval instant at 50m stddev by (job) (http_requests)
  {job="api"} 111.80339887498948
  {job="app"} 111.80339887498948

eval instant at 50m stdvar by (job) (http_requests)
  {job="api"} 12500
  {job="app"} 12500

eval instant at 50m quantile(0.5, http_requests)
  {} 450

eval instant at 50m group by (job) (http_requests)
  {job="api"} 1
  {job="app"} 1

eval instant at 50m topk(2, http_requests)
  expect ordered
  http_requests{job="app", instance="1", group="canary"} 800
  http_requests{job="app", instance="0", group="canary"} 700

eval instant at 50m bottomk by (job) (1, http_requests)
  http_requests{job="api", instance="0", group="production"} 100
  http_requests{job="app", instance="0", group="production"} 500

eval instant at 50m count_values("value", http_requests{group="production"} > 150 < 550)
  {value="200"} 1
  {value="500"} 1

eval instant at 50m count_values by (job) ("v", http_requests * 0)
  {job="api", v="0"} 4
  {job="app", v="0"} 4
)T",
                  14);
}

TEST_CASE("engine: binary operators and vector matching") {
  expect_all_pass(std::string(http_data) + R"T(
eval instant at 50m http_requests{job="api", group="production"} * 2
  {job="api", instance="0", group="production"} 200
  {job="api", instance="1", group="production"} 400

eval instant at 50m http_requests > 600
  http_requests{job="app", instance="0", group="canary"} 700
  http_requests{job="app", instance="1", group="canary"} 800

eval instant at 50m 650 < http_requests
  http_requests{job="app", instance="0", group="canary"} 700
  http_requests{job="app", instance="1", group="canary"} 800

eval instant at 50m http_requests{job="api", group="production"} > bool 150
  {job="api", instance="0", group="production"} 0
  {job="api", instance="1", group="production"} 1

eval instant at 50m http_requests{group="canary"} / ignoring(group) http_requests{group="production"}
  {job="api", instance="0"} 3
  {job="api", instance="1"} 2
  {job="app", instance="0"} 1.4
  {job="app", instance="1"} 1.3333333333333333

eval instant at 50m sum by (job) (http_requests) / on(job) sum by (job, group) (http_requests)
  expect fail

eval instant at 50m 2 ^ 3 ^ 2
  512

eval instant at 50m -2 ^ 2
  -4

eval instant at 50m 10 % 3 * 2 - 1
  1

eval instant at 50m 1 < bool 2
  1

clear
load 5m
  node_cpu{instance="a", mode="idle"} 10
  node_cpu{instance="a", mode="user"} 20
  node_cpu{instance="b", mode="idle"} 30
  node_meta{instance="a", region="eu"} 1
  node_meta{instance="b", region="us"} 2

eval instant at 0m node_cpu * on(instance) group_left(region) node_meta
  {instance="a", mode="idle", region="eu"} 10
  {instance="a", mode="user", region="eu"} 20
  {instance="b", mode="idle", region="us"} 60

eval instant at 0m node_meta * on(instance) group_right(region) node_cpu
  {instance="a", mode="idle", region="eu"} 10
  {instance="a", mode="user", region="eu"} 20
  {instance="b", mode="idle", region="us"} 60

eval instant at 0m node_cpu * on(instance) node_meta
  expect fail msg: multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)

eval instant at 0m node_cpu and on(instance) node_meta{region="eu"}
  node_cpu{instance="a", mode="idle"} 10
  node_cpu{instance="a", mode="user"} 20

eval instant at 0m node_cpu unless on(instance) node_meta{region="eu"}
  node_cpu{instance="b", mode="idle"} 30

eval instant at 0m node_meta or node_cpu
  node_cpu{instance="a", mode="idle"} 10
  node_cpu{instance="a", mode="user"} 20
  node_cpu{instance="b", mode="idle"} 30
  node_meta{instance="a", region="eu"} 1
  node_meta{instance="b", region="us"} 2

eval instant at 0m -node_meta
  {instance="a", region="eu"} -1
  {instance="b", region="us"} -2
)T",
                  17);
}

TEST_CASE("engine: staleness, lookback and range queries") {
  expect_all_pass(R"T(
load 1m
  s 1 2 stale 4

eval instant at 1m s
  s 2

eval instant at 2m s

eval instant at 3m s
  s 4

eval instant at 7m59s s
  s 4

eval instant at 8m s

eval range from 0 to 4m step 1m s
  s 1 2 _ 4 4

eval range from 0 to 2m step 1m time()
  {} 0 60 120

eval range from 0 to 1m step 1m s @ end()
  s 2 2

eval range from 0 to 2m step 1m s @ 60
  s 2 2 2

eval instant at 3m s offset 2m
  s 2

eval instant at 3m s @ 60
  s 2

eval instant at 1m s[2m]
  expect range vector from 0 to 1m step 1m
  s 1 2
)T",
                  12);
}

TEST_CASE("engine: counter and gauge range functions") {
  expect_all_pass(R"T(
load 1m
  c 0 10 20 5 15
  g 0+2x10

eval instant at 4m increase(c[5m])
  {} 35

eval instant at 4m rate(c[5m])
  {} 0.11666666666666667

eval instant at 4m delta(c[5m])
  {} 18.75

eval instant at 4m irate(c[5m])
  {} 0.16666666666666666

eval instant at 3m irate(c[5m])
  {} 0.08333333333333333

eval instant at 4m idelta(c[5m])
  {} 10

eval instant at 4m resets(c[5m])
  {} 1

eval instant at 4m changes(c[5m])
  {} 4

eval instant at 10m deriv(g[5m])
  {} 0.03333333333333333

eval instant at 10m predict_linear(g[5m], 60)
  {} 22

eval instant at 10m avg_over_time(g[5m])
  {} 16

eval instant at 10m min_over_time(g[5m])
  {} 12

eval instant at 10m max_over_time(g[5m])
  {} 20

eval instant at 10m sum_over_time(g[5m])
  {} 80

eval instant at 10m count_over_time(g[5m])
  {} 5

eval instant at 10m quantile_over_time(0.5, g[5m])
  {} 16

eval instant at 10m stdvar_over_time(g[5m])
  {} 8

eval instant at 10m stddev_over_time(g[5m])
  {} 2.8284271247461903

eval instant at 10m last_over_time(g[5m])
  g 20

eval instant at 10m present_over_time(g[5m])
  {} 1

eval instant at 10m absent_over_time(nothing{a="b"}[5m])
  {a="b"} 1

eval instant at 10m absent_over_time(g[5m])

eval instant at 10m max_over_time(g[5m:1m])
  {} 20

eval instant at 10m sum_over_time(g[3m:1m] offset 2m)
  {} 42

eval instant at 10m count_over_time(g[5m:])
  {} 5

eval instant at 10m rate(g[1m])
)T",
                  26);
}

TEST_CASE("engine: instant vector functions") {
  expect_all_pass(R"T(
load 1m
  g 0+2x10
  h{a="x", b="y"} 1.5+0x10
  req_bucket{le="0.1"} 0+1x10
  req_bucket{le="0.5"} 0+2x10
  req_bucket{le="1"} 0+3x10
  req_bucket{le="+Inf"} 0+4x10

eval instant at 10m histogram_quantile(0.5, req_bucket)
  {} 0.5

eval instant at 10m histogram_quantile(0.25, req_bucket)
  {} 0.1

eval instant at 10m histogram_quantile(0.9, req_bucket)
  {} 1

eval instant at 10m histogram_quantile(0.5, sum by (le) (rate(req_bucket[5m])))
  {} 0.5

eval instant at 10m label_replace(g, "dst", "x-$1", "__name__", "(.)")
  g{dst="x-g"} 20

eval instant at 10m label_replace(g, "dst", "x-$1", "__name__", "nomatch")
  g 20

eval instant at 10m label_join(h, "ab", "-", "a", "b")
  h{a="x", b="y", ab="x-y"} 1.5

eval instant at 10m time()
  600

eval instant at 10m vector(1)
  {} 1

eval instant at 10m scalar(g)
  20

eval instant at 10m30s timestamp(g)
  {} 600

eval instant at 0m minute(vector(1800))
  {} 30

eval instant at 0m hour(vector(7200))
  {} 2

eval instant at 0m day_of_month(vector(0))
  {} 1

eval instant at 0m day_of_week(vector(0))
  {} 4

eval instant at 0m year(vector(0))
  {} 1970

eval instant at 0m days_in_month(vector(1706745600))
  {} 29

eval instant at 10m clamp(g, 0, 10)
  {} 10

eval instant at 10m clamp_min(g, 30)
  {} 30

eval instant at 10m round(vector(2.5))
  {} 3

eval instant at 10m round(vector(-2.5))
  {} -2

eval instant at 10m round(vector(1.26), 0.1)
  {} 1.3

eval instant at 10m abs(-g)
  {} 20

eval instant at 10m sqrt(vector(16)) + ln(vector(1)) + log2(vector(8)) + log10(vector(100)) + exp(vector(0))
  {} 10

eval instant at 10m sort_desc(g or h)
  expect ordered
  g 20
  h{a="x", b="y"} 1.5

eval instant at 10m sort(g or h)
  expect ordered
  h{a="x", b="y"} 1.5
  g 20

eval instant at 10m absent(nothing{job="x"})
  {job="x"} 1

eval instant at 10m absent(g)

eval instant at 10m abs({__name__=~"g|h"})
  {} 20
  {a="x", b="y"} 1.5
)T",
                  29);
}

TEST_CASE("engine: errors and unsupported features are distinct") {
  const test_report r = run_promql_test(R"T(
load 1m
  g 1
  g2 1

eval instant at 0m abs({__name__=~"g|g2"})
  expect fail msg: vector cannot contain metrics with the same labelset

eval instant at 0m histogram_count(g)
  {} 1

eval instant at 0m label_replace(g, "1bad", "", "a", "b")
  expect fail

eval instant at 0m label_replace(g, "a", "", "a", "(")
  expect fail regex: invalid regular expression

eval instant at 0m g
  expect warn
  g 1

eval instant at 0m g
  g 2
)T",
                                        "inline");
  CHECK(r.passed == 3);
  CHECK(r.skipped == 2);
  REQUIRE(r.failed == 1);
  CHECK(r.failures[0].find("inline:22: g: series g: expected 2, got 1") == 0);
}

TEST_CASE("engine: API results and limits") {
  wk::tsdb::head head;
  const auto ref = head.get_or_create(wk::tsdb::label_set({{"__name__", "up"}, {"job", "a"}}));
  for (int i = 0; i <= 10; ++i) head.append(ref, i * 60000, i);
  const engine eng(head);

  const auto inst = eng.instant_query("up * 2", 300000);
  REQUIRE(inst.type == value_type::vector);
  REQUIRE(inst.vector.size() == 1);
  CHECK(inst.vector[0].v == 10);
  CHECK(inst.vector[0].labels.get("__name__").empty());

  const auto range = eng.range_query("up", 0, 600000, 120000);
  REQUIRE(range.type == value_type::matrix);
  REQUIRE(range.matrix.size() == 1);
  REQUIRE(range.matrix[0].samples.size() == 6);
  CHECK(range.matrix[0].samples[5].t == 600000);
  CHECK(range.matrix[0].samples[5].v == 10);

  CHECK(eng.instant_query("\"s\"", 0).str == "s");
  // Extreme timestamps saturate instead of overflowing.
  const std::int64_t big = std::numeric_limits<std::int64_t>::max() - 10;
  CHECK(eng.range_query("up", big - 30, big, 10).matrix.empty());
  CHECK(eng.instant_query("up @ 9e15 offset -9e15", 0).vector.empty());
  CHECK(eng.instant_query("max_over_time(up[1m:1m] @ 9e15)", 0).vector.empty());
  CHECK(eng.instant_query("up offset 1000000y", 0).vector.empty());
  // Real-world timestamps: only the needed window is fetched (see plan()); values still right.
  const auto now_ref = head.get_or_create(wk::tsdb::label_set(std::vector<wk::tsdb::label>{{"__name__", "now"}}));
  head.append(now_ref, 1'700'000'000'000, 7);
  CHECK(eng.instant_query("now", 1'700'000'060'000).vector.at(0).v == 7);
  CHECK(eng.instant_query("up", 1'700'000'060'000).vector.empty());
  CHECK_THROWS_AS(eng.range_query("up", 0, 1000, 0), error);
  CHECK_THROWS_AS(eng.range_query("up", 1000, 0, 1), error);
  CHECK_THROWS_AS(eng.range_query("up", 0, 1'000'000'000, 1), error);
  CHECK_THROWS_AS(eng.range_query("up[5m]", 0, 1000, 1), error);
  try {
    eng.instant_query("histogram_sum(up)", 0);
    FAIL("expected unsupported");
  } catch (const error& e) {
    CHECK(e.kind() == error_kind::unsupported);
  }

  engine_options tight;
  tight.max_samples = 5;
  const engine small(head, tight);
  try {
    small.instant_query("count_over_time(up[1h])", 600000);
    FAIL("expected a sample limit error");
  } catch (const error& e) {
    CHECK(e.kind() == error_kind::execution);
  }
  try {
    eng.instant_query("max_over_time(max_over_time(up[1h:1s])[1h:1s])", 600000);
    FAIL("expected a nested subquery step limit error");
  } catch (const error& e) {
    CHECK(e.kind() == error_kind::execution);
  }
  CHECK(eng.instant_query("max_over_time(up[1h:1s])", 600000).vector.at(0).v == 10);
  const auto long_ref = head.get_or_create(wk::tsdb::label_set({{"__name__", "long"}, {"v", std::string(10000, 'x')}}));
  head.append(long_ref, 0, 1);
  CHECK_THROWS_AS(eng.instant_query("label_replace(long, \"d\", \"$1\", \"v\", \"(.*)\")", 0), error);
  try {
    eng.instant_query("max_over_time(up[10000d:1ms])", 600000);
    FAIL("expected a subquery step limit error");
  } catch (const error& e) {
    CHECK(e.kind() == error_kind::execution);
  }
}

// Excerpts of Prometheus's own promqltest testdata (functions.test, aggregators.test;
// Apache-2.0, see /work/shared/data/promql/LICENSE-prometheus.txt).
TEST_CASE("engine: Prometheus functions.test excerpts") {
  expect_all_pass(R"T(
load 5m
	http_requests{path="/foo"}	1 2 3 0 1 0 0 1 2 0
	http_requests{path="/bar"}	1 2 3 4 5 1 2 3 4 5
	http_requests{path="/biz"}  0 0 0 0 0 1 1 1 1 1

eval instant at 50m resets(http_requests[5m])

eval instant at 50m resets(http_requests[600])
	{path="/foo"} 0
	{path="/bar"} 0
	{path="/biz"} 0

eval instant at 50m resets(http_requests[32m])
	{path="/foo"} 2
	{path="/bar"} 1
	{path="/biz"} 0

eval instant at 50m changes(http_requests[30m])
	{path="/foo"} 3
	{path="/bar"} 4
	{path="/biz"} 0

eval instant at 50m changes((http_requests[50m]))
	{path="/foo"} 7
	{path="/bar"} 8
	{path="/biz"} 1

clear
load 5m
  x{a="b"} NaN NaN NaN
  x{a="c"} 0 NaN 0

eval instant at 15m changes(x[20m])
  {a="b"} 0
  {a="c"} 2

clear
load 5m
	http_requests_total{path="/foo"}	0+10x10
	http_requests_total{path="/bar"}	0+18x5 0+18x5
	http_requests_total{path="/dings"}   10+10x10
	http_requests_total{path="/bumms"}    1+10x10

eval instant at 50m increase(http_requests_total[50m])
	{path="/foo"}   100
	{path="/bar"}   160
	{path="/dings"} 100
	{path="/bumms"} 100

eval instant at 50m increase(http_requests_total[100m])
	{path="/foo"}   100
	{path="/bar"}   162
	{path="/dings"} 105
	{path="/bumms"} 101

clear
load 5m
	http_requests_total{path="/foo"}	0 1 2 3 2 3 4

eval instant at 30m increase(http_requests_total[30m])
    {path="/foo"} 7

clear
load 5m
	testcounter_reset_middle_total	0+27x4 0+27x5
	testcounter_reset_end_total  	0+10x9 0 10

eval instant at 50m rate(testcounter_reset_middle_total[50m])
	{} 0.08

eval instant at 50m rate(testcounter_reset_end_total[5m])

eval instant at 50m rate(testcounter_reset_end_total[6m])
	{} 0

clear
load 5m
	calculate_rate_offset_total{x="a"}	0+10x10
	calculate_rate_offset_total{x="b"}	0+20x10
	calculate_rate_window_total		0+80x10

eval instant at 50m rate(calculate_rate_window_total[50m])
	{} 0.26666666666666666

eval instant at 50m rate(calculate_rate_offset_total[10m] offset 5m)
	{x="a"} 0.03333333333333333
	{x="b"} 0.06666666666666667

clear
load 4m
	testcounter_zero_cutoff_total{start="0m"}	0+240x10
	testcounter_zero_cutoff_total{start="1m"}	60+240x10
	testcounter_zero_cutoff_total{start="2m"}	120+240x10
	testcounter_zero_cutoff_total{start="3m"}	180+240x10
	testcounter_zero_cutoff_total{start="4m"}	240+240x10
	testcounter_zero_cutoff_total{start="5m"}	300+240x10

eval instant at 10m rate(testcounter_zero_cutoff_total[20m])
	{start="0m"} 0.5
	{start="1m"} 0.55
	{start="2m"} 0.6
	{start="3m"} 0.6
	{start="4m"} 0.6
	{start="5m"} 0.6

clear
load 5m
	http_requests_total{path="/foo"}	0+10x10
	http_requests_total{path="/bar"}	0+10x5 0+10x5
	http_requests_nan{}               1 NaN NaN 5 11

eval instant at 30m irate(http_requests_total[50m])
	{path="/foo"} .03333333333333333333
	{path="/bar"} 0

eval range from 0 to 20m step 5m irate(http_requests_nan[15m1s])
	{} _ NaN NaN NaN 0.02

clear
load 5m
	http_requests{path="/foo"}	0 50 100 150 200
	http_requests{path="/bar"}	200 150 100 50 0

eval instant at 20m delta(http_requests[20m])
	{path="/foo"} 200
	{path="/bar"} -200

clear
load 5m
	http_requests_nan{}         1 NaN NaN 5 11

eval range from 0 to 20m step 5m idelta(http_requests_nan[15m1s])
	{} _ NaN NaN NaN 6

clear
load 5m
	testcounter_reset_middle_total	0+10x4 0+10x5
	http_requests_total{job="app-server", instance="1", group="canary"}		0+80x10
	http_requests_inf{job="app-server", instance="1", group="canary"}	-Inf 0+80x10 Inf

eval instant at 50m deriv(http_requests_total{group="canary", instance="1", job="app-server"}[50m])
	{group="canary", instance="1", job="app-server"} 0.26666666666666666

eval instant at 50m deriv(testcounter_reset_middle_total[100m])
	{} 0.010606060606060607

eval instant at 100m deriv(http_requests_inf[100m])
	{job="app-server", instance="1", group="canary"} NaN

eval instant at 50m predict_linear(testcounter_reset_middle_total[50m], 3600)
	{} 70

eval instant at 50m predict_linear(testcounter_reset_middle_total[50m], 1h)
	{} 70

eval instant at 10m predict_linear(testcounter_reset_middle_total[55m] @ 3000, 3600)
	{} 51.36363636363637

eval instant at 70m predict_linear(testcounter_reset_middle_total[55m] @ 3000, 3600)
	{} 89.54545454545455
)T",
                  26);
}

TEST_CASE("engine: Prometheus label function and sort excerpts") {
  expect_all_pass(R"T(
load 5m
  testmetric{src="source-value-10",dst="original-destination-value"} 0
  testmetric{src="source-value-20",dst="original-destination-value"} 1

eval instant at 0m label_replace(testmetric, "dst", "destination-value-$1", "src", "source-value-(.*)")
  testmetric{src="source-value-10",dst="destination-value-10"} 0
  testmetric{src="source-value-20",dst="destination-value-20"} 1

eval instant at 0m label_replace(testmetric, "dst", "destination-value-$1", "src", "value-(.*)")
  testmetric{src="source-value-10",dst="original-destination-value"} 0
  testmetric{src="source-value-20",dst="original-destination-value"} 1

eval instant at 0m label_replace(testmetric, "dst", "$1-value-$2", "src", "(.*)-value-(.*)")
  testmetric{src="source-value-10",dst="source-value-10"} 0
  testmetric{src="source-value-20",dst="source-value-20"} 1

eval instant at 0m label_replace(testmetric, "dst", "value-$1", "nonexistent-src", "(.*)")
  testmetric{src="source-value-10",dst="value-"} 0
  testmetric{src="source-value-20",dst="value-"} 1

eval instant at 0m label_replace(testmetric, "dst", "", "dst", ".*")
  testmetric{src="source-value-10"} 0
  testmetric{src="source-value-20"} 1

eval instant at 0m label_replace(testmetric, "dst", "value-$1", "src", "(.*")
  expect fail

eval instant at 0m label_replace(testmetric, "\xff", "", "src", "(.*)")
  expect fail

eval instant at 0m label_replace(testmetric, "src", "", "", "")
  expect fail

clear
load 5m
  testmetric{src="a",src1="b",src2="c",dst="original-destination-value"} 0
  testmetric{src="d",src1="e",src2="f",dst="original-destination-value"} 1
  dup{label="a", this="a"} 1.0
  dup{label="b", this="a"} 1.0

eval instant at 0m label_join(testmetric, "dst", "-", "src", "src3", "src1")
  testmetric{src="a",src1="b",src2="c",dst="a--b"} 0
  testmetric{src="d",src1="e",src2="f",dst="d--e"} 1

eval instant at 0m label_join(testmetric, "dst", ", ")
  testmetric{src="a",src1="b",src2="c"} 0
  testmetric{src="d",src1="e",src2="f"} 1

eval instant at 0m label_join(dup, "label", "", "this")
  expect fail msg:vector cannot contain metrics with the same labelset

eval instant at 5s vector(time())
  {} 5

clear
load 5m
	test_clamp{src="clamp-a"}	-50
	test_clamp{src="clamp-b"}	0
	test_clamp{src="clamp-c"}	100

eval instant at 0m clamp_max((clamp_min(test_clamp, (-20))), (70))
	{src="clamp-a"}	-20
	{src="clamp-b"}	0
	{src="clamp-c"}	70

eval instant at 0m clamp(test_clamp, 0, NaN)
	{src="clamp-a"}	NaN
	{src="clamp-b"}	NaN
	{src="clamp-c"}	NaN

eval instant at 0m clamp(test_clamp, 5, -5)

clear
load 5m
	http_requests{job="api-server", instance="0", group="production"}	0+10x10
	http_requests{job="api-server", instance="1", group="production"}	0+20x10
	http_requests{job="api-server", instance="2", group="canary"}		NaN NaN NaN NaN NaN NaN NaN NaN NaN NaN NaN
	http_requests{job="app-server", instance="1", group="canary"}		0+80x10

eval instant at 50m sort(http_requests)
	expect ordered
	http_requests{group="production", instance="0", job="api-server"} 100
	http_requests{group="production", instance="1", job="api-server"} 200
	http_requests{group="canary", instance="1", job="app-server"} 800
	http_requests{group="canary", instance="2", job="api-server"} NaN

eval instant at 50m sort_desc(http_requests)
	expect ordered
	http_requests{group="canary", instance="1", job="app-server"} 800
	http_requests{group="production", instance="1", job="api-server"} 200
	http_requests{group="production", instance="0", job="api-server"} 100
	http_requests{group="canary", instance="2", job="api-server"} NaN

eval instant at 50m topk(3, http_requests{job="api-server"})
	expect ordered
	http_requests{job="api-server", instance="1", group="production"} 200
	http_requests{job="api-server", instance="0", group="production"} 100
	http_requests{job="api-server", instance="2", group="canary"} NaN
)T",
                  18);
}

TEST_CASE("engine: Prometheus subquery.test excerpts") {
  expect_all_pass(R"T(
load 10s
  metric 1 2

eval instant at 10s sum_over_time(metric[50s:10s])
  {} 3

eval instant at 10s sum_over_time(metric[50s:5s])
  {} 4

eval instant at 5m sum_over_time(metric[50s:10s])
  {} 10

eval instant at 5m59s sum_over_time(metric[60s:10s])
  {} 2

eval instant at 10s rate(metric[20s:10s])
  {} 0.1

eval instant at 20s rate(metric[20s:5s])
  {} 0.06666666666666667

clear
load 10s
  http_requests{job="api-server", instance="1", group="production"} 0+20x1000 200+30x1000
  http_requests{job="api-server", instance="0", group="production"} 0+10x1000 100+30x1000
  http_requests{job="api-server", instance="0", group="canary"}  0+30x1000 300+80x1000
  http_requests{job="api-server", instance="1", group="canary"}  0+40x2000

eval instant at 8000s rate(http_requests{group=~"pro.*"}[1m:10s])
  {job="api-server", instance="0", group="production"} 1
  {job="api-server", instance="1", group="production"} 2

eval instant at 20000s avg_over_time(rate(http_requests[1m])[1m:1s])
  {job="api-server", instance="0", group="canary"}     8
  {job="api-server", instance="1", group="canary"}     4
  {job="api-server", instance="1", group="production"} 3
  {job="api-server", instance="0", group="production"} 3

clear
load 10s
  metric1 0+1x1000
  metric2 0+2x1000
  metric3 0+3x1000

eval instant at 1000s sum_over_time(metric1[30s:10s])
  {} 297

eval instant at 1000s sum_over_time(metric1[30s:5s])
  {} 591

eval instant at 1010s sum_over_time(metric1[30s:10s] offset 9s)
  {} 297

eval instant at 1010s sum_over_time((metric1)[30s:10s] offset 3s)
  {} 297

eval instant at 1000s rate(sum_over_time(metric1[30s:10s])[50s:10s])
  {} 0.30000000000000004

eval instant at 1000s rate(sum_over_time((metric1+metric2+metric3)[30s:10s])[30s:10s])
  {} 1.8
)T",
                  14);
}

TEST_CASE("engine: Prometheus at_modifier.test excerpts") {
  expect_all_pass(R"T(
load 10s
  metric{job="1"} 0+1x1000
  metric{job="2"} 0+2x1000

load 1ms
  metric_ms 0+1x10000

eval instant at 10s metric @ 1m40s
  metric{job="1"} 10
  metric{job="2"} 20

eval instant at 10s metric offset 50 @ 100
  metric{job="1"} 5
  metric{job="2"} 10

eval instant at 10s metric @ 0 offset -50s
  metric{job="1"} 5
  metric{job="2"} 10

eval instant at 10s ---metric @ 100
  {job="1"} -10
  {job="2"} -20

eval instant at 100s metric_ms @ 1.234
  metric_ms 1234

eval instant at 25s sum_over_time(metric{job="1"}[100] @ 100 offset 50)
  {job="1"} 15

eval instant at 25s metric{job="1"} @ 50 + metric{job="1"} @ 100
  {job="1"} 15

eval instant at 25s sum_over_time(metric{job="1"}[100s] @ 100) + label_replace(sum_over_time(metric{job="2"}[100s] @ 100), "job", "1", "", "")
  {job="1"} 165

eval instant at 25s sum_over_time(metric{job="1"}[100s:1s] @ 100 offset 20s)
  {job="1"} 288

eval instant at 0s sum_over_time(sum_over_time(sum_over_time(metric{job="1"}[100s] @ 100)[100s:25s] @ 50)[3s:1s] @ 3000)
  {job="1"} 660

eval instant at 0s sum_over_time(sum_over_time(sum_over_time(metric{job="1"}[10s])[100s:25s] @ 200)[3s:1s] @ 50)
  {job="1"} 192

eval instant at 0s sum_over_time(sum_over_time(sum_over_time(metric{job="1"}[20s])[20s:10s] offset 10s)[100s:25s] @ 1000)
  {job="1"} 1504

eval instant at 10s minute(metric @ 1500)
  {job="1"} 2
  {job="2"} 5

eval instant at 10m timestamp(metric{job="1"} @ 10)
  {job="1"} 10

eval instant at 15m timestamp(timestamp(metric{job="1"} @ 10))
  {job="1"} 900

eval instant at 0s sum_over_time(minute()[50m:1m] @ 6000 offset 5m)
  {} 1365

eval instant at 0s sum_over_time(vector(time())[100s:1s] @ 3000 offset 600s)
  {} 235050

eval instant at 0s sum_over_time(timestamp(timestamp(metric{job="1"} @ 999))[10s:1s] @ 10)
  {job="1"} 55
)T",
                  18);
}
