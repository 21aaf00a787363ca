#include "actors/alerter.hpp"

#include <deque>
#include <limits>
#include <optional>

#include <caf/all.hpp>
#include <fmt/format.h>

#include "actors/alert_entry.hpp"
#include "promql/engine.hpp"
#include "protocol/rest/alert_json.hpp"
#include "rules/group_evaluator.hpp"
#include "telemetry/logging.hpp"
#include "watch/evaluation_pacer.hpp"

namespace wk::actors {

namespace {

// Several checks of a service landing together cost one evaluation.
constexpr std::int64_t min_gap_ms = 100;
// Transitions waiting for the database beyond this are dropped (and logged).
constexpr std::size_t max_queued_rows = 100'000;

std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

std::map<std::string, std::string> to_map(const tsdb::label_set& labels) {
  std::map<std::string, std::string> m;
  for (const auto& l : labels.labels()) m.emplace(l.name, l.value);
  return m;
}

std::string fingerprint(const std::string& scope, const std::string& group, const std::string& rule,
                        const tsdb::label_set& labels) {
  std::vector<tsdb::label> all = labels.labels();
  all.push_back({"__wk_scope__", scope.empty() ? "-" : scope});
  all.push_back({"__wk_group__", group});
  all.push_back({"__wk_rule__", rule});
  return fmt::format("{:016x}", tsdb::label_set(std::move(all)).fingerprint());
}

persistence::alert_row to_row(const std::string& scope, const std::string& group,
                              const std::string& rule, const rules::alert_transition& t,
                              std::int64_t now) {
  persistence::alert_row r;
  r.fingerprint = fingerprint(scope, group, rule, t.a.labels);
  r.scope = scope;
  r.rule_group = group;
  r.rule_name = rule;
  r.service = std::string(t.a.labels.get("service"));
  r.labels = to_map(t.a.labels);
  r.annotations = t.a.annotations;
  r.from_state = rules::to_string(t.from);
  r.to_state = rules::to_string(t.to);
  r.value = t.a.value;
  r.active_at_ms = t.a.active_at_ms;
  r.fired_at_ms = t.a.fired_at_ms;
  r.resolved_at_ms = t.to == rules::alert_state::inactive ? (t.a.resolved_at_ms ? t.a.resolved_at_ms : now) : 0;
  r.keep_firing_since_ms = t.a.keep_firing_since_ms;
  r.at_ms = now;
  return r;
}

struct alerter_state {
  std::vector<std::unique_ptr<rules::group_evaluator>> groups;
  std::optional<watch::evaluation_pacer> pacer;
  std::deque<std::vector<persistence::alert_row>> outbox;  // committed in order
  std::size_t queued_rows = 0;
  bool commit_in_flight = false;
  bool restored = false;
  bool landed_before_restore = false;
  std::int64_t timer_at = std::numeric_limits<std::int64_t>::max();
  std::map<std::string, std::string> last_errors;  // rule -> error, logged once per change
};

}  // namespace

caf::behavior alerter(caf::event_based_actor* self, runtime_ptr rt, alerter_settings settings,
                      alert_store_actor store) {
  auto st = std::make_shared<alerter_state>();
  auto log = telemetry::logger("rules");
  auto engine = std::make_shared<promql::engine>(*rt->head);
  const std::string scope = settings.scope;
  const std::string scope_label = scope;

  auto build = [=](const rule_groups_ptr& groups) {
    std::map<std::pair<std::string, std::string>, std::vector<rules::alert>> carried;
    for (const auto& g : st->groups) {
      for (const auto& r : g->group().rules) {
        if (const auto* state = g->state_of(r.name)) carried[{g->group().name, r.name}] = state->active();
      }
    }
    st->groups.clear();
    std::vector<std::int64_t> intervals;
    std::optional<std::pair<std::string, std::string>> implied;
    if (!scope.empty()) implied = std::make_pair(std::string("service"), scope);
    for (const auto& g : groups ? *groups : std::vector<rules::rule_group>{}) {
      auto eval = std::make_unique<rules::group_evaluator>(g, implied, settings.external_labels,
                                                           settings.external_url);
      for (const auto& r : g.rules) {
        auto it = carried.find({g.name, r.name});
        if (it != carried.end()) eval->restore(r.name, it->second);
      }
      intervals.push_back(g.interval_ms > 0 ? g.interval_ms : settings.default_interval.count());
      st->groups.push_back(std::move(eval));
    }
    st->pacer.emplace(std::move(intervals), min_gap_ms);
  };

  auto commit_next_ptr = std::make_shared<std::function<void()>>();
  *commit_next_ptr = [=] {
    if (st->commit_in_flight || st->outbox.empty()) return;
    st->commit_in_flight = true;
    self->request(store, std::chrono::seconds(10), record_atom_v, st->outbox.front())
      .then(
        [=](bool) {
          st->commit_in_flight = false;
          auto batch = std::move(st->outbox.front());
          st->outbox.pop_front();
          st->queued_rows -= batch.size();
          for (const auto& row : batch) {
            rt->metrics->alert_transitions.with({scope_label, row.to_state}).inc();
            auto json = rest::alert_json(alert_entry_of(row));
            log->info("alert {} {} -> {} scope={}: {}", row.rule_name, row.from_state,
                      row.to_state, scope.empty() ? "global" : scope, json);
            publish_event(*rt, "alerts", "alert_transition", std::move(json), row.at_ms);
          }
          (*commit_next_ptr)();
        },
        [=](caf::error& err) {
          st->commit_in_flight = false;
          log->warn("alert transitions of scope {} not yet committed ({} queued): {}",
                    scope.empty() ? "global" : scope, st->queued_rows, caf::to_string(err));
          self->delayed_send(self, std::chrono::seconds(1), record_atom_v);
        });
  };

  // The self-referencing callbacks hold actor handles; break the cycles when this actor ends,
  // or the detached actors they name are never destroyed and shutdown hangs.
  self->attach_functor([commit_next_ptr] {
    *commit_next_ptr = nullptr;
  });
  auto schedule = [=] {
    const auto next = st->pacer ? st->pacer->next_due_ms() : std::numeric_limits<std::int64_t>::max();
    if (next == std::numeric_limits<std::int64_t>::max() || next >= st->timer_at) return;
    st->timer_at = next;
    const auto wait = std::max<std::int64_t>(0, next - wall_ms());
    self->delayed_send(self, std::chrono::milliseconds(wait), evaluate_atom_v);
  };

  auto run = [=](const std::vector<std::size_t>& due) {
    if (due.empty()) return;
    const auto now = wall_ms();
    std::vector<persistence::alert_row> rows;
    for (auto i : due) {
      auto& g = *st->groups[i];
      const auto started = std::chrono::steady_clock::now();
      auto res = g.evaluate(*rt->head, *engine, now);
      rt->metrics->rule_group_duration.get().observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
      rt->metrics->rule_evaluations.with({scope_label}).inc();
      for (const auto& o : res.outcomes) {
        auto& last = st->last_errors[o.rule];
        if (!o.error.empty()) {
          rt->metrics->rule_failures.with({scope_label, o.rule}).inc();
          if (last != o.error) log->error("rule {} of group {} failed: {}", o.rule, g.group().name, o.error);
        } else if (!last.empty()) {
          log->info("rule {} of group {} evaluates again", o.rule, g.group().name);
        }
        last = o.error;
      }
      for (const auto& t : res.transitions) {
        // The rule a transition belongs to: the alertname label names it.
        const std::string rule(t.a.labels.get("alertname"));
        rows.push_back(to_row(scope, g.group().name, rule, t, now));
      }
    }
    if (!rows.empty()) {
      if (st->queued_rows + rows.size() > max_queued_rows) {
        log->error("database unavailable too long: dropping {} alert transitions of scope {}",
                   rows.size(), scope.empty() ? "global" : scope);
      } else {
        st->queued_rows += rows.size();
        st->outbox.push_back(std::move(rows));
        (*commit_next_ptr)();
      }
    }
    std::size_t pending = 0, firing = 0;
    for (const auto& g : st->groups) {
      for (const auto& a : g->active_alerts()) (a.state == rules::alert_state::firing ? firing : pending)++;
    }
    rt->metrics->alerts_active.with({scope_label, "pending"}).set(double(pending));
    rt->metrics->alerts_active.with({scope_label, "firing"}).set(double(firing));
  };

  build(settings.groups);
  // Restore pending and firing alerts before the first evaluation, so `for` keeps counting.
  self->request(store, std::chrono::seconds(5), list_atom_v, scope)
    .then(
      [=](const std::vector<persistence::alert_row>& rows) {
        std::map<std::pair<std::string, std::string>, std::vector<rules::alert>> by_rule;
        for (const auto& r : rows) {
          rules::alert a;
          std::vector<tsdb::label> labels;
          for (const auto& [k, v] : r.labels) labels.push_back({k, v});
          try {
            a.labels = tsdb::label_set(std::move(labels));
          } catch (const std::exception&) {
            continue;
          }
          a.annotations = r.annotations;
          a.state = r.to_state == "firing" ? rules::alert_state::firing : rules::alert_state::pending;
          a.value = r.value;
          a.active_at_ms = r.active_at_ms;
          a.fired_at_ms = r.fired_at_ms;
          a.keep_firing_since_ms = r.keep_firing_since_ms;
          by_rule[{r.rule_group, r.rule_name}].push_back(std::move(a));
        }
        for (auto& g : st->groups) {
          for (const auto& r : g->group().rules) {
            auto it = by_rule.find({g->group().name, r.name});
            if (it != by_rule.end()) g->restore(r.name, it->second);
          }
        }
        if (!rows.empty())
          log->info("restored {} pending/firing alerts of scope {}", rows.size(), scope.empty() ? "global" : scope);
        st->restored = true;
        self->send(self, evaluate_atom_v);
      },
      [=](caf::error& err) {
        log->warn("alerts of scope {} not restored (database: {}); evaluating from scratch",
                  scope.empty() ? "global" : scope, caf::to_string(err));
        st->restored = true;
        self->send(self, evaluate_atom_v);
      });

  return {
    [=](landed_atom) {
      if (!st->restored) return;
      run(st->pacer->on_data(wall_ms()));
      schedule();
    },
    [=](evaluate_atom) {
      if (!st->restored) return;
      st->timer_at = std::numeric_limits<std::int64_t>::max();
      run(st->pacer->on_timer(wall_ms()));
      schedule();
    },
    [=](record_atom) { (*commit_next_ptr)(); },
    [=](reload_atom, const rule_groups_ptr& groups) {
      build(groups);
      st->timer_at = std::numeric_limits<std::int64_t>::max();
      schedule();
    },
  };
}

}  // namespace wk::actors
