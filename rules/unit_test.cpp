#include "rules/unit_test.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <utility>
#include <vector>

#include "promql/engine.hpp"
#include "promql/error.hpp"
#include "promql/parser.hpp"
#include "promql/series_notation.hpp"
#include "rules/group_evaluator.hpp"
#include "rules/rule_file.hpp"
#include "rules/template.hpp"

namespace wk::rules {
namespace {

// A test asking for more evaluations than this (eval_time / evaluation_interval) is refused
// rather than left to run for hours.
constexpr std::int64_t max_evaluations = 1'000'000;

struct file_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

using string_map = std::map<std::string, std::string>;

struct exp_alert {
  string_map labels, annotations;
};

struct alert_case {
  int line = 0;
  std::int64_t eval_time = 0;
  std::string alertname;
  std::vector<exp_alert> expected;
};

struct exp_sample {
  std::string labels;
  double value = 0;
  int line = 0;
};

struct expr_case {
  int line = 0;
  std::string expr;
  std::int64_t eval_time = 0;
  std::vector<exp_sample> expected;
};

struct input_series {
  std::string series, values;
  int line = 0;
};

struct test_group {
  int line = 0;
  std::string name;
  std::int64_t interval = 0;
  std::vector<input_series> inputs;
  string_map external_labels;
  std::string external_url;
  std::vector<alert_case> alerts;
  std::vector<expr_case> exprs;
};

struct test_file {
  std::vector<std::string> rule_files;
  std::int64_t evaluation_interval = 60 * 1000;
  std::vector<std::string> group_eval_order;
  std::vector<test_group> groups;
};

// ---- YAML reading ------------------------------------------------------------------------

class yaml_reader {
 public:
  explicit yaml_reader(std::string name) : name_(std::move(name)) {}

  [[noreturn]] void fail(const YAML::Node& n, const std::string& message) const {
    std::string where = name_;
    if (n.IsDefined() && !n.Mark().is_null()) where += ":" + std::to_string(n.Mark().line + 1);
    throw file_error(where + ": " + message);
  }

  void keys(const YAML::Node& map, std::initializer_list<const char*> known, const std::string& what) const {
    if (!map.IsMap()) fail(map, what + " must be a mapping");
    std::set<std::string> seen;
    for (const auto& kv : map) {
      if (!kv.first.IsScalar()) fail(kv.first, what + " keys must be strings");
      const std::string k = kv.first.Scalar();
      if (std::none_of(known.begin(), known.end(), [&](const char* s) { return k == s; }))
        fail(kv.first, "unknown key \"" + k + "\" in " + what);
      if (!seen.insert(k).second) fail(kv.first, "key \"" + k + "\" is repeated in " + what);
    }
  }

  std::string text(const YAML::Node& n, const std::string& what) const {
    if (!n.IsDefined() || n.IsNull()) return "";
    if (!n.IsScalar()) fail(n, what + " must be a string");
    return n.Scalar();
  }

  std::int64_t duration(const YAML::Node& n, const std::string& what) const {
    const std::string t = text(n, what);
    std::int64_t ms = 0;
    if (!parse_prometheus_duration(t, ms)) fail(n, what + ": not a valid duration string: \"" + t + "\"");
    return ms;
  }

  double number(const YAML::Node& n, const std::string& what) const {
    std::string t = text(n, what);
    std::string lower;
    for (const char c : t) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower == ".nan" || lower == "nan") return std::numeric_limits<double>::quiet_NaN();
    if (lower == ".inf" || lower == "+.inf" || lower == "inf" || lower == "+inf") return HUGE_VAL;
    if (lower == "-.inf" || lower == "-inf") return -HUGE_VAL;
    char* end = nullptr;
    const double v = std::strtod(t.c_str(), &end);
    if (t.empty() || end != t.c_str() + t.size()) fail(n, what + ": not a number: \"" + t + "\"");
    return v;
  }

