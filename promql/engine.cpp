#include "promql/engine.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <ctime>
#include <limits>
#include <map>
#include <regex>
#include <unordered_map>

#include "promql/error.hpp"
#include "promql/functions.hpp"
#include "promql/parser.hpp"

namespace wk::promql {
namespace {

using tsdb::label;
using tsdb::label_set;
using tsdb::sample;
using tsdb::series_data;

constexpr double nan_value = std::numeric_limits<double>::quiet_NaN();

// An intermediate value. Vector elements carry the timestamp of their sample so that
// timestamp() over a selector answers as Prometheus does.
struct element {
  label_set labels;
  double v;
  std::int64_t t;
};

struct value {
  value_type type = value_type::scalar;
  double scalar = 0;
  std::string str;
  std::vector<element> vec;
  std::vector<series_data> mat;
  range_window window{0, 0, 0};  // matrix: the range it covers
};

// Timestamps, offsets and @ values come from the query: arithmetic on them saturates.
std::int64_t sat_sub(std::int64_t a, std::int64_t b) {
  if (b > 0 && a < std::numeric_limits<std::int64_t>::min() + b) return std::numeric_limits<std::int64_t>::min();
  if (b < 0 && a > std::numeric_limits<std::int64_t>::max() + b) return std::numeric_limits<std::int64_t>::max();
  return a - b;
}

[[noreturn]] void fail(const std::string& msg) { throw error(error_kind::execution, msg); }

label_set drop_name(const label_set& ls) {
  if (ls.get(tsdb::metric_name_label).empty()) return ls;
  std::vector<label> out;
  out.reserve(ls.size());
  for (const auto& l : ls.labels())
    if (l.name != tsdb::metric_name_label) out.push_back(l);
  return label_set(std::move(out));
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// Labels kept by on(...)/by(...) (keep = true) or left after ignoring(...)/without(...).
label_set project(const label_set& ls, const std::vector<std::string>& names, bool keep) {
  std::vector<label> out;
  for (const auto& l : ls.labels()) {
    const bool listed = contains(names, l.name);
    if (keep ? listed : (!listed && l.name != tsdb::metric_name_label)) out.push_back(l);
  }
  return label_set(std::move(out));
}

label_set with_label(const label_set& ls, const std::string& name, const std::string& v) {
  std::vector<label> out;
  for (const auto& l : ls.labels())
    if (l.name != name) out.push_back(l);
  if (!v.empty()) out.push_back({name, v});
  return label_set(std::move(out));
}

void check_unique(const std::vector<element>& vec) {
  if (vec.size() < 2) return;
  std::vector<const label_set*> ptrs;
  ptrs.reserve(vec.size());
  for (const auto& e : vec) ptrs.push_back(&e.labels);
  std::sort(ptrs.begin(), ptrs.end(), [](const label_set* a, const label_set* b) { return *a < *b; });
  for (std::size_t i = 1; i < ptrs.size(); ++i)
    if (*ptrs[i] == *ptrs[i - 1]) fail("vector cannot contain metrics with the same labelset");
}

bool is_label_name(const std::string& s) {
  if (s.empty()) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (i > 0 && c >= '0' && c <= '9')))
      return false;
  }
  return true;
}

// Go's strconv.FormatFloat(v, 'f', -1, 64), which count_values uses for label values.
std::string format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[400];
  const auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed);
  return std::string(buf, r.ptr);
}

// Go regexp.Expand for label_replace: $1, ${1}, $name, ${name}, $$.
std::string expand_template(const std::string& tmpl, const std::smatch& m) {
  std::string out;
  for (std::size_t i = 0; i < tmpl.size(); ++i) {
    if (tmpl[i] != '$' || i + 1 >= tmpl.size()) {
      out += tmpl[i];
      continue;
    }
    if (tmpl[i + 1] == '$') {
      out += '$';
      ++i;
      continue;
    }
    std::string name;
    std::size_t j = i + 1;
    const bool braced = tmpl[j] == '{';
    if (braced) ++j;
    while (j < tmpl.size() && (std::isalnum(static_cast<unsigned char>(tmpl[j])) || tmpl[j] == '_')) name += tmpl[j++];
    if (name.empty() || (braced && (j >= tmpl.size() || tmpl[j] != '}'))) {
      out += '$';
      continue;
    }
    i = braced ? j : j - 1;
    if (std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; }) && name.size() < 6) {
      const std::size_t idx = std::stoul(name);
      if (idx < m.size()) out += m[idx].str();
    }
  }
  return out;
}

