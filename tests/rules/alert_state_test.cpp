#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "rules/alert_state.hpp"

namespace {

using wk::rules::alert_state;
using wk::rules::alerting_rule_state;
using wk::tsdb::label_set;

constexpr std::int64_t minute = 60'000;
const std::map<std::string, std::string> no_external;

wk::rules::rule make_rule(std::int64_t for_ms, std::int64_t keep_ms = 0) {
  wk::rules::rule r;
  r.type = wk::rules::rule::kind::alerting;
  r.name = "HighLatency";
  r.expr_text = "latency > 1";
  r.for_ms = for_ms;
  r.keep_firing_for_ms = keep_ms;
  r.labels = {{"severity", "{{ if gt $value 10.0 }}page{{ else }}ticket{{ end }}"}};
  r.annotations = {{"summary", "{{ $labels.instance }} at {{ $value }}"}};
  return r;
}

std::vector<wk::promql::vector_element> sample(double v, const std::string& instance = "a") {
  return {{label_set({{"__name__", "latency"}, {"instance", instance}}), v}};
}

std::vector<wk::rules::alert_transition> eval(alerting_rule_state& s, const std::vector<wk::promql::vector_element>& v,
                                              std::int64_t t) {
  return s.evaluate(v, t, no_external, "");
}

}  // namespace

TEST_CASE("alert_state: pending becomes firing after `for`, then resolves and is retained 15 minutes") {
  alerting_rule_state s(make_rule(5 * minute));
  auto tr = eval(s, sample(3), 0);
  REQUIRE(tr.size() == 1);
  CHECK(tr[0].from == alert_state::inactive);
  CHECK(tr[0].to == alert_state::pending);
  CHECK(tr[0].a.labels ==
        label_set({{"alertname", "HighLatency"}, {"instance", "a"}, {"severity", "ticket"}}));
  CHECK(tr[0].a.annotations.at("summary") == "a at 3");
  CHECK(eval(s, sample(4), 4 * minute).empty());
  REQUIRE(s.active().size() == 1);
  CHECK(s.active()[0].annotations.at("summary") == "a at 4");  // value and annotations follow the data
  tr = eval(s, sample(4), 5 * minute);
  REQUIRE(tr.size() == 1);
  CHECK(tr[0].from == alert_state::pending);
  CHECK(tr[0].to == alert_state::firing);
  CHECK(tr[0].a.fired_at_ms == 5 * minute);
  CHECK(tr[0].a.active_at_ms == 0);

  const auto series = s.alerts_series(5 * minute);
  REQUIRE(series.size() == 2);
  CHECK(series[0].labels == label_set({{"__name__", "ALERTS"}, {"alertname", "HighLatency"}, {"alertstate", "firing"},
                                       {"instance", "a"}, {"severity", "ticket"}}));
  CHECK(series[0].v == 1);
  CHECK(series[1].labels ==
        label_set({{"__name__", "ALERTS_FOR_STATE"}, {"alertname", "HighLatency"}, {"instance", "a"}, {"severity", "ticket"}}));
  CHECK(series[1].v == 0);

  tr = eval(s, {}, 6 * minute);
  REQUIRE(tr.size() == 1);
  CHECK(tr[0].from == alert_state::firing);
  CHECK(tr[0].to == alert_state::inactive);
  CHECK(tr[0].resolved);
  CHECK(tr[0].a.resolved_at_ms == 6 * minute);
  CHECK(s.active().empty());
  CHECK(s.all().size() == 1);
  CHECK(s.alerts_series(6 * minute).empty());
  CHECK(eval(s, {}, 21 * minute).empty());
  CHECK(s.all().size() == 1);  // exactly 15 minutes: still retained
  CHECK(eval(s, {}, 21 * minute + 1000).empty());
  CHECK(s.all().empty());
}

TEST_CASE("alert_state: `for` 0 fires at once; a resolved alert coming back starts over") {
  alerting_rule_state s(make_rule(0));
  auto tr = eval(s, sample(20), minute);
  REQUIRE(tr.size() == 1);
  CHECK(tr[0].from == alert_state::inactive);
  CHECK(tr[0].to == alert_state::firing);
  CHECK(tr[0].a.labels.get("severity") == "page");
  eval(s, {}, 2 * minute);
  CHECK(s.all().size() == 1);
  tr = eval(s, sample(20), 3 * minute);
  REQUIRE(tr.size() == 1);
  CHECK(tr[0].from == alert_state::inactive);
  CHECK(tr[0].to == alert_state::firing);
  CHECK(tr[0].a.active_at_ms == 3 * minute);
  CHECK(tr[0].a.resolved_at_ms == 0);
  CHECK(s.all().size() == 1);  // the retained resolved alert was replaced, not duplicated
  // A templated label that changes with the value makes another alert identity.
  tr = eval(s, sample(2), 4 * minute);
  REQUIRE(tr.size() == 2);
  CHECK(s.active().size() == 1);
  CHECK(s.active()[0].labels.get("severity") == "ticket");
}