  std::vector<YAML::Node> list(const YAML::Node& n, const std::string& what) const {
    std::vector<YAML::Node> out;
    if (!n.IsDefined() || n.IsNull()) return out;
    if (!n.IsSequence()) fail(n, what + " must be a list");
    for (const auto& item : n) out.push_back(item);
    return out;
  }

  string_map map(const YAML::Node& n, const std::string& what) const {
    string_map out;
    if (!n.IsDefined() || n.IsNull()) return out;
    if (!n.IsMap()) fail(n, what + " must be a mapping");
    for (const auto& kv : n) {
      const std::string k = text(kv.first, what + " key");
      if (!out.emplace(k, text(kv.second, what + " \"" + k + "\"")).second)
        fail(kv.first, "key \"" + k + "\" is repeated in " + what);
    }
    return out;
  }

  test_file read(const std::string& content) const {
    YAML::Node doc;
    try {
      doc = YAML::Load(content);
    } catch (const YAML::Exception& e) {
      throw file_error(name_ + ":" + std::to_string(e.mark.line + 1) + ": YAML syntax error: " + e.msg);
    }
    test_file f;
    if (!doc.IsDefined() || doc.IsNull()) return f;
    keys(doc, {"rule_files", "evaluation_interval", "group_eval_order", "tests"}, "the test file");
    for (const auto& r : list(doc["rule_files"], "rule_files")) f.rule_files.push_back(text(r, "rule file"));
    if (doc["evaluation_interval"]) f.evaluation_interval = duration(doc["evaluation_interval"], "evaluation_interval");
    if (f.evaluation_interval <= 0) f.evaluation_interval = 60 * 1000;
    for (const auto& g : list(doc["group_eval_order"], "group_eval_order"))
      f.group_eval_order.push_back(text(g, "group name"));
    for (const auto& t : list(doc["tests"], "tests")) f.groups.push_back(group(t, f.evaluation_interval));
    return f;
  }

 private:
  test_group group(const YAML::Node& n, std::int64_t default_interval) const {
    keys(n, {"name", "interval", "input_series", "external_labels", "external_url", "alert_rule_test",
             "promql_expr_test"},
         "a test group");
    test_group g;
    g.line = n.Mark().line + 1;
    g.name = text(n["name"], "name");
    g.interval = n["interval"] ? duration(n["interval"], "interval") : 0;
    if (g.interval <= 0) g.interval = default_interval;
    for (const auto& s : list(n["input_series"], "input_series")) {
      keys(s, {"series", "values"}, "an input series");
      g.inputs.push_back({text(s["series"], "series"), text(s["values"], "values"), s.Mark().line + 1});
    }
    g.external_labels = map(n["external_labels"], "external_labels");
    g.external_url = text(n["external_url"], "external_url");
    for (const auto& a : list(n["alert_rule_test"], "alert_rule_test")) {
      keys(a, {"eval_time", "alertname", "exp_alerts"}, "an alert_rule_test");
      alert_case c;
      c.line = a.Mark().line + 1;
      c.eval_time = a["eval_time"] ? duration(a["eval_time"], "eval_time") : 0;
      c.alertname = text(a["alertname"], "alertname");
      if (c.alertname.empty()) fail(a, "alert_rule_test: alertname must not be empty");
      for (const auto& e : list(a["exp_alerts"], "exp_alerts")) {
        keys(e, {"exp_labels", "exp_annotations"}, "an expected alert");
        c.expected.push_back({map(e["exp_labels"], "exp_labels"), map(e["exp_annotations"], "exp_annotations")});
      }
      g.alerts.push_back(std::move(c));
    }
    for (const auto& p : list(n["promql_expr_test"], "promql_expr_test")) {
      keys(p, {"expr", "eval_time", "exp_samples"}, "a promql_expr_test");
      expr_case c;
      c.line = p.Mark().line + 1;
      c.expr = text(p["expr"], "expr");
      c.eval_time = p["eval_time"] ? duration(p["eval_time"], "eval_time") : 0;
      for (const auto& s : list(p["exp_samples"], "exp_samples")) {
        keys(s, {"labels", "value"}, "an expected sample");
        c.expected.push_back({text(s["labels"], "labels"), number(s["value"], "value"), s.Mark().line + 1});
      }
      g.exprs.push_back(std::move(c));
    }
    return g;
  }