class evaluator {
 public:
  evaluator(const tsdb::head& head, const engine_options& options, std::int64_t start, std::int64_t end)
      : head_(head), options_(options), start_(start), end_(end) {}

  // Records the time span each selector will read, so each is fetched from the head once.
  void plan(const expr& e, std::int64_t min_t, std::int64_t max_t) {
    switch (e.kind) {
      case expr_kind::vector_selector:
      case expr_kind::matrix_selector: {
        const auto [lo, hi] = shifted(e, min_t, max_t);
        const std::int64_t back = e.kind == expr_kind::vector_selector ? options_.lookback_ms : e.range_ms;
        const std::int64_t from = sat_sub(lo, back);
        auto [it, inserted] = spans_.emplace(&e, std::make_pair(from, hi));
        if (!inserted) {
          it->second.first = std::min(it->second.first, from);
          it->second.second = std::max(it->second.second, hi);
        }
        return;
      }
      case expr_kind::subquery: {
        const auto [lo, hi] = shifted(e, min_t, max_t);
        plan(*e.args[0], sat_sub(lo, e.range_ms), hi);
        return;
      }
      default:
        for (const auto& a : e.args) plan(*a, min_t, max_t);
    }
  }

  value eval(const expr& e, std::int64_t t) {
    switch (e.kind) {
      case expr_kind::number: {
        value v;
        v.scalar = e.number;
        return v;
      }
      case expr_kind::string: {
        value v;
        v.type = value_type::string;
        v.str = e.text;
        return v;
      }
      case expr_kind::vector_selector: return eval_vector_selector(e, t);
      case expr_kind::matrix_selector: return eval_matrix_selector(e, t);
      case expr_kind::subquery: return eval_subquery(e, t);
      case expr_kind::unary: return eval_unary(e, t);
      case expr_kind::binary: return eval_binary(e, t);
      case expr_kind::aggregate: return eval_aggregate(e, t);
      case expr_kind::call: return eval_call(e, t);
    }
    throw error(error_kind::unsupported, "unknown expression kind");
  }

 private:
  std::int64_t at_time(const expr& e, std::int64_t t) const {
    switch (e.at) {
      case at_kind::time: return e.at_ms;
      case at_kind::start: return start_;
      case at_kind::end: return end_;
      case at_kind::none: break;
    }
    return t;
  }

  std::pair<std::int64_t, std::int64_t> shifted(const expr& e, std::int64_t min_t, std::int64_t max_t) const {
    if (e.at != at_kind::none) {
      const std::int64_t t = sat_sub(at_time(e, 0), e.offset_ms);
      return {t, t};
    }
    return {sat_sub(min_t, e.offset_ms), sat_sub(max_t, e.offset_ms)};
  }

  const std::vector<series_data>& data_of(const expr& e) {
    auto it = data_.find(&e);
    if (it != data_.end()) return it->second;
    const auto span = spans_.at(&e);
    auto& slot = data_[&e];
    // The lower bound is exclusive, as lookback and ranges are.
    const std::int64_t mint = span.first == std::numeric_limits<std::int64_t>::max() ? span.first : span.first + 1;
    slot = head_.select(e.matchers, mint, span.second);
    std::size_t n = 0;
    for (const auto& s : slot) n += s.samples.size();
    account(n);
    return slot;
  }

  void account(std::size_t n) {
    loaded_ += n;
    if (loaded_ > options_.max_samples) fail("query processing would load too many samples into memory");
  }

  value eval_vector_selector(const expr& e, std::int64_t t) {
    const std::int64_t ts = sat_sub(at_time(e, t), e.offset_ms);
    value out;
    out.type = value_type::vector;
    for (const auto& s : data_of(e)) {
      auto it = std::upper_bound(s.samples.begin(), s.samples.end(), ts,
                                 [](std::int64_t x, const sample& p) { return x < p.t; });
      if (it == s.samples.begin()) continue;
      --it;
      if (it->t <= sat_sub(ts, options_.lookback_ms) || tsdb::is_stale_nan(it->v)) continue;
      out.vec.push_back({s.labels, it->v, it->t});
    }
    return out;
  }

