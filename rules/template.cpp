#include "rules/template.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <limits>
#include <regex>
#include <stdexcept>
#include <utility>
#include <variant>
#include <vector>

#include "promql/lexer.hpp"

namespace wk::rules {
namespace detail {

// ---- values ------------------------------------------------------------------------------

using string_map = std::map<std::string, std::string>;

struct dot_data {};  // the template's "." (AlertTemplateData)

// A Go value as templates see it. Label maps are held by pointer: they outlive one expansion.
using value = std::variant<std::monostate, bool, std::int64_t, double, std::string, const tsdb::label_set*,
                           const string_map*, dot_data>;

// ---- syntax tree -------------------------------------------------------------------------

struct pipeline;

struct operand {
  enum class kind { literal, variable, dot_field, function, sub_pipeline } type = kind::literal;
  value literal;
  std::string name;                  // variable ("$labels", "$") or function name
  std::vector<std::string> fields;   // field chain after the variable / dot
  std::shared_ptr<pipeline> sub;     // parenthesized pipeline
};

struct command {
  std::vector<operand> args;
};

struct pipeline {
  std::string declare;  // "$x" for `$x := ...`; empty otherwise
  std::vector<command> commands;
};

struct node {
  enum class kind { text, action, if_block } type = kind::text;
  std::string text;
  std::shared_ptr<pipeline> pipe;
  std::vector<node> then_nodes, else_nodes;
};

struct template_tree {
  std::vector<node> nodes;
};

}  // namespace detail

namespace {

using namespace detail;

struct template_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

const char* const predeclared[] = {"$", "$labels", "$externalLabels", "$externalURL", "$value"};

const char* const known_functions[] = {
    "humanize",   "humanize1024", "humanizeDuration", "humanizePercentage", "humanizeTimestamp",
    "printf",     "print",        "println",          "title",              "toUpper",
    "toLower",    "reReplaceAll", "match",            "index",              "len",
    "eq",         "ne",           "lt",               "le",                 "gt",
    "ge",         "and",          "or",               "not",                "stripPort",
    "stripDomain", "parseDuration"};

// Prometheus template functions this implementation does not offer: they need the query
// engine or HTML rendering at expansion time.
const char* const unsupported_functions[] = {
    "query", "first", "label", "value", "strvalue", "sortByLabel", "args", "tmpl", "safeHtml",
    "pathPrefix", "externalURL", "graphLink", "tableLink", "html", "js", "urlquery", "call",
    "slice", "toTime", "toDuration", "now", "humanizeTimestampUnix"};

template <std::size_t N>
bool contains(const char* const (&list)[N], std::string_view name) {
  return std::any_of(std::begin(list), std::end(list), [&](const char* s) { return name == s; });
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
bool is_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// ---- lexer -------------------------------------------------------------------------------

enum class tok { end, identifier, variable, field, string, number, pipe, lparen, rparen, declare, assign, comma };

struct token {
  tok kind;
  std::string text;
  value literal;
  std::size_t pos;
};

class parser {
 public:
  explicit parser(std::string_view text) : src_(text) {}

  template_tree run() {
    if (src_.size() > max_template_length)
      throw template_error("template longer than " + std::to_string(max_template_length) + " bytes");
    template_tree t;
    scopes_.emplace_back(std::begin(predeclared), std::end(predeclared));
    std::string terminator = parse_list(t.nodes, 0);
    if (!terminator.empty()) throw error_at(last_action_, "unexpected {{" + terminator + "}}");
    return t;
  }

  bool saw_action() const { return saw_action_; }

 private:
  [[noreturn]] void fail(std::size_t pos, const std::string& message) const { throw error_at(pos, message); }

  template_error error_at(std::size_t pos, const std::string& message) const {
    int line = 1, col = 1;
    for (std::size_t i = 0; i < pos && i < src_.size(); ++i) {
      if (src_[i] == '\n') {
        ++line;
        col = 1;
      } else {
        ++col;
      }
    }
    return template_error(std::to_string(line) + ":" + std::to_string(col) + ": " + message);
  }

  // Reads nodes until {{end}} / {{else ...}} (returned as "end" / "else" / "else if") or the
  // end of input (returns "").
  std::string parse_list(std::vector<node>& out, int depth) {
    if (depth > max_template_nesting) fail(pos_, "nested too deeply");
    while (pos_ < src_.size()) {
      const std::size_t open = src_.find("{{", pos_);
      std::string text(src_.substr(pos_, open == std::string_view::npos ? std::string_view::npos : open - pos_));
      if (trim_next_text_) {
        text.erase(0, std::min(text.size(), static_cast<std::size_t>(std::find_if_not(text.begin(), text.end(), is_space) - text.begin())));
        trim_next_text_ = false;
      }
      if (open == std::string_view::npos) {
        pos_ = src_.size();
        push_text(out, std::move(text));
        break;
      }
      std::size_t p = open + 2;
      if (p + 1 < src_.size() && src_[p] == '-' && is_space(src_[p + 1])) {
        while (!text.empty() && is_space(text.back())) text.pop_back();
        p += 2;
      }
      push_text(out, std::move(text));
      last_action_ = open;
      saw_action_ = true;
      pos_ = p;
      if (skip_comment()) continue;
      tokens_ = lex_action();
      next_ = 0;
      const token& first = peek();
      if (first.kind == tok::identifier) {
        const std::string& w = first.text;
        if (w == "end" || w == "else") {
          ++next_;
          if (w == "else" && peek().kind == tok::identifier && peek().text == "if") {
            ++next_;
            return "else if";
          }
          expect_end(w);
          return w;
        }
        if (w == "if") {
          ++next_;
          out.push_back(parse_if(depth));
          continue;
        }
        if (w == "range" || w == "with" || w == "define" || w == "template" || w == "block" || w == "break" ||
            w == "continue")
          fail(first.pos, "{{" + w + "}} is not supported in alert templates");
      }
      node n;
      n.type = node::kind::action;
      n.pipe = parse_pipeline(depth, true);
      expect_end("command");
      out.push_back(std::move(n));
    }
    return "";
  }

  void push_text(std::vector<node>& out, std::string text) {
    if (text.empty()) return;
    node n;
    n.text = std::move(text);
    out.push_back(std::move(n));
  }

  node parse_if(int depth) {
    node n;
    n.type = node::kind::if_block;
    const std::size_t at = last_action_;
    scopes_.emplace_back();
    n.pipe = parse_pipeline(depth + 1, false);
    expect_end("if");
    std::string term = parse_list(n.then_nodes, depth + 1);
    scopes_.pop_back();
    if (term.empty()) fail(at, "unexpected EOF: {{if}} without {{end}}");
    if (term == "else if") {
      // {{else if x}} is {{else}}{{if x}}...{{end}} sharing the outer {{end}}.
      n.else_nodes.push_back(parse_if(depth + 1));
      return n;
    }
    if (term == "else") {
      scopes_.emplace_back();
      term = parse_list(n.else_nodes, depth + 1);
      scopes_.pop_back();
      if (term.empty()) fail(at, "unexpected EOF: {{if}} without {{end}}");
    }
    if (term != "end") fail(last_action_, "unexpected {{" + term + "}}: expected {{end}}");
    return n;
  }

  void expect_end(const std::string& what) {
    if (peek().kind != tok::end) fail(peek().pos, "unexpected \"" + peek().text + "\" in " + what);
  }

  bool skip_comment() {
    std::size_t p = pos_;
    while (p < src_.size() && src_[p] == ' ') ++p;
    if (src_.compare(p, 2, "/*") != 0) return false;
    const std::size_t close = src_.find("*/", p + 2);
    if (close == std::string_view::npos) fail(p, "unclosed comment");
    std::size_t q = close + 2;
    while (q < src_.size() && src_[q] == ' ') ++q;
    if (src_.compare(q, 3, "-}}") == 0) {
      trim_next_text_ = true;
      ++q;
    }
    if (src_.compare(q, 2, "}}") != 0) fail(q, "comment ends before closing delimiter");
    pos_ = q + 2;
    return true;
  }

  // Tokens of one action, up to and including its "}}" (consumed from the source).
  std::vector<token> lex_action() {
    std::vector<token> out;
    std::size_t i = pos_;
    int parens = 0;
    while (true) {
      while (i < src_.size() && is_space(src_[i])) ++i;
      if (i >= src_.size()) fail(last_action_, "unclosed action");
      const std::size_t start = i;
      const char c = src_[i];
      if (c == '-' && src_.compare(i, 3, "-}}") == 0 && i > 0 && is_space(src_[i - 1])) {
        trim_next_text_ = true;
        pos_ = i + 3;
        out.push_back({tok::end, "}}", {}, start});
        return out;
      }
      if (src_.compare(i, 2, "}}") == 0) {
        pos_ = i + 2;
        out.push_back({tok::end, "}}", {}, start});
        return out;
      }
      if (c == '|') {
        out.push_back({tok::pipe, "|", {}, start});
        ++i;
      } else if (c == '(') {
        if (++parens > max_template_nesting) fail(start, "nested too deeply");
        out.push_back({tok::lparen, "(", {}, start});
        ++i;
      } else if (c == ')') {
        --parens;
        out.push_back({tok::rparen, ")", {}, start});
        ++i;
      } else if (c == ',') {
        out.push_back({tok::comma, ",", {}, start});
        ++i;
      } else if (c == ':' && i + 1 < src_.size() && src_[i + 1] == '=') {
        out.push_back({tok::declare, ":=", {}, start});
        i += 2;
      } else if (c == '=') {
        out.push_back({tok::assign, "=", {}, start});
        ++i;
      } else if (c == '"' || c == '`') {
        out.push_back({tok::string, "", lex_string(i), start});
      } else if (c == '\'') {
        fail(start, "character constants are not supported");
      } else if (c == '$') {
        ++i;
        while (i < src_.size() && is_alnum(src_[i])) ++i;
        out.push_back({tok::variable, std::string(src_.substr(start, i - start)), {}, start});
      } else if (c == '.' && (i + 1 >= src_.size() || !(src_[i + 1] >= '0' && src_[i + 1] <= '9'))) {
        ++i;
        while (i < src_.size() && is_alnum(src_[i])) ++i;
        out.push_back({tok::field, std::string(src_.substr(start + 1, i - start - 1)), {}, start});
      } else if ((c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.') {
        out.push_back(lex_number(i));
      } else if (is_alnum(c)) {
        while (i < src_.size() && is_alnum(src_[i])) ++i;
        out.push_back({tok::identifier, std::string(src_.substr(start, i - start)), {}, start});
      } else {
        fail(start, std::string("unexpected character '") + c + "' in action");
      }
    }
  }

  value lex_string(std::size_t& i) {
    const char quote = src_[i++];
    std::string out;
    while (true) {
      if (i >= src_.size() || (quote == '"' && src_[i] == '\n')) fail(i, "unterminated quoted string");
      const char c = src_[i++];
      if (c == quote) return out;
      if (c != '\\' || quote == '`') {
        out += c;
        continue;
      }
      if (i >= src_.size()) fail(i, "unterminated quoted string");
      const char e = src_[i++];
      switch (e) {
        case 'n': out += '\n'; break;
        case 't': out += '\t'; break;
        case 'r': out += '\r'; break;
        case '\\': out += '\\'; break;
        case '"': out += '"'; break;
        case 'a': out += '\a'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'v': out += '\v'; break;
        default: fail(i - 2, std::string("unknown escape sequence \\") + e);
      }
    }
  }

  token lex_number(std::size_t& i) {
    const std::size_t start = i;
    if (src_[i] == '-' || src_[i] == '+') ++i;
    while (i < src_.size() && (is_alnum(src_[i]) || src_[i] == '.' ||
                               ((src_[i] == '+' || src_[i] == '-') && (src_[i - 1] == 'e' || src_[i - 1] == 'E'))))
      ++i;
    const std::string text(src_.substr(start, i - start));
    const bool hex = text.find("0x") != std::string::npos || text.find("0X") != std::string::npos;
    const bool is_float = !hex && text.find_first_of(".eE") != std::string::npos;
    char* end = nullptr;
    token t{tok::number, text, {}, start};
    if (is_float) {
      const double v = std::strtod(text.c_str(), &end);
      if (end != text.c_str() + text.size()) fail(start, "bad number syntax: \"" + text + "\"");
      t.literal = v;
    } else {
      errno = 0;
      const long long v = std::strtoll(text.c_str(), &end, 0);
      if (end != text.c_str() + text.size() || errno == ERANGE) fail(start, "bad number syntax: \"" + text + "\"");
      t.literal = static_cast<std::int64_t>(v);
    }
    return t;
  }

  const token& peek() const { return tokens_[std::min(next_, tokens_.size() - 1)]; }
  const token& take() { return tokens_[std::min(next_++, tokens_.size() - 1)]; }

  bool defined(const std::string& var) const {
    for (const auto& scope : scopes_)
      if (std::find(scope.begin(), scope.end(), var) != scope.end()) return true;
    return false;
  }

  std::shared_ptr<pipeline> parse_pipeline(int depth, bool allow_declare) {
    if (depth > max_template_nesting) fail(peek().pos, "nested too deeply");
    auto p = std::make_shared<pipeline>();
    std::string declared;
    if (peek().kind == tok::variable && next_ + 1 < tokens_.size() &&
        (tokens_[next_ + 1].kind == tok::declare || tokens_[next_ + 1].kind == tok::assign)) {
      const token& var = take();
      const token& op = take();
      if (!allow_declare && op.kind == tok::declare) fail(var.pos, "variable declarations are only allowed in actions");
      if (op.kind == tok::assign && !defined(var.text)) fail(var.pos, "undefined variable \"" + var.text + "\"");
      p->declare = var.text;
      declared = var.text;
    }
    while (true) {
      command cmd;
      while (peek().kind != tok::pipe && peek().kind != tok::end && peek().kind != tok::rparen)
        cmd.args.push_back(parse_operand(depth));
      if (cmd.args.empty()) fail(peek().pos, "missing value for command");
      if (cmd.args.size() > 1 && cmd.args[0].type != operand::kind::function)
        fail(peek().pos, "can't give argument to non-function");
      if (!p->commands.empty() && cmd.args[0].type != operand::kind::function)
        fail(peek().pos, "non-function in pipeline stage");
      p->commands.push_back(std::move(cmd));
      if (peek().kind != tok::pipe) break;
      take();
    }
    if (!declared.empty()) scopes_.back().push_back(declared);
    return p;
  }

  operand parse_operand(int depth) {
    const token& t = take();
    operand o;
    switch (t.kind) {
      case tok::string:
      case tok::number:
        o.literal = t.literal;
        break;
      case tok::identifier:
        if (t.text == "true" || t.text == "false") {
          o.literal = t.text == "true";
        } else if (t.text == "nil") {
          fail(t.pos, "nil is not a command");
        } else if (contains(unsupported_functions, t.text)) {
          fail(t.pos, "function \"" + t.text + "\" is not supported");
        } else if (!contains(known_functions, t.text)) {
          fail(t.pos, "function \"" + t.text + "\" not defined");
        } else {
          o.type = operand::kind::function;
          o.name = t.text;
        }
        break;
      case tok::variable:
        if (!defined(t.text)) fail(t.pos, "undefined variable \"" + t.text + "\"");
        o.type = operand::kind::variable;
        o.name = t.text;
        read_fields(o);
        break;
      case tok::field:
        o.type = operand::kind::dot_field;
        if (!t.text.empty()) o.fields.push_back(t.text);
        read_fields(o);
        break;
      case tok::lparen:
        o.type = operand::kind::sub_pipeline;
        o.sub = parse_pipeline(depth + 1, false);
        if (take().kind != tok::rparen) fail(t.pos, "unclosed left paren");
        read_fields(o);
        break;
      default:
        fail(t.pos, "unexpected \"" + t.text + "\" in operand");
    }
    return o;
  }

  void read_fields(operand& o) {
    while (peek().kind == tok::field && !peek().text.empty() && peek().pos > 0 && !is_space(src_[peek().pos - 1]))
      o.fields.push_back(take().text);
  }

  std::string_view src_;
  std::size_t pos_ = 0;
  std::size_t last_action_ = 0;
  bool trim_next_text_ = false;
  bool saw_action_ = false;
  std::vector<token> tokens_;
  std::size_t next_ = 0;
  std::vector<std::vector<std::string>> scopes_;
};

// ---- formatting --------------------------------------------------------------------------

// C's %g with a precision equals Go's except for infinities and NaN.
std::string c_format(const char* spec, double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[512];
  const int n = std::snprintf(buf, sizeof buf, spec, v);
  return n < 0 ? std::string() : std::string(buf, std::min<std::size_t>(static_cast<std::size_t>(n), sizeof buf - 1));
}

std::string g4(double v) { return c_format("%.4g", v); }

std::string type_name(const value& v) {
  switch (v.index()) {
    case 0: return "<nil>";
    case 1: return "bool";
    case 2: return "int";
    case 3: return "float64";
    case 4: return "string";
    case 5:
    case 6: return "map[string]string";
    default: return "struct";
  }
}

template <class F>
void for_each_entry(const value& v, F&& f) {
  if (const auto* ls = std::get_if<const tsdb::label_set*>(&v)) {
    if (*ls)
      for (const auto& l : (*ls)->labels()) f(l.name, l.value);
  } else if (const auto* sm = std::get_if<const string_map*>(&v)) {
    if (*sm)
      for (const auto& [k, val] : **sm) f(k, val);
  }
}

std::string print_value(const value& v) {
  switch (v.index()) {
    case 0: return "<no value>";
    case 1: return std::get<bool>(v) ? "true" : "false";
    case 2: return std::to_string(std::get<std::int64_t>(v));
    case 3: return go_format_float(std::get<double>(v));
    case 4: return std::get<std::string>(v);
    case 5:
    case 6: {
      std::string out = "map[";
      bool first = true;
      for_each_entry(v, [&](const std::string& k, const std::string& val) {
        if (!first) out += ' ';
        first = false;
        out += k + ":" + val;
      });
      return out + "]";
    }
    default: return "{}";
  }
}

bool truth(const value& v) {
  switch (v.index()) {
    case 0: return false;
    case 1: return std::get<bool>(v);
    case 2: return std::get<std::int64_t>(v) != 0;
    case 3: return std::get<double>(v) != 0;
    case 4: return !std::get<std::string>(v).empty();
    case 5:
    case 6: {
      bool any = false;
      for_each_entry(v, [&](const std::string&, const std::string&) { any = true; });
      return any;
    }
    default: return true;
  }
}

double to_float(const value& v, const std::string& fn) {
  switch (v.index()) {
    case 2: return static_cast<double>(std::get<std::int64_t>(v));
    case 3: return std::get<double>(v);
    case 4: {
      const std::string& s = std::get<std::string>(v);
      char* end = nullptr;
      const double d = std::strtod(s.c_str(), &end);
      if (s.empty() || end != s.c_str() + s.size())
        throw template_error("error calling " + fn + ": strconv.ParseFloat: parsing \"" + s + "\": invalid syntax");
      return d;
    }
    default: throw template_error("error calling " + fn + ": can't convert " + type_name(v) + " to float");
  }
}

const std::string& to_string_arg(const value& v, const std::string& fn) {
  if (const auto* s = std::get_if<std::string>(&v)) return *s;
  throw template_error("error calling " + fn + ": wrong type for value; expected string; got " + type_name(v));
}

std::string humanize(double v) {
  if (v == 0 || std::isnan(v) || std::isinf(v)) return g4(v);
  static const char* const big[] = {"k", "M", "G", "T", "P", "E", "Z", "Y"};
  static const char* const small[] = {"m", "u", "n", "p", "f", "a", "z", "y"};
  std::string prefix;
  if (std::fabs(v) >= 1) {
    for (const char* p : big) {
      if (std::fabs(v) < 1000) break;
      prefix = p;
      v /= 1000;
    }
  } else {
    for (const char* p : small) {
      if (std::fabs(v) >= 1) break;
      prefix = p;
      v *= 1000;
    }
  }
  return g4(v) + prefix;
}

std::string humanize1024(double v) {
  if (std::fabs(v) <= 1 || std::isnan(v) || std::isinf(v)) return g4(v);
  static const char* const units[] = {"ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"};
  std::string prefix;
  for (const char* p : units) {
    if (std::fabs(v) < 1024) break;
    prefix = p;
    v /= 1024;
  }
  return g4(v) + prefix;
}

std::string humanize_duration(double v) {
  if (std::isnan(v) || std::isinf(v)) return g4(v);
  if (v == 0) return g4(v) + "s";
  if (std::fabs(v) >= 1) {
    std::string sign;
    if (v < 0) {
      sign = "-";
      v = -v;
    }
    // Go converts with int64(v); beyond its range the result is unspecified, so clamp.
    const auto d = v >= 9.2e18 ? std::numeric_limits<std::int64_t>::max() : static_cast<std::int64_t>(v);
    const std::int64_t seconds = d % 60, minutes = (d / 60) % 60, hours = (d / 3600) % 24, days = d / 86400;
    const auto s = [](std::int64_t n) { return std::to_string(n); };
    if (days != 0) return sign + s(days) + "d " + s(hours) + "h " + s(minutes) + "m " + s(seconds) + "s";
    if (hours != 0) return sign + s(hours) + "h " + s(minutes) + "m " + s(seconds) + "s";
    if (minutes != 0) return sign + s(minutes) + "m " + s(seconds) + "s";
    return sign + g4(v) + "s";
  }
  static const char* const small[] = {"m", "u", "n", "p", "f", "a", "z", "y"};
  std::string prefix;
  for (const char* p : small) {
    if (std::fabs(v) >= 1) break;
    prefix = p;
    v *= 1000;
  }
  return g4(v) + prefix + "s";
}

// Go's fmt.Sprint(time.Time) in UTC: "2006-01-02 15:04:05.999999999 +0000 UTC". Prometheus
// goes through model.Time first, so the value is truncated to milliseconds.
std::string humanize_timestamp(double v) {
  if (std::isnan(v) || std::isinf(v)) return g4(v);
  const double nanos_total = v * 1e9;
  if (std::fabs(nanos_total) >= 9.2e18) throw template_error("error calling humanizeTimestamp: time.Time overflow");
  const std::int64_t ms = static_cast<std::int64_t>(nanos_total) / 1'000'000;
  std::int64_t sec = ms / 1000, milli = ms % 1000;
  if (milli < 0) {
    milli += 1000;
    --sec;
  }
  const auto tt = static_cast<std::time_t>(sec);
  std::tm tm{};
  if (!gmtime_r(&tt, &tm)) throw template_error("error calling humanizeTimestamp: time out of range");
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d %02d:%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec);
  std::string out = buf;
  if (milli != 0) {
    std::snprintf(buf, sizeof buf, ".%03d", static_cast<int>(milli));
    std::string f = buf;
    while (f.back() == '0') f.pop_back();
    out += f;
  }
  return out + " +0000 UTC";
}

// strings.Title for ASCII: a letter after a separator (not a letter, digit or '_') goes upper.
std::string title(std::string s) {
  bool prev_sep = true;
  for (char& c : s) {
    const auto byte = static_cast<unsigned char>(c);
    if (prev_sep && c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    prev_sep = !(is_alnum(c) || byte >= 0x80);
  }
  return s;
}

std::string ascii_case(std::string s, bool upper) {
  for (char& c : s) {
    if (upper && c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (!upper && c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

// std::regex recurses per input character: bound what a template may feed it.
constexpr std::size_t max_regex_input = 4096;

std::regex compile_regex(const std::string& pattern, const std::string& fn) {
  if (pattern.size() > 1024) throw template_error("error calling " + fn + ": regex longer than 1024 bytes");
  try {
    return std::regex(pattern, std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    throw template_error("error calling " + fn + ": error parsing regexp: " + e.what());
  }
}

// Go's Expand syntax ${1} / $1 / $$ in ECMAScript's $n / $$ form.
std::string go_replacement(const std::string& repl) {
  std::string out;
  for (std::size_t i = 0; i < repl.size(); ++i) {
    if (repl[i] == '$' && i + 1 < repl.size() && repl[i + 1] == '{') {
      const std::size_t close = repl.find('}', i);
      if (close != std::string::npos) {
        out += '$' + repl.substr(i + 2, close - i - 2);
        i = close;
        continue;
      }
    }
    out += repl[i];
  }
  return out;
}

enum class basic { boolean, integer, floating, string, other };

basic kind_of(const value& v) {
  switch (v.index()) {
    case 1: return basic::boolean;
    case 2: return basic::integer;
    case 3: return basic::floating;
    case 4: return basic::string;
    default: return basic::other;
  }
}

// Go's eq/lt on basic kinds: both sides of one kind, else "incompatible types".
int compare(const value& a, const value& b, bool ordering) {
  const basic ka = kind_of(a), kb = kind_of(b);
  if (ka == basic::other || kb == basic::other || (ordering && (ka == basic::boolean || kb == basic::boolean)))
    throw template_error("invalid type for comparison");
  if (ka != kb) throw template_error("incompatible types for comparison");
  switch (ka) {
    case basic::boolean: return std::get<bool>(a) == std::get<bool>(b) ? 0 : 1;
    case basic::integer: {
      const auto x = std::get<std::int64_t>(a), y = std::get<std::int64_t>(b);
      return x < y ? -1 : x > y ? 1 : 0;
    }
    case basic::floating: {
      const double x = std::get<double>(a), y = std::get<double>(b);
      if (x < y) return -1;
      if (x > y) return 1;
      return x == y ? 0 : 2;  // NaN: unordered
    }
    default: return std::get<std::string>(a).compare(std::get<std::string>(b)) < 0 ? -1 : std::get<std::string>(a) == std::get<std::string>(b) ? 0 : 1;
  }
}

std::string quote_go(const std::string& s) {
  std::string out = "\"";
  for (const char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned char>(c));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

constexpr int max_printf_width = 4096;

std::string pad(std::string s, int width, bool left, bool zero) {
  if (width <= 0 || s.size() >= static_cast<std::size_t>(width)) return s;
  const std::size_t n = static_cast<std::size_t>(width) - s.size();
  if (left) return s + std::string(n, ' ');
  if (zero) {
    const std::size_t at = !s.empty() && (s[0] == '-' || s[0] == '+') ? 1 : 0;
    return s.insert(at, std::string(n, '0'));
  }
  return std::string(n, ' ') + s;
}

// fmt.Sprintf for the verbs alert templates use: %s %v %d %f %F %e %E %g %G %x %X %q %t %%.
std::string go_sprintf(const std::string& format, const std::vector<value>& args) {
  std::string out;
  std::size_t arg = 0;
  for (std::size_t i = 0; i < format.size(); ++i) {
    if (format[i] != '%') {
      out += format[i];
      continue;
    }
    std::string flags;
    ++i;
    while (i < format.size() && std::string_view("-+# 0").find(format[i]) != std::string_view::npos) flags += format[i++];
    const auto read_int = [&](int& n) {
      bool any = false;
      n = 0;
      while (i < format.size() && format[i] >= '0' && format[i] <= '9') {
        n = n * 10 + (format[i++] - '0');
        any = true;
        if (n > max_printf_width) throw template_error("error calling printf: width or precision too large");
      }
      return any;
    };
    int width = 0, prec = -1;
    read_int(width);
    if (i < format.size() && format[i] == '.') {
      ++i;
      read_int(prec);
    }
    if (i >= format.size()) {
      out += "%!(NOVERB)";
      break;
    }
    const char verb = format[i];
    if (verb == '%') {
      out += '%';
      continue;
    }
    const bool left = flags.find('-') != std::string::npos;
    const bool zero = flags.find('0') != std::string::npos && !left;
    if (arg >= args.size()) {
      out += std::string("%!") + verb + "(MISSING)";
      continue;
    }
    const value& a = args[arg++];
    const auto bad = [&]() { return std::string("%!") + verb + "(" + type_name(a) + "=" + print_value(a) + ")"; };
    std::string s;
    const basic k = kind_of(a);
    switch (verb) {
      case 'v':
        s = print_value(a);
        if (k == basic::floating && prec >= 0) s = c_format(("%" + flags + "." + std::to_string(prec) + "g").c_str(), std::get<double>(a));
        break;
      case 's':
        if (k == basic::string) s = std::get<std::string>(a);
        else if (k == basic::other) s = print_value(a);
        else s = bad();
        if (prec >= 0 && k == basic::string && s.size() > static_cast<std::size_t>(prec)) s.resize(static_cast<std::size_t>(prec));
        break;
      case 'q':
        s = k == basic::string ? quote_go(std::get<std::string>(a)) : bad();
        break;
      case 't':
        s = k == basic::boolean ? print_value(a) : bad();
        break;
      case 'd':
        if (k == basic::integer) {
          s = std::to_string(std::get<std::int64_t>(a));
          if (flags.find('+') != std::string::npos && std::get<std::int64_t>(a) >= 0) s = "+" + s;
        } else {
          s = bad();
        }
        break;
      case 'x':
      case 'X':
        if (k == basic::integer) {
          char buf[32];
          const auto n = std::get<std::int64_t>(a);
          std::snprintf(buf, sizeof buf, verb == 'x' ? "%llx" : "%llX", static_cast<unsigned long long>(n < 0 ? -n : n));
          s = (n < 0 ? "-" : "") + std::string(buf);
        } else if (k == basic::string) {
          static const char* const digits[] = {"0123456789abcdef", "0123456789ABCDEF"};
          for (const unsigned char c : std::get<std::string>(a)) {
            s += digits[verb == 'X'][c >> 4];
            s += digits[verb == 'X'][c & 15];
          }
        } else {
          s = bad();
        }
        break;
      case 'f':
      case 'F':
      case 'e':
      case 'E':
      case 'g':
      case 'G':
        if (k != basic::floating) {
          s = bad();
        } else if ((verb == 'g' || verb == 'G') && prec < 0) {
          s = go_format_float(std::get<double>(a));
          if (verb == 'G') s = ascii_case(s, true);
        } else {
          std::string spec = "%";
          for (const char f : flags)
            if (f == '+' || f == ' ' || f == '#') spec += f;
          spec += "." + std::to_string(prec < 0 ? 6 : prec) + verb;
          s = c_format(spec.c_str(), std::get<double>(a));
        }
        break;
      default:
        s = std::string("%!") + verb + "(" + type_name(a) + "=" + print_value(a) + ")";
    }
    out += pad(std::move(s), width, left, zero && k != basic::string);
    if (out.size() > max_template_output) throw template_error("output longer than " + std::to_string(max_template_output) + " bytes");
  }
  if (arg < args.size()) {
    out += "%!(EXTRA ";
    for (std::size_t j = arg; j < args.size(); ++j) {
      if (j > arg) out += ", ";
      out += type_name(args[j]) + "=" + print_value(args[j]);
    }
    out += ")";
  }
  return out;
}

// fmt.Sprint: a space between operands when neither is a string.
std::string go_sprint(const std::vector<value>& args, bool line) {
  std::string out;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (i > 0 && (line || (kind_of(args[i]) != basic::string && kind_of(args[i - 1]) != basic::string))) out += ' ';
    out += print_value(args[i]);
  }
  return line ? out + "\n" : out;
}

// ---- execution ---------------------------------------------------------------------------

class executor {
 public:
  explicit executor(const template_data& d) : data_(d) {
    vars_.emplace_back("$", dot_data{});
    vars_.emplace_back("$labels", d.labels);
    vars_.emplace_back("$externalLabels", d.external_labels);
    vars_.emplace_back("$externalURL", d.external_url);
    vars_.emplace_back("$value", d.value);
  }

  void run(const std::vector<node>& nodes, std::string& out) {
    for (const node& n : nodes) {
      switch (n.type) {
        case node::kind::text:
          out += n.text;
          break;
        case node::kind::action: {
          const value v = eval_pipeline(*n.pipe);
          if (n.pipe->declare.empty()) out += print_value(v);
          break;
        }
        case node::kind::if_block: {
          const std::size_t mark = vars_.size();
          const bool cond = truth(eval_pipeline(*n.pipe));
          run(cond ? n.then_nodes : n.else_nodes, out);
          vars_.resize(mark);
          break;
        }
      }
      if (out.size() > max_template_output)
        throw template_error("output longer than " + std::to_string(max_template_output) + " bytes");
    }
  }

 private:
  value eval_pipeline(const pipeline& p) {
    value v;
    bool have = false;
    for (const command& c : p.commands) {
      v = eval_command(c, have ? &v : nullptr);
      have = true;
    }
    if (!p.declare.empty()) {
      bool assigned = false;
      for (auto it = vars_.rbegin(); it != vars_.rend(); ++it)
        if (it->first == p.declare) {
          it->second = v;
          assigned = true;
          break;
        }
      if (!assigned) vars_.emplace_back(p.declare, v);
    }
    return v;
  }

  value eval_command(const command& c, const value* piped) {
    const operand& head = c.args[0];
    if (head.type != operand::kind::function) return eval_operand(head);
    std::vector<value> args;
    args.reserve(c.args.size());
    for (std::size_t i = 1; i < c.args.size(); ++i) args.push_back(eval_operand(c.args[i]));
    if (piped) args.push_back(*piped);
    return call(head.name, args);
  }

  value eval_operand(const operand& o) {
    value v;
    switch (o.type) {
      case operand::kind::literal: return o.literal;
      case operand::kind::function: return call(o.name, {});
      case operand::kind::sub_pipeline: v = eval_pipeline(*o.sub); break;
      case operand::kind::dot_field: v = dot_data{}; break;
      case operand::kind::variable:
        for (auto it = vars_.rbegin(); it != vars_.rend(); ++it)
          if (it->first == o.name) {
            v = it->second;
            break;
          }
        break;
    }
    for (const std::string& f : o.fields) v = field(v, f);
    return v;
  }

  value field(const value& v, const std::string& name) {
    if (std::holds_alternative<dot_data>(v)) {
      if (name == "Labels") return data_.labels;
      if (name == "ExternalLabels") return data_.external_labels;
      if (name == "ExternalURL") return data_.external_url;
      if (name == "Value") return data_.value;
      throw template_error("can't evaluate field " + name + " in type struct");
    }
    if (const auto* ls = std::get_if<const tsdb::label_set*>(&v)) return *ls ? std::string((*ls)->get(name)) : std::string();
    if (const auto* sm = std::get_if<const string_map*>(&v)) {
      if (!*sm) return std::string();
      const auto it = (*sm)->find(name);
      return it == (*sm)->end() ? std::string() : it->second;
    }
    if (std::holds_alternative<std::monostate>(v)) throw template_error("nil pointer evaluating field ." + name);
    throw template_error("can't evaluate field " + name + " in type " + type_name(v));
  }

  static void arity(const std::string& fn, const std::vector<value>& args, std::size_t n) {
    if (args.size() != n)
      throw template_error("wrong number of args for " + fn + ": want " + std::to_string(n) + " got " +
                           std::to_string(args.size()));
  }

  value call(const std::string& fn, const std::vector<value>& args) {
    if (fn == "humanize" || fn == "humanize1024" || fn == "humanizeDuration" || fn == "humanizePercentage" ||
        fn == "humanizeTimestamp") {
      arity(fn, args, 1);
      const double v = to_float(args[0], fn);
      if (fn == "humanize") return humanize(v);
      if (fn == "humanize1024") return humanize1024(v);
      if (fn == "humanizeDuration") return humanize_duration(v);
      if (fn == "humanizePercentage") return g4(v * 100) + "%";
      return humanize_timestamp(v);
    }
    if (fn == "printf") {
      if (args.empty()) throw template_error("wrong number of args for printf: want at least 1 got 0");
      return go_sprintf(to_string_arg(args[0], fn), std::vector<value>(args.begin() + 1, args.end()));
    }
    if (fn == "print" || fn == "println") return go_sprint(args, fn == "println");
    if (fn == "title" || fn == "toUpper" || fn == "toLower" || fn == "stripPort" || fn == "stripDomain") {
      arity(fn, args, 1);
      const std::string& s = to_string_arg(args[0], fn);
      if (fn == "title") return title(s);
      if (fn == "stripPort") return strip_port(s);
      if (fn == "stripDomain") return strip_domain(s);
      return ascii_case(s, fn == "toUpper");
    }
    if (fn == "parseDuration") {
      arity(fn, args, 1);
      const std::string& s = to_string_arg(args[0], fn);
      std::int64_t ms;
      if (s == "0") return 0.0;
      if (!promql::parse_duration(s, ms)) throw template_error("error calling parseDuration: not a valid duration string: \"" + s + "\"");
      return static_cast<double>(ms) / 1000.0;
    }
    if (fn == "reReplaceAll" || fn == "match") {
      arity(fn, args, fn == "match" ? 2 : 3);
      const std::string& pattern = to_string_arg(args[0], fn);
      const std::string& text = to_string_arg(args.back(), fn);
      if (text.size() > max_regex_input)
        throw template_error("error calling " + fn + ": input longer than " + std::to_string(max_regex_input) + " bytes");
      const std::regex re = compile_regex(pattern, fn);
      try {
        if (fn == "match") return std::regex_search(text, re);
        return std::regex_replace(text, re, go_replacement(to_string_arg(args[1], fn)));
      } catch (const std::regex_error& e) {
        throw template_error("error calling " + fn + ": " + e.what());
      }
    }
    if (fn == "index") {
      if (args.empty()) throw template_error("wrong number of args for index: want at least 1 got 0");
      value v = args[0];
      for (std::size_t i = 1; i < args.size(); ++i) {
        if (!std::holds_alternative<const tsdb::label_set*>(v) && !std::holds_alternative<const string_map*>(v))
          throw template_error("error calling index: can't index item of type " + type_name(v));
        v = field(v, to_string_arg(args[i], fn));
      }
      return v;
    }
    if (fn == "len") {
      arity(fn, args, 1);
      if (const auto* s = std::get_if<std::string>(&args[0])) return static_cast<std::int64_t>(s->size());
      std::int64_t n = 0;
      if (kind_of(args[0]) != basic::other || std::holds_alternative<std::monostate>(args[0]))
        throw template_error("error calling len: len of type " + type_name(args[0]));
      for_each_entry(args[0], [&](const std::string&, const std::string&) { ++n; });
      return n;
    }
    if (fn == "not") {
      arity(fn, args, 1);
      return !truth(args[0]);
    }
    if (fn == "and" || fn == "or") {
      if (args.empty()) throw template_error("wrong number of args for " + fn + ": want at least 1 got 0");
      for (const value& a : args)
        if (truth(a) == (fn == "or")) return a;
      return args.back();
    }
    if (fn == "eq") {
      if (args.size() < 2) throw template_error("wrong number of args for eq: want at least 2 got " + std::to_string(args.size()));
      for (std::size_t i = 1; i < args.size(); ++i)
        if (compare(args[0], args[i], false) == 0) return true;
      return false;
    }
    if (fn == "ne" || fn == "lt" || fn == "le" || fn == "gt" || fn == "ge") {
      arity(fn, args, 2);
      const int c = compare(args[0], args[1], fn != "ne");
      if (fn == "ne") return c != 0;
      if (fn == "lt") return c == -1;
      if (fn == "le") return c == -1 || c == 0;
      if (fn == "gt") return c == 1;
      return c == 1 || c == 0;
    }
    throw template_error("function \"" + fn + "\" not defined");
  }

  static std::string strip_port(const std::string& host) {
    if (!host.empty() && host[0] == '[') {
      const std::size_t close = host.find(']');
      return close == std::string::npos ? host : host.substr(1, close - 1);
    }
    const std::size_t colon = host.rfind(':');
    if (colon == std::string::npos || host.find(':') != colon) return host;
    return host.substr(0, colon);
  }

  static std::string strip_domain(const std::string& host) {
    std::string port;
    std::string h = host;
    const std::size_t colon = h.rfind(':');
    if (colon != std::string::npos && h.find(':') == colon) {
      port = h.substr(colon);
      h = h.substr(0, colon);
    }
    const bool numeric = !h.empty() && std::all_of(h.begin(), h.end(), [](char c) { return (c >= '0' && c <= '9') || c == '.'; });
    if (h.find(':') != std::string::npos || numeric) return host;
    const std::size_t dot = h.find('.');
    return (dot == std::string::npos ? h : h.substr(0, dot)) + port;
  }

  const template_data& data_;
  std::vector<std::pair<std::string, value>> vars_;
};

}  // namespace

std::string go_format_float(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == 0) return std::signbit(v) ? "-0" : "0";
  // Shortest digits that round-trip, then Go's %g layout with precision 6 for the switch.
  char buf[64];
  int digits = 1;
  for (; digits <= 17; ++digits) {
    std::snprintf(buf, sizeof buf, "%.*e", digits - 1, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  std::string s = buf;
  const std::size_t e = s.find('e');
  const int exp = std::atoi(s.c_str() + e + 1);
  std::string mant = s.substr(0, e);
  const bool neg = mant[0] == '-';
  if (neg) mant.erase(0, 1);
  std::string ds;
  for (const char c : mant)
    if (c != '.') ds += c;
  while (ds.size() > 1 && ds.back() == '0') ds.pop_back();
  std::string out = neg ? "-" : "";
  if (exp < -4 || exp >= 6) {
    out += ds.substr(0, 1);
    if (ds.size() > 1) out += "." + ds.substr(1);
    char eb[16];
    std::snprintf(eb, sizeof eb, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
    return out + eb;
  }
  if (exp < 0) return out + "0." + std::string(static_cast<std::size_t>(-exp - 1), '0') + ds;
  const auto int_digits = static_cast<std::size_t>(exp) + 1;
  if (ds.size() <= int_digits) return out + ds + std::string(int_digits - ds.size(), '0');
  return out + ds.substr(0, int_digits) + "." + ds.substr(int_digits);
}

compiled_template::compiled_template(std::string_view text, std::string& error) : text_(text) {
  error.clear();
  try {
    parser p(text);
    auto tree = std::make_shared<template_tree>(p.run());
    literal_ = !p.saw_action();
    tree_ = std::move(tree);
  } catch (const template_error& e) {
    error = e.what();
  } catch (const std::exception& e) {
    error = std::string("internal error: ") + e.what();
  }
  error_ = error;
}

std::string compiled_template::expand(const template_data& d) const {
  if (literal_) return text_;
  if (!tree_) return "<error expanding template: " + error_ + ">";
  std::string out;
  try {
    executor ex(d);
    ex.run(tree_->nodes, out);
  } catch (const std::exception& e) {
    return std::string("<error expanding template: ") + e.what() + ">";
  }
  return out;
}

std::string check_template(std::string_view text) {
  std::string error;
  compiled_template t(text, error);
  return error;
}

std::string expand_template(std::string_view text, const template_data& d) {
  std::string error;
  return compiled_template(text, error).expand(d);
}

}  // namespace wk::rules