  std::string name_;
};

// ---- rendering, as promtool prints alerts and samples ------------------------------------

std::string render_map(const string_map& m) {
  std::string out = "{";
  bool first = true;
  for (const auto& [k, v] : m) {
    if (!first) out += ", ";
    first = false;
    out += k + "=\"" + v + "\"";
  }
  return out + "}";
}

using alert_view = std::pair<string_map, string_map>;  // labels, annotations

std::string render_alerts(const std::vector<alert_view>& alerts) {
  std::string out = "[";
  for (std::size_t i = 0; i < alerts.size(); ++i) {
    if (i) out += ", ";
    out += std::to_string(i) + ": Labels:" + render_map(alerts[i].first) + " Annotations:" + render_map(alerts[i].second);
  }
  return out + "]";
}

std::string render_samples(const std::vector<promql::vector_element>& samples) {
  std::string out = "[";
  for (std::size_t i = 0; i < samples.size(); ++i) {
    if (i) out += ", ";
    out += samples[i].labels.to_string() + " " + go_format_float(samples[i].v);
  }
  return out + "]";
}

bool same_value(double a, double b) { return a == b || (std::isnan(a) && std::isnan(b)); }

// ---- running -----------------------------------------------------------------------------

class runner {
 public:
  runner(std::string name, std::string base_dir) : name_(std::move(name)), base_dir_(std::move(base_dir)) {}

  promql::test_report run(const std::string& content) {
    test_file f;
    try {
      f = yaml_reader(name_).read(content);
    } catch (const file_error& e) {
      report_.failed = 1;
      report_.failures.push_back(e.what());
      return report_;
    }
    const load_result loaded = load_rule_globs(f.rule_files, base_dir_);
    std::size_t cases = 0;
    for (const auto& g : f.groups) cases += g.alerts.size() + g.exprs.size();
    if (!loaded.errors.empty()) {
      for (const auto& e : loaded.errors) report_.failures.push_back(name_ + ": rule file: " + e);
      report_.failed += static_cast<int>(std::max<std::size_t>(cases, 1));
      return report_;
    }
    std::vector<rule_group> groups = loaded.groups;
    if (!f.group_eval_order.empty()) {
      std::string why;
      if (!order_groups(groups, f.group_eval_order, why)) {
        report_.failures.push_back(name_ + ": group_eval_order: " + why);
        report_.failed += static_cast<int>(std::max<std::size_t>(cases, 1));
        return report_;
      }
    }
    for (const auto& g : f.groups) run_group(g, groups, f.evaluation_interval);
    return report_;
  }

 private:
  static bool order_groups(std::vector<rule_group>& groups, const std::vector<std::string>& order, std::string& why) {
    std::set<std::string> names;
    for (const auto& g : groups) names.insert(g.name);
    std::set<std::string> listed;
    for (const auto& n : order) {
      if (!names.count(n)) {
        why = "group \"" + n + "\" is not in the rule files";
        return false;
      }
      if (!listed.insert(n).second) {
        why = "group \"" + n + "\" is listed twice";
        return false;
      }
    }
    if (listed.size() != names.size()) {
      for (const auto& n : names)
        if (!listed.count(n)) {
          why = "group \"" + n + "\" is missing from group_eval_order";
          return false;
        }
    }
    std::stable_sort(groups.begin(), groups.end(), [&](const rule_group& a, const rule_group& b) {
      return std::find(order.begin(), order.end(), a.name) < std::find(order.begin(), order.end(), b.name);
    });
    return true;
  }