  value eval_matrix_selector(const expr& e, std::int64_t t) {
    const std::int64_t eval_t = at_time(e, t);
    const std::int64_t end = sat_sub(eval_t, e.offset_ms);
    const std::int64_t start = sat_sub(end, e.range_ms);
    value out;
    out.type = value_type::matrix;
    out.window = {start, end, eval_t};
    std::size_t n = 0;
    for (const auto& s : data_of(e)) {
      auto lo = std::upper_bound(s.samples.begin(), s.samples.end(), start,
                                 [](std::int64_t x, const sample& p) { return x < p.t; });
      auto hi = std::upper_bound(lo, s.samples.end(), end, [](std::int64_t x, const sample& p) { return x < p.t; });
      series_data sd{s.labels, {}};
      for (auto it = lo; it != hi; ++it)
        if (!tsdb::is_stale_nan(it->v)) sd.samples.push_back(*it);
      if (sd.samples.empty()) continue;
      n += sd.samples.size();
      out.mat.push_back(std::move(sd));
    }
    account(n);
    loaded_ -= n;
    return out;
  }

  value eval_subquery(const expr& e, std::int64_t t) {
    const std::int64_t eval_t = at_time(e, t);
    const std::int64_t end = sat_sub(eval_t, e.offset_ms);
    const std::int64_t start = sat_sub(end, e.range_ms);
    const std::int64_t step = e.step_ms > 0 ? e.step_ms : options_.default_subquery_step_ms;
    if (static_cast<std::size_t>(e.range_ms / step) > options_.max_subquery_steps - subquery_steps_)
      fail("subqueries would evaluate too many steps: reduce their range or increase their step");
    subquery_steps_ += static_cast<std::size_t>(e.range_ms / step);
    // The first step is the first multiple of the step after the range start.
    std::int64_t first = step * (start / step);
    if (first <= start) {
      if (first > std::numeric_limits<std::int64_t>::max() - step) return value{value_type::matrix, 0, {}, {}, {}, {start, end, eval_t}};
      first += step;
    }
    value out;
    out.type = value_type::matrix;
    out.window = {start, end, eval_t};
    std::map<label_set, std::size_t> index;
    std::size_t n = 0;
    for (std::int64_t ts = first; ts <= end; ts += step) {
      value v = eval(*e.args[0], ts);
      for (auto& el : v.vec) {
        auto [it, inserted] = index.emplace(el.labels, out.mat.size());
        if (inserted) out.mat.push_back({std::move(el.labels), {}});
        out.mat[it->second].samples.push_back({ts, el.v});
        account(1);
        ++n;
      }
      if (ts > sat_sub(end, step)) break;  // the next step would pass the end (or overflow)
    }
    loaded_ -= n;
    return out;
  }

  value eval_unary(const expr& e, std::int64_t t) {
    value v = eval(*e.args[0], t);
    if (e.unary_op == '+') return v;
    if (v.type == value_type::scalar) {
      v.scalar = -v.scalar;
      return v;
    }
    for (auto& el : v.vec) {
      el.v = -el.v;
      el.labels = drop_name(el.labels);
      el.t = t;
    }
    check_unique(v.vec);
    return v;
  }

  static bool is_comparison(binary_op op) {
    return op == binary_op::eq || op == binary_op::ne || op == binary_op::gt || op == binary_op::lt ||
           op == binary_op::ge || op == binary_op::le;
  }

  // Returns the value and whether a comparison holds (always true for arithmetic).
  static std::pair<double, bool> apply(binary_op op, double l, double r) {
    switch (op) {
      case binary_op::add: return {l + r, true};
      case binary_op::sub: return {l - r, true};
      case binary_op::mul: return {l * r, true};
      case binary_op::div: return {l / r, true};
      case binary_op::mod: return {std::fmod(l, r), true};
      case binary_op::pow: return {std::pow(l, r), true};
      case binary_op::eq: return {l, l == r};
      case binary_op::ne: return {l, l != r};
      case binary_op::gt: return {l, l > r};
      case binary_op::lt: return {l, l < r};
      case binary_op::ge: return {l, l >= r};
      case binary_op::le: return {l, l <= r};
      default: break;
    }
    throw error(error_kind::unsupported, "operator not applicable to values");
  }