TEST_CASE("alert_state: a pending alert that goes away is dropped; flapping restarts `for`") {
  alerting_rule_state s(make_rule(2 * minute));
  eval(s, sample(3), 0);
  auto tr = eval(s, {}, minute);
  REQUIRE(tr.size() == 1);
  CHECK(tr[0].from == alert_state::pending);
  CHECK(tr[0].to == alert_state::inactive);
  CHECK(tr[0].resolved);
  CHECK(s.all().empty());
  eval(s, sample(3), 2 * minute);
  CHECK(eval(s, sample(3), 3 * minute).empty());
  tr = eval(s, sample(3), 4 * minute);
  REQUIRE(tr.size() == 1);
  CHECK(tr[0].to == alert_state::firing);
  CHECK(tr[0].a.active_at_ms == 2 * minute);
}

TEST_CASE("alert_state: keep_firing_for holds a firing alert after the condition clears") {
  alerting_rule_state s(make_rule(0, 10 * minute));
  eval(s, sample(3), 0);
  CHECK(eval(s, {}, minute).empty());
  REQUIRE(s.active().size() == 1);
  CHECK(s.active()[0].keep_firing_since_ms == minute);
  CHECK(s.alerts_series(minute).size() == 2);
  CHECK(eval(s, {}, 10 * minute).empty());
  // Back before the time ran out: the hold resets.
  CHECK(eval(s, sample(3), 10 * minute + 1000).empty());
  CHECK(s.active()[0].keep_firing_since_ms == 0);
  CHECK(eval(s, {}, 11 * minute).empty());
  CHECK(eval(s, {}, 20 * minute).empty());
  const auto tr = eval(s, {}, 21 * minute);
  REQUIRE(tr.size() == 1);
  CHECK(tr[0].from == alert_state::firing);
  CHECK(tr[0].to == alert_state::inactive);
  CHECK(tr[0].resolved);
}

TEST_CASE("alert_state: restore keeps persisted pending and firing state") {
  alerting_rule_state s(make_rule(5 * minute));
  wk::rules::alert firing;
  firing.labels = label_set({{"alertname", "HighLatency"}, {"instance", "a"}, {"severity", "ticket"}});
  firing.state = alert_state::firing;
  firing.active_at_ms = 0;
  firing.fired_at_ms = 5 * minute;
  wk::rules::alert pending;
  pending.labels = label_set({{"alertname", "HighLatency"}, {"instance", "b"}, {"severity", "ticket"}});
  pending.state = alert_state::pending;
  pending.active_at_ms = 2 * minute;
  wk::rules::alert gone = pending;
  gone.state = alert_state::inactive;
  s.restore({firing, pending, gone});
  CHECK(s.active().size() == 2);
  auto v = sample(3, "a");
  v.push_back(sample(3, "b")[0]);
  // At 7m: "a" stays firing without a new transition, "b" has been pending 5 minutes.
  const auto tr = eval(s, v, 7 * minute);
  REQUIRE(tr.size() == 1);
  CHECK(tr[0].a.labels.get("instance") == "b");
  CHECK(tr[0].from == alert_state::pending);
  CHECK(tr[0].to == alert_state::firing);
  for (const auto& a : s.active()) CHECK(a.state == alert_state::firing);
}

TEST_CASE("alert_state: duplicate output label sets are a rule error that leaves the state alone") {
  alerting_rule_state s(make_rule(0));
  eval(s, sample(3), 0);
  std::vector<wk::promql::vector_element> dup = {
      {label_set({{"__name__", "latency"}, {"instance", "a"}}), 3},
      {label_set({{"__name__", "latency_other"}, {"instance", "a"}}), 4},
  };
  CHECK(eval(s, dup, minute).empty());
  CHECK(s.last_error() == "vector contains metrics with the same labelset after applying alert labels");
  REQUIRE(s.active().size() == 1);
  CHECK(s.active()[0].value == 3);
  eval(s, sample(3), 2 * minute);
  CHECK(s.last_error().empty());
}

TEST_CASE("alert_state: exceeding the limit drops every alert of the rule") {
  alerting_rule_state s(make_rule(0));
  s.set_limit(1);
  eval(s, sample(3, "a"), 0);
  CHECK(s.last_error().empty());
  auto v = sample(3, "a");
  v.push_back(sample(3, "b")[0]);
  const auto tr = eval(s, v, minute);
  CHECK(s.last_error() == "exceeded limit of 1 with 2 alerts");
  CHECK(s.all().empty());
  // "a" was firing: it is reported resolved; "b" never was.
  REQUIRE(tr.size() == 1);
  CHECK(tr[0].a.labels.get("instance") == "a");
  CHECK(tr[0].resolved);
}
