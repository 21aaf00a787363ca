#pragma once

// Alert state from rule evaluation: the current pending/firing alerts and the history of every
// transition. Names no rules/ type: the alerting actor converts.

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace wk::persistence {

struct alert_row {
  std::string fingerprint;  // unique per (scope, group, rule, output labels)
  std::string scope;        // owning service evaluator; "" = global
  std::string rule_group, rule_name, service;
  std::map<std::string, std::string> labels, annotations;
  std::string from_state, to_state;  // to_state: pending | firing | inactive
  double value = 0;
  std::int64_t active_at_ms = 0, fired_at_ms = 0, resolved_at_ms = 0, keep_firing_since_ms = 0;
  std::int64_t at_ms = 0;  // when the transition happened
};

struct alert_query {
  std::string service;  // "" = any
  std::string state;    // pending | firing | inactive (history) ; "" = any
  std::int64_t since_ms = 0;
  std::size_t limit = 100;
};

// One connection, opened on first use and reopened after a failure; used from one thread.
// Every call either succeeds or throws persistence::error.
class alert_store {
 public:
  static constexpr std::size_t max_rows = 10000;

  explicit alert_store(std::string url);
  ~alert_store();
  alert_store(alert_store&&) noexcept;
  alert_store& operator=(alert_store&&) noexcept;

  // One transaction: every transition joins the history and moves the current table
  // (pending/firing upserted, inactive deleted). Committed before it returns.
  void record(const std::vector<alert_row>& transitions);
  // Pending and firing alerts of one scope ("" = global), to restore after a restart.
  std::vector<alert_row> current(const std::string& scope);
  // Every pending and firing alert, newest activation first.
  std::vector<alert_row> all_current();
  // Transitions, newest first.
  std::vector<alert_row> history(const alert_query& q);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace wk::persistence