  value eval_binary(const expr& e, std::int64_t t) {
    value l = eval(*e.args[0], t);
    value r = eval(*e.args[1], t);
    const bool cmp = is_comparison(e.op);
    if (l.type == value_type::scalar && r.type == value_type::scalar) {
      auto [v, keep] = apply(e.op, l.scalar, r.scalar);
      value out;
      out.scalar = cmp ? (keep ? 1.0 : 0.0) : v;
      return out;
    }
    value out;
    out.type = value_type::vector;
    if (l.type == value_type::scalar || r.type == value_type::scalar) {
      const bool scalar_left = l.type == value_type::scalar;
      value& vec = scalar_left ? r : l;
      const double s = scalar_left ? l.scalar : r.scalar;
      for (auto& el : vec.vec) {
        auto [v, keep] = apply(e.op, scalar_left ? s : el.v, scalar_left ? el.v : s);
        if (cmp && scalar_left) v = el.v;  // a comparison keeps the vector's value
        if (e.return_bool) {
          v = keep ? 1.0 : 0.0;
          keep = true;
        }
        if (!keep) continue;
        label_set ls = (!cmp || e.return_bool) ? drop_name(el.labels) : std::move(el.labels);
        out.vec.push_back({std::move(ls), v, t});
      }
      check_unique(out.vec);
      return out;
    }
    switch (e.op) {
      case binary_op::land: case binary_op::lor: case binary_op::lunless:
        return set_operation(e, std::move(l), std::move(r), t);
      default:
        return vector_binary(e, std::move(l), std::move(r), t);
    }
  }

  label_set signature(const label_set& ls, const vector_matching& m) {
    return project(ls, m.labels, m.on);
  }

  value set_operation(const expr& e, value l, value r, std::int64_t t) {
    value out;
    out.type = value_type::vector;
    if (e.op == binary_op::lor) {
      std::map<label_set, bool> left;
      for (auto& el : l.vec) {
        left.emplace(signature(el.labels, e.matching), true);
        out.vec.push_back(std::move(el));
      }
      for (auto& el : r.vec)
        if (!left.count(signature(el.labels, e.matching))) out.vec.push_back(std::move(el));
    } else {
      std::map<label_set, bool> right;
      for (const auto& el : r.vec) right.emplace(signature(el.labels, e.matching), true);
      const bool want = e.op == binary_op::land;
      for (auto& el : l.vec)
        if (right.count(signature(el.labels, e.matching)) == (want ? 1u : 0u)) out.vec.push_back(std::move(el));
    }
    for (auto& el : out.vec) el.t = t;
    return out;
  }

  value vector_binary(const expr& e, value l, value r, std::int64_t t) {
    const vector_matching& m = e.matching;
    const bool cmp = is_comparison(e.op);
    const bool swapped = m.card == cardinality::one_to_many;
    std::vector<element>& many = swapped ? r.vec : l.vec;
    std::vector<element>& one = swapped ? l.vec : r.vec;
    std::map<label_set, std::size_t> one_index;
    for (std::size_t i = 0; i < one.size(); ++i) {
      auto [it, inserted] = one_index.emplace(signature(one[i].labels, m), i);
      if (!inserted)
        fail("found duplicate series for the match group " + it->first.to_string() + " on the " +
             (swapped ? "left" : "right") +
             " hand-side of the operation: [" + one[it->second].labels.to_string() + ", " + one[i].labels.to_string() +
             "];many-to-many matching not allowed: matching labels must be unique on one side");
    }
    value out;
    out.type = value_type::vector;
    std::map<label_set, bool> matched_sigs;
    std::map<label_set, bool> result_labels;
    for (auto& el : many) {
      label_set sig = signature(el.labels, m);
      auto it = one_index.find(sig);
      if (it == one_index.end()) continue;
      const element& other = one[it->second];
      const double lv = swapped ? other.v : el.v;
      const double rv = swapped ? el.v : other.v;
      auto [v, keep] = apply(e.op, lv, rv);
      if (e.return_bool) {
        v = keep ? 1.0 : 0.0;
        keep = true;
      }
      if (m.card == cardinality::one_to_one) {
        if (!matched_sigs.emplace(sig, true).second)
          fail("multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)");
      }
      if (!keep) continue;
      // Result labels come from the "many" side, as in Prometheus's resultMetric.
      std::vector<label> labels;
      for (const auto& lb : el.labels.labels()) {
        if (lb.name == tsdb::metric_name_label && (!cmp || e.return_bool)) continue;
        if (m.card == cardinality::one_to_one && (m.on ? !contains(m.labels, lb.name) : contains(m.labels, lb.name)))
          continue;
        if (contains(m.include, lb.name)) continue;
        labels.push_back(lb);
      }
      for (const auto& name : m.include) {
        const std::string_view v2 = other.labels.get(name);
        if (!v2.empty()) labels.push_back({name, std::string(v2)});
      }
      label_set ls(std::move(labels));
      if (m.card != cardinality::one_to_one && !result_labels.emplace(ls, true).second)
        fail("multiple matches for labels: grouping labels must ensure unique matches");
      out.vec.push_back({std::move(ls), v, t});
    }
    check_unique(out.vec);
    return out;
  }