  std::string prefix(const test_group& g, int line) const {
    std::string p = name_ + ":" + std::to_string(line) + ": ";
    if (!g.name.empty()) p += "test \"" + g.name + "\": ";
    return p;
  }

  void fail(const test_group& g, int line, const std::string& why) {
    ++report_.failed;
    report_.failures.push_back(prefix(g, line) + why);
  }

  // Loads input series; false (with every case of the group failed) on a bad series.
  bool load(const test_group& g, tsdb::head& head) {
    for (const auto& in : g.inputs) {
      try {
        const tsdb::label_set labels = promql::parse_series_description(in.series);
        const auto points = promql::expand_series_values(in.values);
        const tsdb::series_ref ref = head.get_or_create(labels);
        for (std::size_t i = 0; i < points.size(); ++i)
          if (points[i]) head.append(ref, static_cast<std::int64_t>(i) * g.interval, *points[i]);
      } catch (const std::exception& e) {
        fail_all(g, in.line, "input series \"" + in.series + "\": " + e.what());
        return false;
      }
    }
    return true;
  }

  void fail_all(const test_group& g, int line, const std::string& why) {
    report_.failures.push_back(prefix(g, line) + why);
    report_.failed += static_cast<int>(std::max<std::size_t>(g.alerts.size() + g.exprs.size(), 1));
  }

  void run_group(const test_group& g, const std::vector<rule_group>& rule_groups, std::int64_t eval_interval) {
    tsdb::head head(tsdb::head_options{std::numeric_limits<std::int64_t>::max() / 4, 16, 120,
                                       std::numeric_limits<std::uint32_t>::max()});
    if (!load(g, head)) return;
    std::vector<std::unique_ptr<group_evaluator>> evaluators;
    for (const auto& rg : rule_groups)
      evaluators.push_back(std::make_unique<group_evaluator>(rg, std::nullopt, g.external_labels, g.external_url));
    const promql::engine eng(head);

    std::int64_t maxt = 0;
    for (const auto& a : g.alerts) maxt = std::max(maxt, a.eval_time);
    for (const auto& e : g.exprs) maxt = std::max(maxt, e.eval_time);
    if (maxt / eval_interval > max_evaluations)
      return fail_all(g, g.line, "eval_time " + format_prometheus_duration(maxt) + " needs more than " +
                                     std::to_string(max_evaluations) + " evaluations at evaluation_interval " +
                                     format_prometheus_duration(eval_interval));

    std::vector<const alert_case*> pending;
    for (const auto& a : g.alerts) pending.push_back(&a);
    std::stable_sort(pending.begin(), pending.end(),
                     [](const alert_case* a, const alert_case* b) { return a->eval_time < b->eval_time; });
    std::size_t next = 0;
    for (std::int64_t ts = 0; ts <= maxt; ts += eval_interval) {
      std::string errors;
      for (auto& ev : evaluators) {
        const auto r = ev->evaluate(head, eng, ts);
        for (const auto& o : r.outcomes)
          if (!o.error.empty())
            errors += (errors.empty() ? "" : "; ") + std::string("rule: ") + o.rule + ", time: " +
                      format_prometheus_duration(ts) + ", err: " + o.error;
      }
      if (!errors.empty()) {
        // As promtool: evaluation errors end the group; its remaining cases fail.
        const std::size_t left = (pending.size() - next) + g.exprs.size();
        report_.failures.push_back(prefix(g, g.line) + errors);
        report_.failed += static_cast<int>(std::max<std::size_t>(left, 1));
        return;
      }
      for (; next < pending.size() && pending[next]->eval_time < ts + eval_interval; ++next)
        check_alerts(g, *pending[next], evaluators);
    }
    for (const auto& e : g.exprs) check_expr(g, e, eng);
  }

