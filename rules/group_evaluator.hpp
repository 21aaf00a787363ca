#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "promql/ast.hpp"
#include "promql/engine.hpp"
#include "rules/alert_state.hpp"
#include "rules/rule_file.hpp"
#include "tsdb/head.hpp"

namespace wk::rules {

// A deep copy of e.
promql::expr_ptr clone(const promql::expr& e);

// Adds `label="value"` to every vector/matrix selector of a copy of e (the implied service matcher).
promql::expr_ptr with_matcher(const promql::expr& e, const std::string& label, const std::string& value);

struct rule_outcome {
  std::string rule;
  std::string error;  // empty = ok
  std::size_t samples = 0;
};

// Evaluates one rule group the way Prometheus's rules.Group does, and owns the
// alerting_rule_state of every alerting rule in it.
//
// With an implied matcher (service, name) every selector is restricted to that service, and
// recording rule output and alert labels that lack the label get it, so a later rule of the
// group (itself restricted to the service) sees what an earlier one recorded.
class group_evaluator {
 public:
  group_evaluator(rule_group g, std::optional<std::pair<std::string, std::string>> implied_matcher,
                  std::map<std::string, std::string> external_labels, std::string external_url);

  struct result {
    std::vector<alert_transition> transitions;
    std::vector<rule_outcome> outcomes;
  };

  // Evaluates every rule at t in order; recording rule output AND ALERTS/ALERTS_FOR_STATE series
  // are appended to the head (get_or_create + append) so later rules see them, as Prometheus does.
  // Series a rule wrote last time and not this time get a staleness marker. A failing rule is
  // reported in outcomes and never stops the others. Never throws.
  result evaluate(tsdb::head& head, const promql::engine& eng, std::int64_t t_ms);

  const rule_group& group() const { return group_; }
  std::vector<alert> active_alerts() const;
  // The state of one alerting rule by name; nullptr when there is none.
  const alerting_rule_state* state_of(const std::string& rule_name) const;
  void restore(const std::string& rule_name, std::vector<alert> alerts);

 private:
  struct compiled_rule {
    const rule* r;
    promql::expr_ptr expr;                      // with the implied matcher applied
    std::optional<alerting_rule_state> alerts;  // alerting rules only
    // Series written at the previous evaluation, to mark stale the ones not written again.
    std::map<tsdb::label_set, tsdb::series_ref> written;
  };

  void add_implied_label(std::vector<promql::vector_element>& v) const;
  void write(tsdb::head& head, compiled_rule& c, const std::vector<promql::vector_element>& samples,
             std::int64_t t_ms) const;

  rule_group group_;
  std::optional<std::pair<std::string, std::string>> implied_;
  std::map<std::string, std::string> external_labels_;
  std::string external_url_;
  std::vector<compiled_rule> rules_;
};

}  // namespace wk::rules