  double scalar_param(const expr& e, std::int64_t t) {
    value v = eval(e, t);
    return v.scalar;
  }

  value eval_aggregate(const expr& e, std::int64_t t) {
    const std::string& op = e.text;
    double param = 0;
    std::string label_param;
    if (op == "topk" || op == "bottomk" || op == "quantile") {
      param = scalar_param(*e.args[0], t);
    } else if (op == "count_values") {
      label_param = eval(*e.args[0], t).str;
      if (!is_label_name(label_param)) fail("invalid label name \"" + label_param + "\"");
    }
    value in = eval(*e.args.back(), t);
    struct group {
      label_set labels;
      std::vector<std::size_t> members;
    };
    std::vector<group> groups;
    std::map<label_set, std::size_t> index;
    for (std::size_t i = 0; i < in.vec.size(); ++i) {
      label_set key = project(in.vec[i].labels, e.grouping, !e.without);
      if (op == "count_values") key = with_label(key, label_param, format_value(in.vec[i].v));
      auto [it, inserted] = index.emplace(key, groups.size());
      if (inserted) groups.push_back({std::move(key), {}});
      groups[it->second].members.push_back(i);
    }
    value out;
    out.type = value_type::vector;
    if (op == "topk" || op == "bottomk") {
      if (std::isnan(param)) fail("Parameter value is NaN");
      if (param < 1) return out;
      const bool top = op == "topk";
      const double kmax = static_cast<double>(in.vec.size());
      const std::size_t k = static_cast<std::size_t>(std::min(param, kmax));
      for (auto& g : groups) {
        auto better = [&](std::size_t a, std::size_t b) {
          const double x = in.vec[a].v, y = in.vec[b].v;
          if (std::isnan(x)) return false;
          if (std::isnan(y)) return true;
          return top ? x > y : x < y;
        };
        std::stable_sort(g.members.begin(), g.members.end(), better);
        for (std::size_t i = 0; i < std::min(k, g.members.size()); ++i) {
          element el = in.vec[g.members[i]];
          el.t = t;
          out.vec.push_back(std::move(el));
        }
      }
      return out;
    }
    for (auto& g : groups) {
      double r = 0;
      const auto& mem = g.members;
      if (op == "sum") {
        kahan_sum s;
        for (auto i : mem) s.add(in.vec[i].v);
        r = s.value();
      } else if (op == "avg") {
        std::vector<sample> vals;
        for (auto i : mem) vals.push_back({0, in.vec[i].v});
        r = *eval_range_function("avg_over_time", vals, {0, 0, 0}, 0);
      } else if (op == "count" || op == "count_values") {
        r = static_cast<double>(mem.size());
      } else if (op == "group") {
        r = 1;
      } else if (op == "min" || op == "max") {
        r = in.vec[mem[0]].v;
        for (auto i : mem) {
          const double x = in.vec[i].v;
          if ((op == "max" ? r < x : r > x) || std::isnan(r)) r = x;
        }
      } else if (op == "stddev" || op == "stdvar") {
        std::vector<sample> vals;
        for (auto i : mem) vals.push_back({0, in.vec[i].v});
        r = *eval_range_function(op == "stddev" ? "stddev_over_time" : "stdvar_over_time", vals, {0, 0, 0}, 0);
      } else if (op == "quantile") {
        std::vector<double> vals;
        for (auto i : mem) vals.push_back(in.vec[i].v);
        r = quantile(param, vals);
      } else {
        throw error(error_kind::unsupported, "aggregation " + op + " is not supported");
      }
      out.vec.push_back({std::move(g.labels), r, t});
    }
    return out;
  }

