#include "promql/promqltest.hpp"

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <optional>
#include <regex>
#include <sstream>

#include "promql/engine.hpp"
#include "promql/error.hpp"
#include "promql/lexer.hpp"
#include "promql/parser.hpp"
#include "promql/series_notation.hpp"

namespace wk::promql {
namespace {

struct case_failure : std::runtime_error {
  using std::runtime_error::runtime_error;
};
struct case_unsupported : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

bool starts_with(const std::string& s, const std::string& p) { return s.compare(0, p.size(), p) == 0; }

using point = series_point;

bool parse_number(const std::string& s, double& out) { return parse_series_value(s, out); }

std::vector<point> expand_points(const std::string& text) {
  try {
    return expand_series_values(text);
  } catch (const series_notation_error& e) {
    if (e.unsupported()) throw case_unsupported(e.what());
    throw case_failure(e.what());
  }
}

std::int64_t parse_time(const std::string& s) {
  std::int64_t ms;
  if (parse_duration(s, ms)) return ms;
  double seconds;
  char* end = nullptr;
  seconds = std::strtod(s.c_str(), &end);
  if (s.empty() || end != s.c_str() + s.size() || !std::isfinite(seconds) || std::fabs(seconds) > 9e15)
    throw case_failure("bad time \"" + s + "\"");
  return static_cast<std::int64_t>(std::llround(seconds * 1000));
}

bool almost_equal(double a, double b) {
  if (std::isnan(a) && std::isnan(b)) return tsdb::is_stale_nan(a) == tsdb::is_stale_nan(b);
  if (a == b) return true;
  const double diff = std::fabs(a - b);
  const double abs_sum = std::fabs(a) + std::fabs(b);
  constexpr double epsilon = 1e-6;
  constexpr double min_normal = 2.2250738585072014e-308;
  if (a == 0 || b == 0 || abs_sum < min_normal) return diff < epsilon * min_normal;
  return diff / std::min(abs_sum, 1.7976931348623157e308) < epsilon;
}

std::string fmt(double v) {
  std::ostringstream o;
  o.precision(17);
  o << v;
  return o.str();
}

struct expected_series {
  tsdb::label_set labels;
  std::vector<point> points;
  bool scalar = false;
};

struct eval_case {
  int line = 0;
  bool range = false;
  std::int64_t start = 0, end = 0, step = 0;
  std::string query;
  bool expect_fail = false;
  std::string fail_msg, fail_regex;
  bool ordered = false;
  bool annotations = false;  // warn/info expected: not produced by this engine
  std::optional<std::string> expect_string;
  bool range_vector = false;
  std::int64_t rv_start = 0, rv_step = 0;
  std::vector<expected_series> expected;
};

class runner {
 public:
  explicit runner(std::string name) : name_(std::move(name)) { reset(); }

  test_report run(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);) {
      const std::string t = trim(l);
      lines.push_back(starts_with(t, "#") ? "" : t);
    }
    for (std::size_t i = 0; i < lines.size(); ++i) {
      const std::string& l = lines[i];
      if (l.empty()) continue;
      std::size_t end = i + 1;
      while (end < lines.size() && !lines[end].empty() && !is_command(lines[end])) ++end;
      std::vector<std::string> body(lines.begin() + static_cast<long>(i) + 1, lines.begin() + static_cast<long>(end));
      command(static_cast<int>(i) + 1, l, body);
      i = end - 1;
    }
    return report_;
  }

 private:
  static bool is_command(const std::string& l) {
    const std::string w = l.substr(0, l.find_first_of(" \t"));
    return w == "load" || w == "load_with_nhcb" || w == "clear" || w == "eval" || w == "eval_fail" ||
           w == "eval_warn" || w == "eval_info" || w == "eval_ordered";
  }

  void reset() {
    head_ = std::make_unique<tsdb::head>(tsdb::head_options{std::numeric_limits<std::int64_t>::max() / 4, 16, 120,
                                                             std::numeric_limits<std::uint32_t>::max()});
    unsupported_data_.clear();
  }

