#include "promql/parser.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <stdexcept>
#include <strings.h>

#include "promql/error.hpp"
#include "promql/lexer.hpp"

namespace wk::promql {

const char* to_string(value_type t) {
  switch (t) {
    case value_type::scalar: return "scalar";
    case value_type::vector: return "instant vector";
    case value_type::matrix: return "range vector";
    case value_type::string: return "string";
  }
  return "unknown";
}

namespace {

using vt = value_type;

struct function_spec {
  const char* name;
  std::vector<vt> args;
  int optional;   // trailing arguments that may be left out
  bool variadic;  // the last argument repeats
  vt ret;
};

const std::vector<function_spec>& functions() {
  static const std::vector<function_spec> table = {
      {"abs", {vt::vector}, 0, false, vt::vector},
      {"absent", {vt::vector}, 0, false, vt::vector},
      {"absent_over_time", {vt::matrix}, 0, false, vt::vector},
      {"acos", {vt::vector}, 0, false, vt::vector},
      {"acosh", {vt::vector}, 0, false, vt::vector},
      {"asin", {vt::vector}, 0, false, vt::vector},
      {"asinh", {vt::vector}, 0, false, vt::vector},
      {"atan", {vt::vector}, 0, false, vt::vector},
      {"atanh", {vt::vector}, 0, false, vt::vector},
      {"avg_over_time", {vt::matrix}, 0, false, vt::vector},
      {"ceil", {vt::vector}, 0, false, vt::vector},
      {"changes", {vt::matrix}, 0, false, vt::vector},
      {"clamp", {vt::vector, vt::scalar, vt::scalar}, 0, false, vt::vector},
      {"clamp_max", {vt::vector, vt::scalar}, 0, false, vt::vector},
      {"clamp_min", {vt::vector, vt::scalar}, 0, false, vt::vector},
      {"cos", {vt::vector}, 0, false, vt::vector},
      {"cosh", {vt::vector}, 0, false, vt::vector},
      {"count_over_time", {vt::matrix}, 0, false, vt::vector},
      {"day_of_month", {vt::vector}, 1, false, vt::vector},
      {"day_of_week", {vt::vector}, 1, false, vt::vector},
      {"day_of_year", {vt::vector}, 1, false, vt::vector},
      {"days_in_month", {vt::vector}, 1, false, vt::vector},
      {"deg", {vt::vector}, 0, false, vt::vector},
      {"delta", {vt::matrix}, 0, false, vt::vector},
      {"deriv", {vt::matrix}, 0, false, vt::vector},
      {"exp", {vt::vector}, 0, false, vt::vector},
      {"floor", {vt::vector}, 0, false, vt::vector},
      {"histogram_quantile", {vt::scalar, vt::vector}, 0, false, vt::vector},
      {"hour", {vt::vector}, 1, false, vt::vector},
      {"idelta", {vt::matrix}, 0, false, vt::vector},
      {"increase", {vt::matrix}, 0, false, vt::vector},
      {"irate", {vt::matrix}, 0, false, vt::vector},
      {"label_join", {vt::vector, vt::string, vt::string, vt::string}, 1, true, vt::vector},
      {"label_replace", {vt::vector, vt::string, vt::string, vt::string, vt::string}, 0, false, vt::vector},
      {"last_over_time", {vt::matrix}, 0, false, vt::vector},
      {"ln", {vt::vector}, 0, false, vt::vector},
      {"log10", {vt::vector}, 0, false, vt::vector},
      {"log2", {vt::vector}, 0, false, vt::vector},
      {"max_over_time", {vt::matrix}, 0, false, vt::vector},
      {"min_over_time", {vt::matrix}, 0, false, vt::vector},
      {"minute", {vt::vector}, 1, false, vt::vector},
      {"month", {vt::vector}, 1, false, vt::vector},
      {"pi", {}, 0, false, vt::scalar},
      {"predict_linear", {vt::matrix, vt::scalar}, 0, false, vt::vector},
      {"present_over_time", {vt::matrix}, 0, false, vt::vector},
      {"quantile_over_time", {vt::scalar, vt::matrix}, 0, false, vt::vector},
      {"rad", {vt::vector}, 0, false, vt::vector},
      {"rate", {vt::matrix}, 0, false, vt::vector},
      {"resets", {vt::matrix}, 0, false, vt::vector},
      {"round", {vt::vector, vt::scalar}, 1, false, vt::vector},
      {"scalar", {vt::vector}, 0, false, vt::scalar},
      {"sgn", {vt::vector}, 0, false, vt::vector},
      {"sin", {vt::vector}, 0, false, vt::vector},
      {"sinh", {vt::vector}, 0, false, vt::vector},
      {"sort", {vt::vector}, 0, false, vt::vector},
      {"sort_desc", {vt::vector}, 0, false, vt::vector},
      {"sqrt", {vt::vector}, 0, false, vt::vector},
      {"stddev_over_time", {vt::matrix}, 0, false, vt::vector},
      {"stdvar_over_time", {vt::matrix}, 0, false, vt::vector},
      {"sum_over_time", {vt::matrix}, 0, false, vt::vector},
      {"tan", {vt::vector}, 0, false, vt::vector},
      {"tanh", {vt::vector}, 0, false, vt::vector},
      {"time", {}, 0, false, vt::scalar},
      {"timestamp", {vt::vector}, 0, false, vt::vector},
      {"vector", {vt::scalar}, 0, false, vt::vector},
      {"year", {vt::vector}, 1, false, vt::vector},
  };
  return table;
}

// Prometheus functions that parse there but are not implemented here.
bool is_unsupported_function(std::string_view name) {
  static const char* const names[] = {
      "double_exponential_smoothing", "first_over_time", "histogram_avg", "histogram_count",
      "histogram_fraction", "histogram_stddev", "histogram_stdvar", "histogram_sum",
      "holt_winters", "info", "mad_over_time", "sort_by_label", "sort_by_label_desc",
      "ts_of_first_over_time", "ts_of_last_over_time", "ts_of_max_over_time", "ts_of_min_over_time",
      "histogram_quantiles"};
  return std::any_of(std::begin(names), std::end(names), [&](const char* n) { return name == n; });
}

const function_spec* find_function(std::string_view name) {
  for (const auto& f : functions())
    if (name == f.name) return &f;
  return nullptr;
}

bool iequals(std::string_view a, const char* b) {
  return a.size() == std::char_traits<char>::length(b) && strncasecmp(a.data(), b, a.size()) == 0;
}

bool is_aggregation(std::string_view s) {
  static const char* const names[] = {"sum", "avg", "min", "max", "count", "stddev", "stdvar", "topk",
                                      "bottomk", "quantile", "count_values", "group"};
  return std::any_of(std::begin(names), std::end(names), [&](const char* n) { return iequals(s, n); });
}

bool is_unsupported_aggregation(std::string_view s) { return iequals(s, "limitk") || iequals(s, "limit_ratio"); }

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool is_label_name(std::string_view s) {
  if (s.empty()) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

// Precedence as in Prometheus's grammar, lowest first; 0 = not a binary operator.
int precedence(binary_op op) {
  switch (op) {
    case binary_op::lor: return 1;
    case binary_op::land: case binary_op::lunless: return 2;
    case binary_op::eq: case binary_op::ne: case binary_op::gt: case binary_op::lt:
    case binary_op::ge: case binary_op::le: return 3;
    case binary_op::add: case binary_op::sub: return 4;
    case binary_op::mul: case binary_op::div: case binary_op::mod: return 5;
    case binary_op::pow: return 6;
  }
  return 0;
}

bool is_comparison(binary_op op) {
  return op == binary_op::eq || op == binary_op::ne || op == binary_op::gt || op == binary_op::lt ||
         op == binary_op::ge || op == binary_op::le;
}

bool is_set_op(binary_op op) { return op == binary_op::land || op == binary_op::lor || op == binary_op::lunless; }

const char* op_name(binary_op op) {
  switch (op) {
    case binary_op::add: return "+";
    case binary_op::sub: return "-";
    case binary_op::mul: return "*";
    case binary_op::div: return "/";
    case binary_op::mod: return "%";
    case binary_op::pow: return "^";
    case binary_op::eq: return "==";
    case binary_op::ne: return "!=";
    case binary_op::gt: return ">";
    case binary_op::lt: return "<";
    case binary_op::ge: return ">=";
    case binary_op::le: return "<=";
    case binary_op::land: return "and";
    case binary_op::lor: return "or";
    case binary_op::lunless: return "unless";
  }
  return "?";
}


bool is_ascii_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
char other_case(char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : static_cast<char>(c - 'A' + 'a'); }

// tsdb::matcher speaks the ECMAScript subset of RE2 plus a leading "(?i)". RE2's inline flag
// groups "(?i:...)" and "(?i)" inside a pattern are rewritten here into case-folded character
// classes ("p" -> "[pP]"); "(?s)" is what the matcher does anyway. Other flags are refused as
// unsupported rather than matched wrongly.
std::string translate_regex(const std::string& re, int pos) {
  if (re.find("(?") == std::string::npos) return re;
  std::string out;
  std::vector<bool> saved;
  bool ci = false;
  std::size_t i = 0;
  const std::size_t n = re.size();
  while (i < n) {
    const char c = re[i];
    if (c == '\\') {
      out += re.substr(i, 2);
      i += 2;
      continue;
    }
    if (c == '[') {
      out += c;
      ++i;
      if (i < n && re[i] == '^') out += re[i++];
      if (i < n && re[i] == ']') out += re[i++];
      std::string folded;
      while (i < n && re[i] != ']') {
        if (re[i] == '\\') {
          out += re.substr(i, 2);
          i += 2;
          continue;
        }
        if (re[i] == '[' && i + 1 < n && re[i + 1] == ':') {
          const auto close = re.find(":]", i + 2);
          const std::size_t end = close == std::string::npos ? n : close + 2;
          out += re.substr(i, end - i);
          i = end;
          continue;
        }
        const char a = re[i];
        if (i + 2 < n && re[i + 1] == '-' && re[i + 2] != ']') {
          const char b = re[i + 2];
          out += re.substr(i, 3);
          if (ci && is_ascii_letter(a) && is_ascii_letter(b) && (a >= 'a') == (b >= 'a')) {
            folded += other_case(a);
            folded += '-';
            folded += other_case(b);
          }
          i += 3;
          continue;
        }
        out += a;
        if (ci && is_ascii_letter(a)) folded += other_case(a);
        ++i;
      }
      out += folded;
      if (i < n) out += re[i++];
      continue;
    }
    if (c == '(' && i + 1 < n && re[i + 1] == '?') {
      std::size_t j = i + 2;
      bool on = true, new_ci = ci, flags = false;
      while (j < n && re[j] != ':' && re[j] != ')') {
        const char f = re[j];
        if (f == '-') on = false;
        else if (f == 'i') new_ci = on;
        else if (f != 's') break;
        flags = true;
        ++j;
      }
      if (j < n && (re[j] == ':' || re[j] == ')') && (flags || re[j] == ':')) {
        if (re[j] == ')') {
          ci = new_ci;
        } else {
          saved.push_back(ci);
          ci = new_ci;
          out += "(?:";
        }
        i = j + 1;
        continue;
      }
      if (j < n && is_ascii_letter(re[j]) && re[j] != 'P')
        throw error(error_kind::unsupported, "regex flag '" + std::string(1, re[j]) + "' is not supported", pos);
      if (j < n && (re[j] == 'P' || re[j] == '<'))
        throw error(error_kind::unsupported, "named regex groups are not supported", pos);
      out += "(?";
      i += 2;
      saved.push_back(ci);
      continue;
    }
    if (c == '(') {
      saved.push_back(ci);
      out += c;
      ++i;
      continue;
    }
    if (c == ')') {
      if (!saved.empty()) {
        ci = saved.back();
        saved.pop_back();
      }
      out += c;
      ++i;
      continue;
    }
    if (ci && is_ascii_letter(c)) {
      out += '[';
      out += c;
      out += other_case(c);
      out += ']';
    } else {
      out += c;
    }
    ++i;
  }
  return out;
}

class parser {
 public:
  explicit parser(std::string_view query) : toks_(lex(query)) {}

  expr_ptr parse_query() {
    expr_ptr e = parse_expr(1);
    if (peek().kind != token_kind::end) fail("unexpected " + describe(peek()));
    return e;
  }

  tsdb::label_set parse_series() {
    std::vector<tsdb::label> labels;
    if (peek().kind == token_kind::identifier) labels.push_back({"__name__", next().text});
    if (peek().kind == token_kind::lbrace) {
      next();
      while (peek().kind != token_kind::rbrace) {
        const token name = next();
        if (name.kind != token_kind::identifier && name.kind != token_kind::string)
          fail("expected label name, got " + describe(name), name.position);
        expect(token_kind::assign, "\"=\" in series description");
        const token value = next();
        if (value.kind != token_kind::string) fail("expected label value, got " + describe(value), value.position);
        labels.push_back({name.text, value.text});
        if (peek().kind == token_kind::comma) next();
        else if (peek().kind != token_kind::rbrace) fail("expected \",\" or \"}\", got " + describe(peek()));
      }
      next();
    }
    if (peek().kind != token_kind::end) fail("unexpected " + describe(peek()));
    try {
      return tsdb::label_set(std::move(labels));
    } catch (const std::invalid_argument& e) {
      fail(e.what(), 0);
    }
  }

 private:
  const token& peek(std::size_t ahead = 0) const { return toks_[std::min(p_ + ahead, toks_.size() - 1)]; }
  const token& next() {
    const token& t = toks_[p_];
    if (p_ + 1 < toks_.size()) ++p_;
    return t;
  }
  // Keywords are case-insensitive in PromQL (SUM BY, AND ON...); names are not.
  bool peek_ident(const char* word, std::size_t ahead = 0) const {
    return peek(ahead).kind == token_kind::identifier && iequals(peek(ahead).text, word);
  }

  [[noreturn]] void fail(const std::string& msg, int pos = -1) const {
    throw error(error_kind::parse, msg, pos < 0 ? peek().position : pos);
  }
  [[noreturn]] void fail_unsupported(const std::string& msg, int pos) const {
    throw error(error_kind::unsupported, msg, pos);
  }

  static std::string describe(const token& t) {
    switch (t.kind) {
      case token_kind::end: return "end of input";
      case token_kind::string: return "string \"" + t.text + "\"";
      case token_kind::identifier: return "identifier \"" + t.text + "\"";
      case token_kind::number: return "number \"" + t.text + "\"";
      case token_kind::duration: return "duration \"" + t.text + "\"";
      default: return "\"" + t.text + "\"";
    }
  }

  const token& expect(token_kind k, const char* what) {
    if (peek().kind != k) fail(std::string("expected ") + what + ", got " + describe(peek()));
    return next();
  }

  // Records the node's height and refuses trees deeper than max_nesting: a long chain like
  // a+a+a+... is parsed in a loop but evaluated recursively.
  void seal(expr& e) const {
    int d = 0;
    for (const auto& a : e.args) d = std::max(d, a->depth);
    e.depth = d + 1;
    if (e.depth > max_nesting) fail("query is nested too deeply", e.position);
  }

  struct depth_guard {
    explicit depth_guard(parser& p) : p_(p) {
      if (++p_.depth_ > max_nesting) p_.fail("query is nested too deeply");
    }
    ~depth_guard() { --p_.depth_; }
    parser& p_;
  };

  bool peek_binary(binary_op& op) const {
    const token& t = peek();
    switch (t.kind) {
      case token_kind::add: op = binary_op::add; return true;
      case token_kind::sub: op = binary_op::sub; return true;
      case token_kind::mul: op = binary_op::mul; return true;
      case token_kind::div: op = binary_op::div; return true;
      case token_kind::mod: op = binary_op::mod; return true;
      case token_kind::pow: op = binary_op::pow; return true;
      case token_kind::eql: op = binary_op::eq; return true;
      case token_kind::neq: op = binary_op::ne; return true;
      case token_kind::gtr: op = binary_op::gt; return true;
      case token_kind::lss: op = binary_op::lt; return true;
      case token_kind::gte: op = binary_op::ge; return true;
      case token_kind::lte: op = binary_op::le; return true;
      case token_kind::identifier:
        if (iequals(t.text, "and")) { op = binary_op::land; return true; }
        if (iequals(t.text, "or")) { op = binary_op::lor; return true; }
        if (iequals(t.text, "unless")) { op = binary_op::lunless; return true; }
        if (iequals(t.text, "atan2")) fail_unsupported("binary operator atan2 is not supported", t.position);
        return false;
      default:
        return false;
    }
  }

  // Precedence climbing; `^` is the only right-associative operator.
  expr_ptr parse_expr(int min_prec) {
    depth_guard guard(*this);
    expr_ptr lhs = parse_unary();
    binary_op op;
    while (peek_binary(op) && precedence(op) >= min_prec) {
      const int pos = next().position;
      auto node = std::make_unique<expr>();
      node->kind = expr_kind::binary;
      node->position = pos;
      node->op = op;
      const bool has_matching = parse_binary_modifiers(*node);
      const int next_min = op == binary_op::pow ? precedence(op) : precedence(op) + 1;
      expr_ptr rhs = parse_expr(next_min);
      node->args.push_back(std::move(lhs));
      node->args.push_back(std::move(rhs));
      check_binary(*node, has_matching);
      seal(*node);
      lhs = std::move(node);
    }
    return lhs;
  }

  bool parse_binary_modifiers(expr& node) {
    bool has_matching = false;
    if (peek_ident("bool")) {
      next();
      node.return_bool = true;
    }
    if (peek_ident("on") || peek_ident("ignoring")) {
      node.matching.on = iequals(next().text, "on");
      node.matching.labels = parse_label_list();
      node.matching.card = cardinality::one_to_one;
      if (peek_ident("group_left") || peek_ident("group_right")) {
        node.matching.card = iequals(next().text, "group_left") ? cardinality::many_to_one : cardinality::one_to_many;
        if (peek().kind == token_kind::lparen) node.matching.include = parse_label_list();
      }
      has_matching = true;
    }
    node.matching.card = is_set_op(node.op) && node.matching.card == cardinality::one_to_one
                             ? cardinality::many_to_many
                             : node.matching.card;
    return has_matching;
  }

  std::vector<std::string> parse_label_list() {
    expect(token_kind::lparen, "\"(\"");
    std::vector<std::string> out;
    while (peek().kind != token_kind::rparen) {
      const token& t = next();
      if (t.kind != token_kind::identifier || !is_label_name(t.text))
        fail("unexpected " + describe(t) + " in grouping opts, expected label", t.position);
      out.push_back(t.text);
      if (peek().kind == token_kind::comma) next();
      else if (peek().kind != token_kind::rparen) fail("unexpected " + describe(peek()) + " in grouping opts, expected \",\" or \")\"");
    }
    next();
    return out;
  }

  void check_binary(expr& node, bool has_matching) {
    const expr& l = *node.args[0];
    const expr& r = *node.args[1];
    const auto operand_ok = [](vt t) { return t == vt::scalar || t == vt::vector; };
    if (!operand_ok(l.type) || !operand_ok(r.type))
      fail("binary expression must contain only scalar and instant vector types", node.position);
    const bool both_scalar = l.type == vt::scalar && r.type == vt::scalar;
    if (node.return_bool && !is_comparison(node.op))
      fail("bool modifier can only be used on comparison operators", node.position);
    if (is_comparison(node.op) && both_scalar && !node.return_bool)
      fail("comparisons between scalars must use BOOL modifier", node.position);
    if (is_set_op(node.op)) {
      if (l.type == vt::scalar || r.type == vt::scalar)
        fail(std::string("set operator \"") + op_name(node.op) + "\" not allowed in binary scalar expression", node.position);
      if (node.matching.card == cardinality::many_to_one || node.matching.card == cardinality::one_to_many)
        fail(std::string("no grouping allowed for \"") + op_name(node.op) + "\" operation", node.position);
    }
    if ((l.type != vt::vector || r.type != vt::vector) && has_matching)
      fail("vector matching only allowed between instant vectors", node.position);
    if (node.matching.on)
      for (const auto& inc : node.matching.include)
        if (std::find(node.matching.labels.begin(), node.matching.labels.end(), inc) != node.matching.labels.end())
          fail("label \"" + inc + "\" must not occur in ON and GROUP clause at once", node.position);
    node.type = (l.type == vt::vector || r.type == vt::vector) ? vt::vector : vt::scalar;
  }

  // Unary operators bind tighter than every binary operator except `^`: -2^2 is -(2^2).
  expr_ptr parse_unary() {
    if (peek().kind == token_kind::sub || peek().kind == token_kind::add) {
      depth_guard guard(*this);
      const token& t = next();
      const char op = t.kind == token_kind::sub ? '-' : '+';
      expr_ptr operand = parse_expr(precedence(binary_op::pow));
      if (operand->type != vt::scalar && operand->type != vt::vector)
        fail("unary expression only allowed on expressions of type scalar or instant vector", t.position);
      if (operand->kind == expr_kind::number) {
        if (op == '-') operand->number = -operand->number;
        operand->position = t.position;
        return operand;
      }
      auto node = std::make_unique<expr>();
      node->kind = expr_kind::unary;
      node->position = t.position;
      node->unary_op = op;
      node->type = operand->type;
      node->args.push_back(std::move(operand));
      seal(*node);
      return node;
    }
    bool parenthesized = false;
    expr_ptr e = parse_primary(parenthesized);
    return parse_postfix(std::move(e), parenthesized);
  }

  expr_ptr parse_postfix(expr_ptr e, bool parenthesized) {
    bool has_offset = false;
    bool has_at = false;
    while (true) {
      if (peek().kind == token_kind::lbracket) {
        const int pos = next().position;
        const int range_pos = peek().position;
        const std::int64_t range_ms = parse_duration_value("duration in range selector");
        if (range_ms <= 0) fail("range must be greater than 0", range_pos);
        if (peek().kind == token_kind::colon) {
          next();
          auto sub = std::make_unique<expr>();
          sub->kind = expr_kind::subquery;
          sub->position = pos;
          sub->range_ms = range_ms;
          if (peek().kind == token_kind::duration || peek().kind == token_kind::number) {
            sub->step_ms = parse_duration_value("subquery step");
            if (sub->step_ms <= 0) fail("subquery step must be greater than 0");
          }
          expect(token_kind::rbracket, "\"]\"");
          if (e->type != vt::vector)
            fail(std::string("subquery is only allowed on instant vector, got ") + to_string(e->type) + " instead", pos);
          sub->type = vt::matrix;
          sub->args.push_back(std::move(e));
          seal(*sub);
          e = std::move(sub);
        } else {
          expect(token_kind::rbracket, "\"]\"");
          if (e->kind != expr_kind::vector_selector || parenthesized)
            fail("ranges only allowed for vector selectors", pos);
          if (has_offset || has_at) fail("no offset or @ modifiers allowed before range", pos);
          e->kind = expr_kind::matrix_selector;
          e->range_ms = range_ms;
          e->type = vt::matrix;
        }
        parenthesized = false;
        has_offset = has_at = false;
        continue;
      }
      const bool modifiable = !parenthesized && (e->kind == expr_kind::vector_selector ||
                                                 e->kind == expr_kind::matrix_selector || e->kind == expr_kind::subquery);
      if (peek_ident("offset")) {
        const int pos = next().position;
        if (!modifiable)
          fail("offset modifier must be preceded by an instant vector selector or range vector selector or a subquery", pos);
        if (has_offset) fail("offset may not be set multiple times", pos);
        bool negative = false;
        if (peek().kind == token_kind::sub || peek().kind == token_kind::add) negative = next().kind == token_kind::sub;
        const std::int64_t d = parse_duration_value("duration after offset");
        e->offset_ms = negative ? -d : d;
        has_offset = true;
        continue;
      }
      if (peek().kind == token_kind::at) {
        const int pos = next().position;
        if (!modifiable)
          fail("@ modifier must be preceded by an instant vector selector or range vector selector or a subquery", pos);
        if (has_at) fail("@ <timestamp> may not be set multiple times", pos);
        parse_at(*e);
        has_at = true;
        continue;
      }
      return e;
    }
  }

  // A duration, or (as Prometheus 3 accepts) a plain number of seconds.
  std::int64_t parse_duration_value(const char* what) {
    const token& t = next();
    if (t.kind == token_kind::duration) return t.duration_ms;
    if (t.kind == token_kind::number) {
      const double ms = std::round(t.number * 1000.0);
      if (!std::isfinite(ms) || std::fabs(ms) > 9.2e18) fail("duration out of range", t.position);
      return static_cast<std::int64_t>(ms);
    }
    fail(std::string("expected ") + what + ", got " + describe(t), t.position);
  }

  void parse_at(expr& e) {
    if (peek_ident("start") || peek_ident("end")) {
      e.at = iequals(next().text, "start") ? at_kind::start : at_kind::end;
      expect(token_kind::lparen, "\"(\"");
      expect(token_kind::rparen, "\")\"");
      return;
    }
    bool negative = false;
    if (peek().kind == token_kind::sub || peek().kind == token_kind::add) negative = next().kind == token_kind::sub;
    const token& t = next();
    double seconds = 0;
    if (t.kind == token_kind::number) seconds = t.number;
    else if (t.kind == token_kind::duration) seconds = static_cast<double>(t.duration_ms) / 1000.0;
    else fail("unexpected " + describe(t) + " in @, expected timestamp", t.position);
    if (negative) seconds = -seconds;
    const double ms = std::round(seconds * 1000.0);
    if (!std::isfinite(ms) || std::fabs(ms) > 9.2e18) fail("timestamp out of bounds for @ modifier", t.position);
    e.at = at_kind::time;
    e.at_ms = static_cast<std::int64_t>(ms);
  }

  expr_ptr parse_primary(bool& parenthesized) {
    const token& t = peek();
    switch (t.kind) {
      case token_kind::number: {
        next();
        auto e = std::make_unique<expr>();
        e->kind = expr_kind::number;
        e->position = t.position;
        e->number = t.number;
        e->type = vt::scalar;
        return e;
      }
      case token_kind::duration: {
        // A duration where a number is expected stands for its seconds (Prometheus 3).
        next();
        auto e = std::make_unique<expr>();
        e->kind = expr_kind::number;
        e->position = t.position;
        e->number = static_cast<double>(t.duration_ms) / 1000.0;
        e->type = vt::scalar;
        return e;
      }
      case token_kind::string: {
        next();
        auto e = std::make_unique<expr>();
        e->kind = expr_kind::string;
        e->position = t.position;
        e->text = t.text;
        e->type = vt::string;
        return e;
      }
      case token_kind::lparen: {
        next();
        expr_ptr e = parse_expr(1);
        expect(token_kind::rparen, "\")\"");
        parenthesized = true;
        return e;
      }
      case token_kind::lbrace:
        return parse_selector("", t.position);
      case token_kind::identifier:
        break;
      default:
        fail("unexpected " + describe(t));
    }
    const token& id = next();
    if (iequals(id.text, "inf") || iequals(id.text, "nan")) {
      auto e = std::make_unique<expr>();
      e->kind = expr_kind::number;
      e->position = id.position;
      e->number = iequals(id.text, "inf") ? HUGE_VAL : std::nan("");
      e->type = vt::scalar;
      return e;
    }
    const bool call_follows = peek().kind == token_kind::lparen;
    if (is_aggregation(id.text) && (call_follows || peek_ident("by") || peek_ident("without")))
      return parse_aggregation(id);
    if (is_unsupported_aggregation(id.text) && (call_follows || peek_ident("by") || peek_ident("without")))
      fail_unsupported("aggregation " + id.text + " is not supported", id.position);
    if (call_follows) return parse_call(id);
    static const char* const keywords[] = {"by", "without", "on", "ignoring", "group_left", "group_right",
                                           "bool", "offset", "and", "or", "unless"};
    for (const char* k : keywords)
      if (iequals(id.text, k)) fail("unexpected " + describe(id), id.position);
    return parse_selector(id.text, id.position);
  }

  expr_ptr parse_selector(const std::string& name, int pos) {
    auto e = std::make_unique<expr>();
    e->kind = expr_kind::vector_selector;
    e->position = pos;
    e->type = vt::vector;
    e->text = name;
    if (!name.empty()) e->matchers.emplace_back("__name__", tsdb::match_op::equal, name);
    if (peek().kind == token_kind::lbrace) {
      next();
      while (peek().kind != token_kind::rbrace) {
        const token& lname = next();
        if (lname.kind != token_kind::identifier && lname.kind != token_kind::string)
          fail("unexpected " + describe(lname) + " in label matching, expected label", lname.position);
        tsdb::match_op op;
        if (peek().kind == token_kind::comma || peek().kind == token_kind::rbrace) {
          // A bare quoted name inside braces is the metric name (Prometheus 3 UTF-8 syntax).
          if (lname.kind != token_kind::string) fail("unexpected " + describe(peek()) + " in label matching, expected label matching operator");
          if (!e->text.empty()) fail("metric name must not be set twice: \"" + e->text + "\" or \"" + lname.text + "\"", lname.position);
          e->text = lname.text;
          e->matchers.emplace_back("__name__", tsdb::match_op::equal, lname.text);
        } else {
          const token& opt = next();
          switch (opt.kind) {
            case token_kind::assign: op = tsdb::match_op::equal; break;
            case token_kind::neq: op = tsdb::match_op::not_equal; break;
            case token_kind::eql_regex: op = tsdb::match_op::regex; break;
            case token_kind::neq_regex: op = tsdb::match_op::not_regex; break;
            default: fail("unexpected " + describe(opt) + " in label matching, expected label matching operator", opt.position);
          }
          const token& value = next();
          if (value.kind != token_kind::string)
            fail("unexpected " + describe(value) + " in label matching, expected string", value.position);
          if (lname.text == "__name__" && op == tsdb::match_op::equal && !name.empty())
            fail("metric name must not be set twice: \"" + name + "\" or \"" + value.text + "\"", lname.position);
          const bool is_regex = op == tsdb::match_op::regex || op == tsdb::match_op::not_regex;
          try {
            e->matchers.emplace_back(lname.text, op, is_regex ? translate_regex(value.text, value.position) : value.text);
          } catch (const std::invalid_argument& ex) {
            fail(std::string("invalid matcher: ") + ex.what(), value.position);
          }
        }
        if (peek().kind == token_kind::comma) next();
        else if (peek().kind != token_kind::rbrace)
          fail("unexpected " + describe(peek()) + " in label matching, expected \",\" or \"}\"");
      }
      next();
    }
    const bool any_non_empty = std::any_of(e->matchers.begin(), e->matchers.end(),
                                           [](const tsdb::matcher& m) { return !m.matches(""); });
    if (!any_non_empty) fail("vector selector must contain at least one non-empty matcher", pos);
    return e;
  }

  expr_ptr parse_aggregation(const token& id) {
    auto e = std::make_unique<expr>();
    e->kind = expr_kind::aggregate;
    e->position = id.position;
    e->text = lower(id.text);
    e->type = vt::vector;
    bool grouped = false;
    if (peek_ident("by") || peek_ident("without")) {
      e->without = iequals(next().text, "without");
      e->grouping = parse_label_list();
      grouped = true;
    }
    expect(token_kind::lparen, "\"(\"");
    std::vector<expr_ptr> args;
    while (peek().kind != token_kind::rparen) {
      args.push_back(parse_expr(1));
      if (peek().kind == token_kind::comma) next();
      else if (peek().kind != token_kind::rparen) fail("unexpected " + describe(peek()) + " in aggregation");
    }
    next();
    if (!grouped && (peek_ident("by") || peek_ident("without"))) {
      e->without = iequals(next().text, "without");
      e->grouping = parse_label_list();
    }
    const std::string& name = e->text;
    const bool has_param = name == "topk" || name == "bottomk" || name == "quantile" || name == "count_values";
    const std::size_t want = has_param ? 2 : 1;
    if (args.size() != want)
      fail("wrong number of arguments for aggregate expression provided, expected " + std::to_string(want) + ", got " +
               std::to_string(args.size()),
           id.position);
    if (has_param) {
      const vt pt = name == "count_values" ? vt::string : vt::scalar;
      if (args[0]->type != pt)
        fail(std::string("expected type ") + to_string(pt) + " in aggregation parameter, got " + to_string(args[0]->type),
             args[0]->position);
    }
    if (args.back()->type != vt::vector)
      fail(std::string("expected type instant vector in aggregation expression, got ") + to_string(args.back()->type),
           args.back()->position);
    e->args = std::move(args);
    seal(*e);
    return e;
  }

  expr_ptr parse_call(const token& id) {
    const function_spec* spec = find_function(id.text);
    if (!spec) {
      if (is_unsupported_function(id.text)) fail_unsupported("function " + id.text + " is not supported", id.position);
      fail("unknown function with name \"" + id.text + "\"", id.position);
    }
    next();
    auto e = std::make_unique<expr>();
    e->kind = expr_kind::call;
    e->position = id.position;
    e->text = id.text;
    e->type = spec->ret;
    while (peek().kind != token_kind::rparen) {
      e->args.push_back(parse_expr(1));
      if (peek().kind == token_kind::comma) next();
      else if (peek().kind != token_kind::rparen) fail("unexpected " + describe(peek()) + " in call to function \"" + id.text + "\"");
    }
    next();
    const std::size_t n = e->args.size();
    const std::size_t max_args = spec->args.size();
    const std::size_t min_args = max_args - static_cast<std::size_t>(spec->optional);
    if (n < min_args || (!spec->variadic && n > max_args)) {
      const std::string expected = spec->optional > 0 && !spec->variadic
                                       ? std::to_string(min_args) + " to " + std::to_string(max_args)
                                       : (spec->variadic ? "at least " + std::to_string(min_args) : std::to_string(max_args));
      fail("expected " + expected + " argument(s) in call to \"" + id.text + "\", got " + std::to_string(n), id.position);
    }
    for (std::size_t i = 0; i < n; ++i) {
      const vt want = spec->args[std::min(i, max_args - 1)];
      if (e->args[i]->type != want)
        fail(std::string("expected type ") + to_string(want) + " in call to function \"" + id.text + "\", got " +
                 to_string(e->args[i]->type),
             e->args[i]->position);
    }
    seal(*e);
    return e;
  }

  std::vector<token> toks_;
  std::size_t p_ = 0;
  int depth_ = 0;
};

}  // namespace

expr_ptr parse(std::string_view query) {
  if (query.size() > max_query_length) throw error(error_kind::parse, "query is too long", 0);
  parser p(query);
  return p.parse_query();
}

tsdb::label_set parse_series_description(std::string_view text) {
  parser p(text);
  return p.parse_series();
}

bool is_supported_function(std::string_view name) { return find_function(name) != nullptr; }

}  // namespace wk::promql