  static label_set absent_labels(const expr& arg) {
    if (arg.kind != expr_kind::vector_selector && arg.kind != expr_kind::matrix_selector) return {};
    std::vector<label> out;
    std::vector<std::string> repeated;
    for (const auto& m : arg.matchers) {
      if (m.op() != tsdb::match_op::equal || m.name() == tsdb::metric_name_label) continue;
      auto it = std::find_if(out.begin(), out.end(), [&](const label& l) { return l.name == m.name(); });
      if (it != out.end()) repeated.push_back(m.name());
      else out.push_back({m.name(), m.value()});
    }
    out.erase(std::remove_if(out.begin(), out.end(), [&](const label& l) { return contains(repeated, l.name); }),
              out.end());
    return label_set(std::move(out));
  }

  value eval_call(const expr& e, std::int64_t t) {
    const std::string& f = e.text;
    value out;
    out.type = value_type::vector;
    if (f == "time") {
      out.type = value_type::scalar;
      out.scalar = static_cast<double>(t) / 1000.0;
      return out;
    }
    if (f == "pi") {
      out.type = value_type::scalar;
      out.scalar = 3.14159265358979323846;
      return out;
    }
    if (is_range_function(f) || f == "absent_over_time") {
      const std::size_t matrix_arg = (f == "quantile_over_time") ? 1 : 0;
      double param = 0;
      if (f == "quantile_over_time") param = scalar_param(*e.args[0], t);
      if (f == "predict_linear") param = scalar_param(*e.args[1], t);
      value m = eval(*e.args[matrix_arg], t);
      // Prometheus evaluates a call over an @-pinned range once, at the query start, so
      // predict_linear extrapolates from there rather than from the @ time.
      m.window.eval_ms = e.args[matrix_arg]->at != at_kind::none ? start_ : t;
      if (f == "absent_over_time") {
        if (m.mat.empty()) out.vec.push_back({absent_labels(*e.args[0]), 1.0, t});
        return out;
      }
      for (auto& s : m.mat) {
        std::optional<double> r = eval_range_function(f, s.samples, m.window, param);
        if (!r) continue;
        out.vec.push_back({f == "last_over_time" ? std::move(s.labels) : drop_name(s.labels), *r, t});
      }
      check_unique(out.vec);
      return out;
    }
    if (f == "vector") {
      out.vec.push_back({label_set{}, scalar_param(*e.args[0], t), t});
      return out;
    }
    if (f == "scalar") {
      value v = eval(*e.args[0], t);
      out.type = value_type::scalar;
      out.scalar = v.vec.size() == 1 ? v.vec[0].v : nan_value;
      return out;
    }
    if (f == "absent") {
      value v = eval(*e.args[0], t);
      if (v.vec.empty()) out.vec.push_back({absent_labels(*e.args[0]), 1.0, t});
      return out;
    }
    if (f == "histogram_quantile") return histogram_quantile(e, t);
    if (f == "label_replace") return label_replace(e, t);
    if (f == "label_join") return label_join(e, t);
    if (f == "day_of_month" || f == "day_of_week" || f == "day_of_year" || f == "days_in_month" || f == "hour" ||
        f == "minute" || f == "month" || f == "year") {
      if (e.args.empty()) {
        out.vec.push_back({label_set{}, date_part(f, static_cast<double>(t / 1000)), t});
        return out;
      }
      value v = eval(*e.args[0], t);
      for (auto& el : v.vec) out.vec.push_back({drop_name(el.labels), date_part(f, el.v), t});
      check_unique(out.vec);
      return out;
    }
    value v = eval(*e.args[0], t);
    if (f == "sort" || f == "sort_desc") {
      const bool desc = f == "sort_desc";
      std::stable_sort(v.vec.begin(), v.vec.end(), [&](const element& a, const element& b) {
        if (std::isnan(a.v)) return false;
        if (std::isnan(b.v)) return true;
        return desc ? a.v > b.v : a.v < b.v;
      });
      for (auto& el : v.vec) el.t = t;
      return v;
    }
    if (f == "timestamp") {
      for (auto& el : v.vec) out.vec.push_back({drop_name(el.labels), static_cast<double>(el.t) / 1000.0, t});
      check_unique(out.vec);
      return out;
    }
    if (f == "clamp" || f == "clamp_min" || f == "clamp_max" || f == "round") {
      double lo = -HUGE_VAL, hi = HUGE_VAL, to_nearest = 1;
      if (f == "clamp") {
        lo = scalar_param(*e.args[1], t);
        hi = scalar_param(*e.args[2], t);
        if (hi < lo) return out;
      } else if (f == "clamp_min") {
        lo = scalar_param(*e.args[1], t);
      } else if (f == "clamp_max") {
        hi = scalar_param(*e.args[1], t);
      } else if (e.args.size() > 1) {
        to_nearest = scalar_param(*e.args[1], t);
      }
      for (auto& el : v.vec) {
        double x = el.v;
        if (f == "round") {
          const double inv = 1.0 / to_nearest;
          x = std::floor(x * inv + 0.5) / inv;
        } else {
          x = std::fmax(lo, std::fmin(hi, x));
          if (std::isnan(el.v) || std::isnan(lo) || std::isnan(hi)) x = nan_value;
        }
        out.vec.push_back({drop_name(el.labels), x, t});
      }
      check_unique(out.vec);
      return out;
    }
    for (auto& el : v.vec) {
      double x = el.v;
      if (!apply_math_function(f, x)) throw error(error_kind::unsupported, "function " + f + " is not supported");
      out.vec.push_back({drop_name(el.labels), x, t});
    }
    check_unique(out.vec);
    return out;
  }