  void fail(int line, const std::string& what) {
    ++report_.failed;
    report_.failures.push_back(name_ + ":" + std::to_string(line) + ": " + what);
  }

  void command(int line, const std::string& cmd, const std::vector<std::string>& body) {
    try {
      if (cmd == "clear") {
        reset();
      } else if (starts_with(cmd, "load ") || starts_with(cmd, "load_with_nhcb")) {
        load(line, cmd, body);
      } else if (starts_with(cmd, "eval")) {
        eval(line, cmd, body);
      } else {
        fail(line, "unknown command \"" + cmd + "\"");
      }
    } catch (const case_failure& e) {
      fail(line, e.what());
    }
  }

  void load(int line, const std::string& cmd, const std::vector<std::string>& body) {
    std::istringstream in(cmd);
    std::string word, interval_text;
    in >> word >> interval_text;
    if (word != "load") {
      unsupported_data_ = word + " is not supported";
      return;
    }
    std::int64_t interval;
    if (!parse_duration(interval_text, interval) || interval <= 0) throw case_failure("bad load interval");
    for (std::size_t k = 0; k < body.size(); ++k) {
      const auto [desc, values] = split_series_line(body[k]);
      tsdb::label_set labels;
      try {
        labels = parse_series_description(desc);
      } catch (const error& e) {
        fail(line + 1 + static_cast<int>(k), std::string("bad series: ") + e.what());
        continue;
      }
      std::vector<point> points;
      try {
        points = expand_points(values);
      } catch (const case_unsupported& e) {
        unsupported_data_ = e.what();
        continue;
      }
      const tsdb::series_ref ref = head_->get_or_create(labels);
      for (std::size_t i = 0; i < points.size(); ++i)
        if (points[i]) head_->append(ref, static_cast<std::int64_t>(i) * interval, *points[i]);
    }
  }

  void eval(int line, const std::string& cmd, const std::vector<std::string>& body) {
    eval_case c;
    c.line = line;
    std::string rest;
    auto take = [&](const std::string& prefix) {
      if (!starts_with(rest, prefix)) return false;
      rest = trim(rest.substr(prefix.size()));
      return true;
    };
    auto word = [&]() {
      const auto sp = rest.find_first_of(" \t");
      std::string w = rest.substr(0, sp);
      rest = sp == std::string::npos ? "" : trim(rest.substr(sp));
      return w;
    };
    const auto sp = cmd.find_first_of(" \t");
    const std::string verb = cmd.substr(0, sp);
    rest = sp == std::string::npos ? "" : trim(cmd.substr(sp));
    if (verb == "eval_fail") c.expect_fail = true;
    else if (verb == "eval_ordered") c.ordered = true;
    else if (verb == "eval_warn" || verb == "eval_info") c.annotations = true;
    else if (verb != "eval") throw case_failure("unknown command \"" + verb + "\"");
    if (take("instant")) {
      if (!take("at")) throw case_failure("expected \"at\" in eval instant");
      c.start = c.end = parse_time(word());
    } else if (take("range")) {
      if (!take("from")) throw case_failure("expected \"from\" in eval range");
      c.start = parse_time(word());
      if (!take("to")) throw case_failure("expected \"to\" in eval range");
      c.end = parse_time(word());
      if (!take("step")) throw case_failure("expected \"step\" in eval range");
      c.step = parse_time(word());
      c.range = true;
    } else {
      throw case_failure("expected instant or range in eval");
    }
    c.query = rest;
    for (const auto& b : body) expectation(c, b);
    run_case(c);
  }

