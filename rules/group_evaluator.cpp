#include "rules/group_evaluator.hpp"

#include <exception>
#include <set>

#include "promql/error.hpp"
#include "tsdb/sample.hpp"

namespace wk::rules {
namespace {

void add_matcher(promql::expr& e, const tsdb::matcher& m) {
  if (e.kind == promql::expr_kind::vector_selector || e.kind == promql::expr_kind::matrix_selector)
    e.matchers.push_back(m);
  for (auto& a : e.args)
    if (a) add_matcher(*a, m);
}

}  // namespace

promql::expr_ptr clone(const promql::expr& e) {
  auto out = std::make_unique<promql::expr>();
  out->kind = e.kind;
  out->position = e.position;
  out->type = e.type;
  out->depth = e.depth;
  out->number = e.number;
  out->text = e.text;
  out->matchers = e.matchers;
  out->range_ms = e.range_ms;
  out->step_ms = e.step_ms;
  out->offset_ms = e.offset_ms;
  out->at = e.at;
  out->at_ms = e.at_ms;
  out->op = e.op;
  out->return_bool = e.return_bool;
  out->matching = e.matching;
  out->unary_op = e.unary_op;
  out->grouping = e.grouping;
  out->without = e.without;
  out->args.reserve(e.args.size());
  for (const auto& a : e.args) out->args.push_back(a ? clone(*a) : nullptr);
  return out;
}

promql::expr_ptr with_matcher(const promql::expr& e, const std::string& label, const std::string& value) {
  promql::expr_ptr out = clone(e);
  add_matcher(*out, tsdb::matcher(label, tsdb::match_op::equal, value));
  return out;
}

group_evaluator::group_evaluator(rule_group g, std::optional<std::pair<std::string, std::string>> implied_matcher,
                                 std::map<std::string, std::string> external_labels, std::string external_url)
    : group_(std::move(g)),
      implied_(std::move(implied_matcher)),
      external_labels_(std::move(external_labels)),
      external_url_(std::move(external_url)) {
  rules_.reserve(group_.rules.size());
  for (const rule& r : group_.rules) {
    compiled_rule c{&r, nullptr, std::nullopt, {}};
    if (r.expr) c.expr = implied_ ? with_matcher(*r.expr, implied_->first, implied_->second) : clone(*r.expr);
    if (r.type == rule::kind::alerting) {
      c.alerts.emplace(r);
      c.alerts->set_limit(group_.limit);
    }
    rules_.push_back(std::move(c));
  }
}

void group_evaluator::add_implied_label(std::vector<promql::vector_element>& v) const {
  if (!implied_) return;
  for (auto& el : v) {
    if (!el.labels.get(implied_->first).empty()) continue;
    std::vector<tsdb::label> l = el.labels.labels();
    l.push_back({implied_->first, implied_->second});
    el.labels = tsdb::label_set(std::move(l));
  }
}

void group_evaluator::write(tsdb::head& head, compiled_rule& c, const std::vector<promql::vector_element>& samples,
                            std::int64_t t_ms) const {
  std::map<tsdb::label_set, tsdb::series_ref> now;
  for (const auto& s : samples) {
    const auto known = c.written.find(s.labels);
    tsdb::series_ref ref = known != c.written.end() ? known->second : head.get_or_create(s.labels);
    // The head's gc may have dropped the series since: create it again.
    if (head.append(ref, t_ms, s.v) == tsdb::append_status::unknown_series) {
      ref = head.get_or_create(s.labels);
      head.append(ref, t_ms, s.v);
    }
    now.emplace(s.labels, ref);
  }
  for (const auto& [labels, ref] : c.written)
    if (!now.count(labels)) head.append(ref, t_ms, tsdb::stale_nan());
  c.written = std::move(now);
}

group_evaluator::result group_evaluator::evaluate(tsdb::head& head, const promql::engine& eng, std::int64_t t_ms) {
  result out;
  out.outcomes.reserve(rules_.size());
  for (compiled_rule& c : rules_) {
    rule_outcome o{c.r->name, {}, 0};
    try {
      if (!c.expr) throw promql::error(promql::error_kind::parse, "rule has no parsed expression");
      promql::query_result q = eng.instant_query(*c.expr, t_ms);
      std::vector<promql::vector_element> v;
      if (q.type == promql::value_type::vector) {
        v = std::move(q.vector);
      } else if (q.type == promql::value_type::scalar) {
        v.push_back({tsdb::label_set(), q.scalar});
      } else {
        throw promql::error(promql::error_kind::execution, "rule result is not a vector or scalar");
      }
      add_implied_label(v);
      if (c.alerts) {
        auto transitions = c.alerts->evaluate(v, t_ms, external_labels_, external_url_);
        for (auto& t : transitions) out.transitions.push_back(std::move(t));
        o.error = c.alerts->last_error();
        const auto series = c.alerts->alerts_series(t_ms);
        o.samples = series.size();
        write(head, c, series, t_ms);
      } else {
        std::set<tsdb::label_set> seen;
        for (auto& el : v) {
          std::vector<tsdb::label> l;
          l.reserve(el.labels.size() + c.r->labels.size() + 1);
          for (const auto& x : el.labels.labels())
            if (x.name != tsdb::metric_name_label && !c.r->labels.count(x.name)) l.push_back(x);
          for (const auto& [k, val] : c.r->labels) l.push_back({k, val});
          l.push_back({std::string(tsdb::metric_name_label), c.r->name});
          el.labels = tsdb::label_set(std::move(l));
          if (!seen.insert(el.labels).second)
            throw promql::error(promql::error_kind::execution,
                                "vector contains metrics with the same labelset after applying rule labels");
        }
        if (group_.limit > 0 && v.size() > group_.limit)
          throw promql::error(promql::error_kind::execution, "exceeded limit of " + std::to_string(group_.limit) +
                                                                 " with " + std::to_string(v.size()) + " series");
        o.samples = v.size();
        write(head, c, v, t_ms);
      }
    } catch (const std::exception& e) {
      o.error = e.what();
      o.samples = 0;
    }
    out.outcomes.push_back(std::move(o));
  }
  return out;
}

std::vector<alert> group_evaluator::active_alerts() const {
  std::vector<alert> out;
  for (const auto& c : rules_)
    if (c.alerts)
      for (auto& a : c.alerts->active()) out.push_back(std::move(a));
  return out;
}

const alerting_rule_state* group_evaluator::state_of(const std::string& rule_name) const {
  for (const auto& c : rules_)
    if (c.alerts && c.r->name == rule_name) return &*c.alerts;
  return nullptr;
}

void group_evaluator::restore(const std::string& rule_name, std::vector<alert> alerts) {
  for (auto& c : rules_)
    if (c.alerts && c.r->name == rule_name) {
      c.alerts->restore(std::move(alerts));
      return;
    }
}

}  // namespace wk::rules
