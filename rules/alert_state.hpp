#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "promql/engine.hpp"
#include "rules/rule_file.hpp"
#include "rules/template.hpp"
#include "tsdb/labels.hpp"

namespace wk::rules {

// Resolved alerts stay this long after resolving, for notification, as in Prometheus.
inline constexpr std::int64_t resolved_retention_ms = 15 * 60 * 1000;

enum class alert_state { inactive, pending, firing };

const char* to_string(alert_state s);

struct alert {
  tsdb::label_set labels;  // rule labels + series labels + alertname, templated
  std::map<std::string, std::string> annotations;
  alert_state state = alert_state::inactive;
  double value = 0;
  std::int64_t active_at_ms = 0, fired_at_ms = 0, resolved_at_ms = 0, last_sent_ms = 0, keep_firing_since_ms = 0;
};

// resolved: firing -> inactive, or a pending alert dropped.
struct alert_transition {
  alert a;
  alert_state from, to;
  bool resolved;
};

// Prometheus's alerting rule state machine (rules/alerting.go) for one rule.
class alerting_rule_state {
 public:
  explicit alerting_rule_state(const rule& r);

  // One evaluation: the instant vector the expr returned at t. Returns transitions in this
  // eval. Errors are reported through last_error(): duplicate output label sets leave the
  // state untouched (no transitions); an exceeded limit drops every alert of the rule, and
  // the pending/firing ones come back as resolved transitions so nothing downstream waits
  // for a resolution that would never be sent.
  std::vector<alert_transition> evaluate(const std::vector<promql::vector_element>& result, std::int64_t t_ms,
                                         const std::map<std::string, std::string>& external_labels,
                                         const std::string& external_url);
  // Limit on pending + firing alerts (0: none); over it, all alerts of the rule are dropped.
  void set_limit(std::size_t limit) { limit_ = limit; }
  // Empty when the last evaluate succeeded.
  const std::string& last_error() const { return last_error_; }

  std::vector<alert> active() const;  // pending + firing
  // Every alert held, including resolved ones within the retention (for notification).
  std::vector<alert> all() const;
  // Restore after restart from persisted pending/firing alerts: they keep their state and
  // active_at, so `for` keeps counting from when the condition first held.
  void restore(std::vector<alert> alerts);
  // Samples for ALERTS{alertstate=...} and ALERTS_FOR_STATE at t, as Prometheus writes them.
  std::vector<promql::vector_element> alerts_series(std::int64_t t_ms) const;

  const std::string& name() const { return name_; }

 private:
  std::string name_;
  std::int64_t hold_ms_, keep_firing_for_ms_;
  std::size_t limit_ = 0;
  std::vector<std::pair<std::string, compiled_template>> labels_, annotations_;
  std::map<tsdb::label_set, alert> active_;
  std::string last_error_;
};

}  // namespace wk::rules