  void expectation(eval_case& c, const std::string& l) {
    if (starts_with(l, "expected_fail_message")) {
      c.expect_fail = true;
      c.fail_msg = trim(l.substr(21));
      return;
    }
    if (starts_with(l, "expected_fail_regexp")) {
      c.expect_fail = true;
      c.fail_regex = trim(l.substr(20));
      return;
    }
    if (starts_with(l, "expect ")) {
      const std::string e = trim(l.substr(7));
      if (starts_with(e, "fail")) {
        c.expect_fail = true;
        const std::string m = trim(e.substr(4));
        if (starts_with(m, "msg:")) c.fail_msg = unquote(trim(m.substr(4)));
        else if (starts_with(m, "regex:")) c.fail_regex = unquote(trim(m.substr(6)));
      } else if (starts_with(e, "warn") || starts_with(e, "info")) {
        c.annotations = true;
      } else if (e == "no_warn" || e == "no_info") {
        // This engine produces no annotations, so these hold.
      } else if (e == "ordered") {
        c.ordered = true;
      } else if (starts_with(e, "string")) {
        c.expect_string = unquote(trim(e.substr(6)));
      } else if (starts_with(e, "range vector")) {
        std::istringstream in(e.substr(12));
        std::string from, start, to, end, step_w, step;
        in >> from >> start >> to >> end >> step_w >> step;
        if (from != "from" || to != "to" || step_w != "step") throw case_failure("bad expect range vector line");
        c.range_vector = true;
        c.rv_start = parse_time(start);
        c.rv_step = parse_time(step);
        if (c.rv_step <= 0) throw case_failure("bad expect range vector step");
      } else {
        throw case_failure("unknown expectation \"" + l + "\"");
      }
      return;
    }
    expected_series s;
    double scalar;
    if (parse_number(l, scalar)) {
      s.scalar = true;
      s.points.emplace_back(scalar);
    } else {
      const auto [desc, values] = split_series_line(l);
      try {
        s.labels = parse_series_description(desc);
      } catch (const error& e) {
        throw case_failure(std::string("bad expected series: ") + e.what());
      }
      s.points = expand_points(values);
    }
    c.expected.push_back(std::move(s));
  }

  static std::string unquote(const std::string& s) {
    if (s.size() >= 2 && (s[0] == '"' || s[0] == '`' || s[0] == '\'') && s.back() == s[0]) return s.substr(1, s.size() - 2);
    return s;
  }

  void run_case(const eval_case& c) {
    if (!unsupported_data_.empty() || c.annotations) {
      ++report_.skipped;
      return;
    }
    const engine eng(*head_);
    query_result r;
    try {
      r = c.range ? eng.range_query(c.query, c.start, c.end, c.step) : eng.instant_query(c.query, c.start);
    } catch (const error& e) {
      if (e.kind() == error_kind::unsupported) {
        ++report_.skipped;
        return;
      }
      if (!c.expect_fail) return fail(c.line, c.query + ": unexpected error: " + e.what());
      if (!c.fail_msg.empty() && c.fail_msg != e.what())
        return fail(c.line, c.query + ": expected error \"" + c.fail_msg + "\", got \"" + e.what() + "\"");
      if (!c.fail_regex.empty()) {
        try {
          if (!std::regex_search(std::string(e.what()), std::regex(c.fail_regex)))
            return fail(c.line, c.query + ": error \"" + e.what() + "\" does not match /" + c.fail_regex + "/");
        } catch (const std::regex_error&) {
          return fail(c.line, "bad expected error regex /" + c.fail_regex + "/");
        }
      }
      ++report_.passed;
      return;
    } catch (const std::exception& e) {
      return fail(c.line, c.query + ": unexpected error: " + e.what());
    }
    if (c.expect_fail) return fail(c.line, c.query + ": expected an error, got a result");
    try {
      check(c, r);
      ++report_.passed;
    } catch (const case_failure& e) {
      fail(c.line, c.query + ": " + e.what());
    }
  }