  static double date_part(const std::string& f, double seconds) {
    if (!std::isfinite(seconds) || std::fabs(seconds) > 1e15) return nan_value;
    const std::time_t tt = static_cast<std::time_t>(std::trunc(seconds));  // Go's int64(f)
    std::tm tm{};
    if (!gmtime_r(&tt, &tm)) return nan_value;
    if (f == "day_of_month") return tm.tm_mday;
    if (f == "day_of_week") return tm.tm_wday;
    if (f == "day_of_year") return tm.tm_yday + 1;
    if (f == "hour") return tm.tm_hour;
    if (f == "minute") return tm.tm_min;
    if (f == "month") return tm.tm_mon + 1;
    if (f == "year") return tm.tm_year + 1900;
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const long long y = tm.tm_year + 1900LL;
    const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return days[tm.tm_mon] + (tm.tm_mon == 1 && leap ? 1 : 0);
  }

  value histogram_quantile(const expr& e, std::int64_t t) {
    const double phi = scalar_param(*e.args[0], t);
    value v = eval(*e.args[1], t);
    std::map<label_set, std::vector<std::pair<double, double>>> groups;
    std::vector<std::string> le{"le"};
    for (const auto& el : v.vec) {
      const std::string_view le_value = el.labels.get("le");
      if (le_value.empty()) continue;
      const std::string s(le_value);
      char* end = nullptr;
      double bound = std::strtod(s.c_str(), &end);
      if (end != s.c_str() + s.size()) continue;
      groups[project(el.labels, le, false)].push_back({bound, el.v});
    }
    value out;
    out.type = value_type::vector;
    for (auto& [ls, buckets] : groups) out.vec.push_back({ls, bucket_quantile(phi, buckets), t});
    return out;
  }

  static std::regex compile_anchored(const std::string& re, const char* fn) {
    if (re.size() > tsdb::matcher::max_regex_length)
      fail(std::string("regular expression in ") + fn + "() is too long");
    try {
      return std::regex("^(?:" + re + ")$", std::regex::ECMAScript);
    } catch (const std::regex_error& ex) {
      fail(std::string("invalid regular expression in ") + fn + "(): " + re);
    }
  }

  value label_replace(const expr& e, std::int64_t t) {
    value v = eval(*e.args[0], t);
    const std::string dst = eval(*e.args[1], t).str;
    const std::string repl = eval(*e.args[2], t).str;
    const std::string src = eval(*e.args[3], t).str;
    const std::string re = eval(*e.args[4], t).str;
    const std::regex rx = compile_anchored(re, "label_replace");
    if (!is_label_name(dst)) fail("invalid destination label name in label_replace(): " + dst);
    value out;
    out.type = value_type::vector;
    for (auto& el : v.vec) {
      const std::string sv(el.labels.get(src));
      if (sv.size() > options_.max_regex_input)
        fail("label value of \"" + src + "\" is too long for label_replace()");
      std::smatch m;
      bool matched = false;
      try {
        matched = std::regex_match(sv, m, rx);
      } catch (const std::regex_error&) {
        fail("regular expression in label_replace() is too complex for this value");
      }
      if (matched) out.vec.push_back({with_label(el.labels, dst, expand_template(repl, m)), el.v, t});
      else out.vec.push_back({std::move(el.labels), el.v, t});
    }
    check_unique(out.vec);
    return out;
  }

