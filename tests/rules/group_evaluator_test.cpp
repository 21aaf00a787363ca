#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "promql/engine.hpp"
#include "promql/parser.hpp"
#include "rules/group_evaluator.hpp"
#include "rules/rule_file.hpp"
#include "tsdb/head.hpp"

namespace {

using wk::tsdb::label_set;

constexpr std::int64_t minute = 60'000;

void collect_selectors(const wk::promql::expr& e, std::vector<const wk::promql::expr*>& out) {
  if (e.kind == wk::promql::expr_kind::vector_selector || e.kind == wk::promql::expr_kind::matrix_selector)
    out.push_back(&e);
  for (const auto& a : e.args)
    if (a) collect_selectors(*a, out);
}

bool has_matcher(const wk::promql::expr& sel, const std::string& name, const std::string& value) {
  for (const auto& m : sel.matchers)
    if (m.name() == name && m.op() == wk::tsdb::match_op::equal && m.value() == value) return true;
  return false;
}

void fill(wk::tsdb::head& head, const std::string& service, double per_second) {
  const auto ref = head.get_or_create(label_set({{"__name__", "requests_total"}, {"code", "500"}, {"service", service}}));
  for (std::int64_t t = 0; t <= 10 * minute; t += 15'000) head.append(ref, t, per_second * static_cast<double>(t) / 1000);
  for (const char* name : {"a", "b"}) {
    const auto r = head.get_or_create(label_set({{"__name__", name}, {"service", service}}));
    for (std::int64_t t = 0; t <= 10 * minute; t += 15'000) head.append(r, t, 1);
  }
}

}  // namespace

TEST_CASE("with_matcher: every selector of a copy gets the matcher; the original is untouched") {
  const auto e = wk::promql::parse(
      "sum by (job) (rate(x{job=\"a\"}[5m] offset 1m)) / on(job) group_left max_over_time(up[10m:1m]) + absent(y)");
  const auto scoped = wk::rules::with_matcher(*e, "service", "checkout");
  std::vector<const wk::promql::expr*> orig, copy;
  collect_selectors(*e, orig);
  collect_selectors(*scoped, copy);
  REQUIRE(copy.size() == 3);
  REQUIRE(orig.size() == 3);
  for (std::size_t i = 0; i < copy.size(); ++i) {
    CHECK(has_matcher(*copy[i], "service", "checkout"));
    CHECK_FALSE(has_matcher(*orig[i], "service", "checkout"));
    CHECK(copy[i]->matchers.size() == orig[i]->matchers.size() + 1);
    CHECK(copy[i]->range_ms == orig[i]->range_ms);
    CHECK(copy[i]->offset_ms == orig[i]->offset_ms);
  }
}

TEST_CASE("with_matcher: the scoped expression only sees the service's series") {
  wk::tsdb::head head;
  fill(head, "api", 1);
  fill(head, "web", 2);
  const wk::promql::engine eng(head);
  const auto e = wk::promql::parse("sum(rate(requests_total[1m]))");
  const auto r = eng.instant_query(*wk::rules::with_matcher(*e, "service", "web"), 5 * minute);
  REQUIRE(r.vector.size() == 1);
  CHECK(r.vector[0].v == doctest::Approx(2));
  CHECK(eng.instant_query(*e, 5 * minute).vector[0].v == doctest::Approx(3));
}

TEST_CASE("group_evaluator: a recording rule feeds an alerting rule; a failing rule stops nothing") {
  const auto loaded = wk::rules::load_rule_text(R"(
groups:
  - name: svc
    rules:
      - record: service:errors:rate1m
        expr: sum(rate(requests_total{code="500"}[1m]))
      - record: dup
        expr: '{__name__=~"a|b"}'
      - alert: HighErrors
        expr: service:errors:rate1m > 0.5
        for: 1m
        labels:
          severity: page
        annotations:
          summary: '{{ $labels.service }}: {{ printf "%.1f" $value }} errors/s in {{ $externalLabels.region }}'
)",
                                                "inline.yml");
  REQUIRE(loaded.errors.empty());
  wk::tsdb::head head;
  fill(head, "api", 1);
  fill(head, "web", 0.1);
  const wk::promql::engine eng(head);
  wk::rules::group_evaluator api(loaded.groups[0], std::make_pair(std::string("service"), std::string("api")),
                                 {{"region", "eu"}}, "http://wk");
  wk::rules::group_evaluator web(loaded.groups[0], std::make_pair(std::string("service"), std::string("web")),
                                 {{"region", "eu"}}, "http://wk");

  auto r = api.evaluate(head, eng, 5 * minute);
  REQUIRE(r.outcomes.size() == 3);
  CHECK(r.outcomes[0].error.empty());
  CHECK(r.outcomes[0].samples == 1);
  CHECK(r.outcomes[1].rule == "dup");
  CHECK(r.outcomes[1].error == "vector contains metrics with the same labelset after applying rule labels");
  CHECK(r.outcomes[2].error.empty());
  CHECK(r.outcomes[2].samples == 2);  // ALERTS + ALERTS_FOR_STATE
  REQUIRE(r.transitions.size() == 1);
  const auto& a = r.transitions[0].a;
  CHECK(r.transitions[0].to == wk::rules::alert_state::pending);
  CHECK(a.labels == label_set({{"alertname", "HighErrors"}, {"service", "api"}, {"severity", "page"}}));
  CHECK(a.annotations.at("summary") == "api: 1.0 errors/s in eu");
  CHECK(web.evaluate(head, eng, 5 * minute).transitions.empty());

  // The recorded series carries the implied label, so queries scoped to the service find it.
  auto q = eng.instant_query("service:errors:rate1m", 5 * minute);
  REQUIRE(q.vector.size() == 2);
  CHECK(q.vector[0].labels == label_set({{"__name__", "service:errors:rate1m"}, {"service", "api"}}));
  CHECK(q.vector[0].v == doctest::Approx(1));
  CHECK(eng.instant_query("ALERTS{alertstate=\"pending\"}", 5 * minute).vector.size() == 1);

  r = api.evaluate(head, eng, 6 * minute);
  REQUIRE(r.transitions.size() == 1);
  CHECK(r.transitions[0].to == wk::rules::alert_state::firing);
  CHECK(api.active_alerts().size() == 1);
  // The pending series got a staleness marker when the alert fired.
  CHECK(eng.instant_query("ALERTS{alertstate=\"pending\"}", 6 * minute).vector.empty());
  q = eng.instant_query("ALERTS_FOR_STATE", 6 * minute);
  REQUIRE(q.vector.size() == 1);
  CHECK(q.vector[0].v == 300);

  // Restore into a fresh evaluator (a restart): the alert stays firing without a transition.
  wk::rules::group_evaluator restarted(loaded.groups[0], std::make_pair(std::string("service"), std::string("api")),
                                       {{"region", "eu"}}, "http://wk");
  restarted.restore("HighErrors", api.active_alerts());
  r = restarted.evaluate(head, eng, 7 * minute);
  CHECK(r.transitions.empty());
  REQUIRE(restarted.active_alerts().size() == 1);
  CHECK(restarted.active_alerts()[0].state == wk::rules::alert_state::firing);
}

TEST_CASE("group_evaluator: a scalar rule, a rule without expression, and the group limit") {
  auto g = wk::rules::load_rule_text(R"(
groups:
  - name: g
    limit: 1
    rules:
      - record: answer
        expr: "42"
      - record: many
        expr: '{__name__=~"a|requests_total"}'
)",
                                     "inline.yml");
  REQUIRE(g.errors.empty());
  wk::rules::rule broken;
  broken.type = wk::rules::rule::kind::recording;
  broken.name = "broken";
  g.groups[0].rules.push_back(broken);
  wk::tsdb::head head;
  fill(head, "api", 1);
  const wk::promql::engine eng(head);
  wk::rules::group_evaluator ev(g.groups[0], std::nullopt, {}, "");
  const auto r = ev.evaluate(head, eng, minute);
  REQUIRE(r.outcomes.size() == 3);
  CHECK(r.outcomes[0].error.empty());
  CHECK(eng.instant_query("answer", minute).vector.at(0).v == 42);
  CHECK(r.outcomes[1].error == "exceeded limit of 1 with 2 series");
  CHECK(!r.outcomes[2].error.empty());
}