  static void check(const eval_case& c, const query_result& r) {
    if (c.expect_string) {
      if (r.type != value_type::string) throw case_failure(std::string("expected a string, got ") + to_string(r.type));
      if (r.str != *c.expect_string) throw case_failure("expected string \"" + *c.expect_string + "\", got \"" + r.str + "\"");
      return;
    }
    if (r.type == value_type::string) throw case_failure("unexpected string result \"" + r.str + "\"");
    if (r.type == value_type::scalar) {
      if (c.expected.size() != 1 || !c.expected[0].scalar)
        throw case_failure("expected " + std::to_string(c.expected.size()) + " series, got a scalar " + fmt(r.scalar));
      if (!almost_equal(*c.expected[0].points[0], r.scalar))
        throw case_failure("expected scalar " + fmt(*c.expected[0].points[0]) + ", got " + fmt(r.scalar));
      return;
    }
    if (r.type == value_type::vector) {
      if (c.expected.size() != r.vector.size())
        throw case_failure("expected " + std::to_string(c.expected.size()) + " series, got " +
                           std::to_string(r.vector.size()));
      for (std::size_t i = 0; i < c.expected.size(); ++i) {
        const expected_series& exp = c.expected[i];
        if (exp.scalar || exp.points.size() != 1 || !exp.points[0])
          throw case_failure("expected series " + exp.labels.to_string() + " must have one value");
        std::size_t found = r.vector.size();
        for (std::size_t j = 0; j < r.vector.size(); ++j)
          if (r.vector[j].labels == exp.labels) found = j;
        if (found == r.vector.size()) throw case_failure("missing series " + exp.labels.to_string());
        if (c.ordered && found != i)
          throw case_failure("series " + exp.labels.to_string() + " at position " + std::to_string(found) +
                             ", expected " + std::to_string(i));
        if (!almost_equal(*exp.points[0], r.vector[found].v))
          throw case_failure("series " + exp.labels.to_string() + ": expected " + fmt(*exp.points[0]) + ", got " +
                             fmt(r.vector[found].v));
      }
      return;
    }
    // Matrix: a range query, or a range selector evaluated at an instant.
    if (!c.range && !c.range_vector) throw case_failure("unexpected range vector result");
    const std::int64_t start = c.range ? c.start : c.rv_start;
    const std::int64_t step = c.range ? c.step : c.rv_step;
    if (c.expected.size() != r.matrix.size())
      throw case_failure("expected " + std::to_string(c.expected.size()) + " series, got " +
                         std::to_string(r.matrix.size()));
    for (const auto& exp : c.expected) {
      const tsdb::series_data* got = nullptr;
      for (const auto& s : r.matrix)
        if (s.labels == exp.labels) got = &s;
      if (!got) throw case_failure("missing series " + exp.labels.to_string());
      std::vector<tsdb::sample> want;
      for (std::size_t i = 0; i < exp.points.size(); ++i)
        if (exp.points[i]) want.push_back({start + static_cast<std::int64_t>(i) * step, *exp.points[i]});
      if (want.size() != got->samples.size())
        throw case_failure("series " + exp.labels.to_string() + ": expected " + std::to_string(want.size()) +
                           " points, got " + std::to_string(got->samples.size()));
      for (std::size_t i = 0; i < want.size(); ++i)
        if (want[i].t != got->samples[i].t || !almost_equal(want[i].v, got->samples[i].v))
          throw case_failure("series " + exp.labels.to_string() + ": expected " + fmt(want[i].v) + " @" +
                             std::to_string(want[i].t) + ", got " + fmt(got->samples[i].v) + " @" +
                             std::to_string(got->samples[i].t));
    }
  }

  std::string name_;
  std::unique_ptr<tsdb::head> head_;
  std::string unsupported_data_;
  test_report report_;
};

}  // namespace

test_report run_promql_test(const std::string& text, const std::string& name) {
  try {
    return runner(name).run(text);
  } catch (const std::exception& e) {
    test_report r;
    r.failed = 1;
    r.failures.push_back(name + ": " + e.what());
    return r;
  }
}

test_report run_promql_test_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    test_report r;
    r.failed = 1;
    r.failures.push_back(path + ": cannot open file");
    return r;
  }
  std::ostringstream text;
  text << in.rdbuf();
  return run_promql_test(text.str(), path);
}

}  // namespace wk::promql