  void check_alerts(const test_group& g, const alert_case& c,
                    const std::vector<std::unique_ptr<group_evaluator>>& evaluators) {
    std::vector<alert_view> got, want;
    for (const auto& ev : evaluators) {
      const alerting_rule_state* st = ev->state_of(c.alertname);
      if (!st) continue;
      for (const alert& a : st->active()) {
        if (a.state != alert_state::firing) continue;
        string_map labels;
        for (const auto& l : a.labels.labels()) labels[l.name] = l.value;
        got.emplace_back(std::move(labels), a.annotations);
      }
    }
    for (const auto& e : c.expected) {
      string_map labels;
      for (const auto& [k, v] : e.labels)
        if (!v.empty()) labels[k] = v;
      labels["alertname"] = c.alertname;
      string_map annotations;
      for (const auto& [k, v] : e.annotations)
        if (!v.empty()) annotations[k] = v;
      want.emplace_back(std::move(labels), std::move(annotations));
    }
    std::sort(got.begin(), got.end());
    std::sort(want.begin(), want.end());
    if (got == want) {
      ++report_.passed;
      return;
    }
    fail(g, c.line, "alertname: " + c.alertname + ", time: " + format_prometheus_duration(c.eval_time) +
                        ", exp: " + render_alerts(want) + ", got: " + render_alerts(got));
  }

  void check_expr(const test_group& g, const expr_case& c, const promql::engine& eng) {
    const std::string head = "expr: \"" + c.expr + "\", time: " + format_prometheus_duration(c.eval_time);
    std::vector<promql::vector_element> got;
    try {
      promql::query_result r = eng.instant_query(c.expr, c.eval_time);
      if (r.type == promql::value_type::vector) got = std::move(r.vector);
      else if (r.type == promql::value_type::scalar) got.push_back({tsdb::label_set(), r.scalar});
      else throw promql::error(promql::error_kind::execution, "rule result is not a vector or scalar");
    } catch (const std::exception& e) {
      return fail(g, c.line, head + ", err: " + e.what());
    }
    std::vector<promql::vector_element> want;
    for (const auto& s : c.expected) {
      try {
        want.push_back({s.labels.empty() ? tsdb::label_set() : promql::parse_series_description(s.labels), s.value});
      } catch (const std::exception& e) {
        return fail(g, s.line, head + ", err: labels \"" + s.labels + "\": " + e.what());
      }
    }
    const auto by_labels = [](const promql::vector_element& a, const promql::vector_element& b) {
      return a.labels < b.labels;
    };
    std::sort(got.begin(), got.end(), by_labels);
    std::sort(want.begin(), want.end(), by_labels);
    bool equal = got.size() == want.size();
    for (std::size_t i = 0; equal && i < got.size(); ++i)
      equal = got[i].labels == want[i].labels && same_value(got[i].v, want[i].v);
    if (equal) {
      ++report_.passed;
      return;
    }
    fail(g, c.line, head + ", exp: " + render_samples(want) + ", got: " + render_samples(got));
  }

  std::string name_, base_dir_;
  promql::test_report report_;
};

}  // namespace

promql::test_report run_rule_test(const std::string& text, const std::string& name, const std::string& base_dir) {
  try {
    return runner(name, base_dir).run(text);
  } catch (const std::exception& e) {
    promql::test_report r;
    r.failed = 1;
    r.failures.push_back(name + ": " + e.what());
    return r;
  }
}

promql::test_report run_rule_test_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    promql::test_report r;
    r.failed = 1;
    r.failures.push_back(path + ": cannot open file");
    return r;
  }
  std::string text;
  char buf[65536];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    text.append(buf, static_cast<std::size_t>(in.gcount()));
    if (text.size() > max_rule_file_bytes) {
      promql::test_report r;
      r.failed = 1;
      r.failures.push_back(path + ": larger than " + std::to_string(max_rule_file_bytes >> 20) + " MiB");
      return r;
    }
  }
  const std::size_t slash = path.rfind('/');
  return run_rule_test(text, path, slash == std::string::npos ? "." : path.substr(0, slash));
}

}  // namespace wk::rules
