#include "rules/alert_state.hpp"

#include <set>
#include <utility>

namespace wk::rules {
namespace {

constexpr std::string_view alertname_label = "alertname";

tsdb::label_set with_labels(const tsdb::label_set& base, std::string_view name,
                            std::initializer_list<std::pair<std::string_view, std::string_view>> extra) {
  std::vector<tsdb::label> out;
  out.reserve(base.size() + extra.size() + 1);
  out.push_back({std::string(tsdb::metric_name_label), std::string(name)});
  for (const auto& l : base.labels())
    if (l.name != tsdb::metric_name_label) out.push_back(l);
  for (const auto& [k, v] : extra) out.push_back({std::string(k), std::string(v)});
  return tsdb::label_set(std::move(out));
}

}  // namespace

const char* to_string(alert_state s) {
  switch (s) {
    case alert_state::inactive: return "inactive";
    case alert_state::pending: return "pending";
    case alert_state::firing: return "firing";
  }
  return "inactive";
}

alerting_rule_state::alerting_rule_state(const rule& r)
    : name_(r.name), hold_ms_(r.for_ms), keep_firing_for_ms_(r.keep_firing_for_ms) {
  // Templates were validated at load; one that still fails to parse expands to Prometheus's
  // "<error expanding template: ...>" text.
  std::string error;
  for (const auto& [k, v] : r.labels) labels_.emplace_back(k, compiled_template(v, error));
  for (const auto& [k, v] : r.annotations) annotations_.emplace_back(k, compiled_template(v, error));
}

std::vector<alert_transition> alerting_rule_state::evaluate(const std::vector<promql::vector_element>& result,
                                                            std::int64_t t_ms,
                                                            const std::map<std::string, std::string>& external_labels,
                                                            const std::string& external_url) {
  last_error_.clear();
  std::map<tsdb::label_set, alert> fresh;
  for (const auto& el : result) {
    const template_data data{&el.labels, el.v, &external_labels, external_url};
    std::map<std::string, std::string> lbs;
    for (const auto& l : el.labels.labels())
      if (l.name != tsdb::metric_name_label) lbs.emplace(l.name, l.value);
    for (const auto& [k, tmpl] : labels_) lbs[k] = tmpl.expand(data);
    lbs[std::string(alertname_label)] = name_;
    std::vector<tsdb::label> list;
    list.reserve(lbs.size());
    for (auto& [k, v] : lbs) list.push_back({k, std::move(v)});
    alert a;
    a.labels = tsdb::label_set(std::move(list));
    for (const auto& [k, tmpl] : annotations_) a.annotations.emplace(k, tmpl.expand(data));
    a.state = alert_state::pending;
    a.value = el.v;
    a.active_at_ms = t_ms;
    const tsdb::label_set key = a.labels;
    if (!fresh.emplace(key, std::move(a)).second) {
      last_error_ = "vector contains metrics with the same labelset after applying alert labels";
      return {};
    }
  }

  std::set<tsdb::label_set> created;
  for (auto& [key, a] : fresh) {
    const auto it = active_.find(key);
    if (it != active_.end() && it->second.state != alert_state::inactive) {
      it->second.value = a.value;
      it->second.annotations = std::move(a.annotations);
      continue;
    }
    active_[key] = std::move(a);
    created.insert(key);
  }

  std::vector<alert_transition> out;
  std::size_t active_count = 0;
  for (auto it = active_.begin(); it != active_.end();) {
    alert& a = it->second;
    const alert_state before = created.count(it->first) ? alert_state::inactive : a.state;
    if (!fresh.count(it->first)) {
      bool keep_firing = false;
      if (a.state == alert_state::firing && keep_firing_for_ms_ > 0) {
        if (a.keep_firing_since_ms == 0) a.keep_firing_since_ms = t_ms;
        keep_firing = t_ms - a.keep_firing_since_ms < keep_firing_for_ms_;
      }
      const bool drop = a.state == alert_state::pending ||
                        (a.resolved_at_ms != 0 && t_ms - a.resolved_at_ms > resolved_retention_ms);
      if (a.state != alert_state::inactive && !keep_firing) {
        a.state = alert_state::inactive;
        a.resolved_at_ms = t_ms;
        out.push_back({a, before, alert_state::inactive, true});
      }
      if (drop) {
        it = active_.erase(it);
        continue;
      }
      if (!keep_firing) {
        ++it;
        continue;
      }
    } else {
      a.keep_firing_since_ms = 0;
    }
    ++active_count;
    if (a.state == alert_state::pending && t_ms - a.active_at_ms >= hold_ms_) {
      a.state = alert_state::firing;
      a.fired_at_ms = t_ms;
    }
    if (a.state != before) out.push_back({a, before, a.state, false});
    ++it;
  }

  if (limit_ > 0 && active_count > limit_) {
    last_error_ = "exceeded limit of " + std::to_string(limit_) + " with " + std::to_string(active_count) + " alerts";
    out.clear();
    for (auto& [key, a] : active_) {
      if (a.state == alert_state::inactive) continue;
      const alert_state before = created.count(key) ? alert_state::inactive : a.state;
      a.state = alert_state::inactive;
      a.resolved_at_ms = t_ms;
      if (before != alert_state::inactive) out.push_back({a, before, alert_state::inactive, true});
    }
    active_.clear();
  }
  return out;
}

std::vector<alert> alerting_rule_state::active() const {
  std::vector<alert> out;
  for (const auto& [key, a] : active_)
    if (a.state != alert_state::inactive) out.push_back(a);
  return out;
}

std::vector<alert> alerting_rule_state::all() const {
  std::vector<alert> out;
  out.reserve(active_.size());
  for (const auto& [key, a] : active_) out.push_back(a);
  return out;
}

void alerting_rule_state::restore(std::vector<alert> alerts) {
  for (auto& a : alerts) {
    if (a.state == alert_state::inactive) continue;
    const tsdb::label_set key = a.labels;
    active_[key] = std::move(a);
  }
}

std::vector<promql::vector_element> alerting_rule_state::alerts_series(std::int64_t) const {
  std::vector<promql::vector_element> out;
  for (const auto& [key, a] : active_) {
    if (a.state == alert_state::inactive) continue;
    out.push_back({with_labels(a.labels, "ALERTS", {{"alertstate", to_string(a.state)}}), 1.0});
    // Prometheus writes whole seconds: float64(ActiveAt.Unix()).
    const std::int64_t seconds = a.active_at_ms >= 0 ? a.active_at_ms / 1000 : -((-a.active_at_ms + 999) / 1000);
    out.push_back({with_labels(a.labels, "ALERTS_FOR_STATE", {}), static_cast<double>(seconds)});
  }
  return out;
}

}  // namespace wk::rules