  value label_join(const expr& e, std::int64_t t) {
    value v = eval(*e.args[0], t);
    const std::string dst = eval(*e.args[1], t).str;
    const std::string sep = eval(*e.args[2], t).str;
    if (!is_label_name(dst)) fail("invalid destination label name in label_join(): " + dst);
    std::vector<std::string> srcs;
    for (std::size_t i = 3; i < e.args.size(); ++i) {
      srcs.push_back(eval(*e.args[i], t).str);
      if (!is_label_name(srcs.back())) fail("invalid source label name in label_join(): " + srcs.back());
    }
    value out;
    out.type = value_type::vector;
    for (auto& el : v.vec) {
      std::string joined;
      for (std::size_t i = 0; i < srcs.size(); ++i) {
        if (i > 0) joined += sep;
        joined += el.labels.get(srcs[i]);
      }
      out.vec.push_back({with_label(el.labels, dst, joined), el.v, t});
    }
    check_unique(out.vec);
    return out;
  }

  const tsdb::head& head_;
  const engine_options& options_;
  std::int64_t start_, end_;
  std::unordered_map<const expr*, std::pair<std::int64_t, std::int64_t>> spans_;
  std::unordered_map<const expr*, std::vector<series_data>> data_;
  std::size_t loaded_ = 0;
  std::size_t subquery_steps_ = 0;
};

}  // namespace

engine::engine(const tsdb::head& head, engine_options options) : head_(head), options_(options) {}

query_result engine::instant_query(std::string_view query, std::int64_t t_ms) const {
  const expr_ptr e = parse(query);
  return instant_query(*e, t_ms);
}

query_result engine::range_query(std::string_view query, std::int64_t start_ms, std::int64_t end_ms,
                                 std::int64_t step_ms) const {
  const expr_ptr e = parse(query);
  return range_query(*e, start_ms, end_ms, step_ms);
}

query_result engine::instant_query(const expr& e, std::int64_t t_ms) const {
  evaluator ev(head_, options_, t_ms, t_ms);
  ev.plan(e, t_ms, t_ms);
  value v = ev.eval(e, t_ms);
  query_result r;
  r.type = v.type;
  r.t = t_ms;
  r.scalar = v.scalar;
  r.str = std::move(v.str);
  r.vector.reserve(v.vec.size());
  for (auto& el : v.vec) r.vector.push_back({std::move(el.labels), el.v});
  r.matrix = std::move(v.mat);
  return r;
}

query_result engine::range_query(const expr& e, std::int64_t start_ms, std::int64_t end_ms,
                                 std::int64_t step_ms) const {
  if (step_ms <= 0) throw error(error_kind::execution, "zero or negative query resolution step widths are not accepted");
  if (end_ms < start_ms) throw error(error_kind::execution, "end timestamp must not be before start time");
  if ((static_cast<double>(end_ms) - static_cast<double>(start_ms)) / static_cast<double>(step_ms) >=
      static_cast<double>(options_.max_steps))
    throw error(error_kind::execution, "exceeded maximum resolution of " + std::to_string(options_.max_steps) +
                                           " points per timeseries. Try decreasing the query resolution (?step=XX)");
  if (e.type != value_type::scalar && e.type != value_type::vector)
    throw error(error_kind::execution, std::string("invalid expression type \"") + to_string(e.type) +
                                           "\" for range query, must be Scalar or instant Vector");
  evaluator ev(head_, options_, start_ms, end_ms);
  ev.plan(e, start_ms, end_ms);
  std::map<label_set, std::vector<sample>> series;
  std::size_t points = 0;
  for (std::int64_t t = start_ms; t <= end_ms; t += step_ms) {
    value v = ev.eval(e, t);
    if (v.type == value_type::scalar) {
      series[label_set{}].push_back({t, v.scalar});
      ++points;
    } else {
      for (auto& el : v.vec) series[std::move(el.labels)].push_back({t, el.v});
      points += v.vec.size();
    }
    if (points > options_.max_samples)
      throw error(error_kind::execution, "query processing would load too many samples into memory");
    if (t > sat_sub(end_ms, step_ms)) break;  // the next step would pass the end (or overflow)
  }
  query_result r;
  r.type = value_type::matrix;
  r.t = end_ms;
  for (auto& [ls, samples] : series) r.matrix.push_back({ls, std::move(samples)});
  return r;
}

}  // namespace wk::promql
