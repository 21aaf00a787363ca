#include "rules/catalog.hpp"

#include <set>

#include "promql/error.hpp"
#include "promql/parser.hpp"

namespace wk::rules {

namespace {

std::string base_dir_of(const std::string& source_file) {
  const auto slash = source_file.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : source_file.substr(0, slash);
}

void take(load_result r, std::vector<rule_group>& groups, std::vector<std::string>& errors) {
  for (auto& e : r.errors) errors.push_back(std::move(e));
  for (auto& g : r.groups) groups.push_back(std::move(g));
}

// A group name twice in one evaluator's set.
void check_unique(const std::vector<rule_group>& groups, const std::string& where,
                  std::vector<std::string>& errors) {
  std::map<std::string, const rule_group*> seen;
  for (const auto& g : groups) {
    auto [it, fresh] = seen.emplace(g.name, &g);
    if (!fresh)
      errors.push_back(g.file + ":" + std::to_string(g.line) + ": group \"" + g.name +
                       "\" is also defined in " + it->second->file + ":" +
                       std::to_string(it->second->line) + " (" + where +
                       "): group names must be unique");
  }
}

}  // namespace

std::vector<rule_group> catalog::for_service(const std::string& name) const {
  std::vector<rule_group> out = every_service;
  if (auto it = per_service.find(name); it != per_service.end())
    out.insert(out.end(), it->second.begin(), it->second.end());
  return out;
}

catalog load_catalog(const config::watchkeeper_config& cfg) {
  catalog c;
  const std::string base = base_dir_of(cfg.source_file);
  take(load_rule_globs(cfg.rules.files, base), c.global, c.errors);
  take(load_rule_globs(cfg.rules.service_files, base), c.every_service, c.errors);
  check_unique(c.global, "rules.files", c.errors);
  for (const auto& s : cfg.services) {
    if (s.rule_files.empty()) continue;
    auto& groups = c.per_service[s.name];
    take(load_rule_globs(s.rule_files, base), groups, c.errors);
    std::vector<rule_group> all = c.for_service(s.name);
    check_unique(all, "rules of service " + s.name, c.errors);
  }
  if (c.per_service.empty()) check_unique(c.every_service, "rules.service_files", c.errors);
  // The anomaly selectors are PromQL too; checked here so a typo refuses the configuration.
  for (std::size_t i = 0; i < cfg.anomaly.series.size(); ++i) {
    const auto& text = cfg.anomaly.series[i];
    std::string why;
    try {
      if (promql::parse(text)->kind != promql::expr_kind::vector_selector)
        why = "must be a series selector such as probe_duration_seconds{check=\"http\"}";
    } catch (const promql::error& e) {
      why = e.what();
    }
    if (!why.empty())
      c.errors.push_back(cfg.source_file + ": anomaly.series[" + std::to_string(i) + "] \"" + text +
                         "\": " + why);
  }
  // Prediction queries likewise.
  for (std::size_t i = 0; i < cfg.predictions.size(); ++i) {
    const auto& p = cfg.predictions[i];
    try {
      promql::parse(p.query);
    } catch (const promql::error& e) {
      c.errors.push_back(cfg.source_file + ": predictions[" + std::to_string(i) + "] (" + p.name +
                         ") query \"" + p.query + "\": " + e.what());
    }
  }
  return c;
}

}  // namespace wk::rules
