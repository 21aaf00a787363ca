#include <doctest/doctest.h>

#include <cmath>
#include <string>

#include "promql/error.hpp"
#include "promql/parser.hpp"

using namespace wk::promql;

namespace {

const char* op_text(binary_op op) {
  static const char* const names[] = {"+", "-", "*", "/", "%", "^", "==", "!=", ">", "<", ">=", "<=", "and", "or", "unless"};
  return names[static_cast<int>(op)];
}

// Fully parenthesized rendering, so a test states the tree shape in one line.
std::string show(const expr& e) {
  switch (e.kind) {
    case expr_kind::number: {
      std::string s = std::to_string(e.number);
      s.erase(s.find_last_not_of('0') + 1);
      if (s.back() == '.') s.pop_back();
      return s;
    }
    case expr_kind::string: return "\"" + e.text + "\"";
    case expr_kind::vector_selector:
    case expr_kind::matrix_selector: {
      std::string s = e.text.empty() ? "{}" : e.text;
      s += "#" + std::to_string(e.matchers.size());
      if (e.kind == expr_kind::matrix_selector) s += "[" + std::to_string(e.range_ms) + "]";
      if (e.offset_ms != 0) s += " offset " + std::to_string(e.offset_ms);
      if (e.at == at_kind::time) s += " @" + std::to_string(e.at_ms);
      if (e.at == at_kind::start) s += " @start";
      if (e.at == at_kind::end) s += " @end";
      return s;
    }
    case expr_kind::subquery:
      return show(*e.args[0]) + "[" + std::to_string(e.range_ms) + ":" + std::to_string(e.step_ms) + "]" +
             (e.offset_ms ? " offset " + std::to_string(e.offset_ms) : "");
    case expr_kind::unary: return std::string("(") + e.unary_op + show(*e.args[0]) + ")";
    case expr_kind::binary: {
      std::string mod;
      if (e.return_bool) mod += " bool";
      if (e.matching.on) mod += " on";
      if (e.matching.card == cardinality::many_to_one) mod += " gl";
      if (e.matching.card == cardinality::one_to_many) mod += " gr";
      return "(" + show(*e.args[0]) + " " + op_text(e.op) + mod + " " + show(*e.args[1]) + ")";
    }
    case expr_kind::aggregate:
    case expr_kind::call: {
      std::string s = e.text;
      if (!e.grouping.empty()) {
        s += e.without ? " without(" : " by(";
        for (const auto& g : e.grouping) s += g + ",";
        s.back() = ')';
      }
      s += "(";
      for (std::size_t i = 0; i < e.args.size(); ++i) s += (i ? ", " : "") + show(*e.args[i]);
      return s + ")";
    }
  }
  return "?";
}

std::string p(const char* q) { return show(*parse(q)); }

error_kind kind_of(const char* q) {
  try {
    parse(q);
  } catch (const error& e) {
    return e.kind();
  }
  FAIL("expected an error for " << q);
  return error_kind::execution;
}

int position_of(const char* q) {
  try {
    parse(q);
  } catch (const error& e) {
    return e.position();
  }
  return -100;
}

}  // namespace

TEST_CASE("parser: literals") {
  CHECK(p("1") == "1");
  CHECK(p("-1") == "-1");
  CHECK(p("0x10") == "16");
  CHECK(p("1e3") == "1000");
  CHECK(p(".5") == "0.5");
  CHECK(std::isinf(parse("Inf")->number));
  CHECK(std::isnan(parse("nAn")->number));
  CHECK(p("'a\\nb'") == "\"a\nb\"");
  CHECK(p("`raw\\n`") == "\"raw\\n\"");
  CHECK(p("\"\\u00e9\"") == "\"\xc3\xa9\"");
}

TEST_CASE("parser: precedence and associativity") {
  CHECK(p("1 + 2 * 3") == "(1 + (2 * 3))");
  CHECK(p("1 * 2 + 3") == "((1 * 2) + 3)");
  CHECK(p("1 - 2 - 3") == "((1 - 2) - 3)");
  CHECK(p("2 ^ 3 ^ 2") == "(2 ^ (3 ^ 2))");
  CHECK(p("-2 ^ 2") == "(-(2 ^ 2))");
  CHECK(p("-a * b") == "((-a#1) * b#1)");
  CHECK(p("a or b and c") == "(a#1 or (b#1 and c#1))");
  CHECK(p("a and b unless c") == "((a#1 and b#1) unless c#1)");
  CHECK(p("a + b > c or d") == "(((a#1 + b#1) > c#1) or d#1)");
  CHECK(p("1 + 2 == bool 3") == "((1 + 2) == bool 3)");
  CHECK(p("(1 + 2) * 3") == "((1 + 2) * 3)");
  CHECK(p("a % b / c") == "((a#1 % b#1) / c#1)");
  CHECK(p("1 - -1") == "(1 - -1)");
}

TEST_CASE("parser: selectors and modifiers") {
  CHECK(p("foo{a=\"b\", c!=\"d\", e=~\"f.*\", g!~\"h\"}") == "foo#5");
  CHECK(p("{__name__=~\"foo|bar\"}") == "{}#1");
  CHECK(p("foo[1h30m]") == "foo#1[5400000]");
  CHECK(p("foo offset 5m") == "foo#1 offset 300000");
  CHECK(p("foo offset -5m") == "foo#1 offset -300000");
  CHECK(p("foo[5m] offset 1m @ 100") == "foo#1[300000] offset 60000 @100000");
  CHECK(p("foo @ 1.5 offset 1m") == "foo#1 offset 60000 @1500");
  CHECK(p("foo @ start()") == "foo#1 @start");
  CHECK(p("foo @ end()") == "foo#1 @end");
  CHECK(p("rate(foo[5m])[30m:1m]") == "rate(foo#1[300000])[1800000:60000]");
  CHECK(p("(a + b)[5m:]") == "(a#1 + b#1)[300000:0]");
  CHECK(p("foo[5m:1m] offset 2m") == "foo#1[300000:60000] offset 120000");
  CHECK(p("{\"utf8.name\"}") == "utf8.name#1");
}

TEST_CASE("parser: aggregations, calls and matching") {
  CHECK(p("sum by (a, b) (x)") == "sum by(a,b)(x#1)");
  CHECK(p("sum(x) without (a)") == "sum without(a)(x#1)");
  CHECK(p("topk(3, x)") == "topk(3, x#1)");
  CHECK(p("count_values(\"v\", x)") == "count_values(\"v\", x#1)");
  CHECK(p("quantile(0.9, x)") == "quantile(0.9, x#1)");
  CHECK(p("label_join(x, \"d\", \",\", \"a\", \"b\", \"c\")") ==
        "label_join(x#1, \"d\", \",\", \"a\", \"b\", \"c\")");
  CHECK(p("round(x)") == "round(x#1)");
  CHECK(p("hour()") == "hour()");
  CHECK(p("a * on(x) group_left(y) b") == "(a#1 * on gl b#1)");
  CHECK(p("a / ignoring(x) group_right b") == "(a#1 / gr b#1)");
  CHECK(p("a > bool on(x) b") == "(a#1 > bool on b#1)");
  CHECK(p("sum(x) # a comment\n + 1") == "(sum(x#1) + 1)");
}

TEST_CASE("parser: errors carry a message and position") {
  CHECK(kind_of("") == error_kind::parse);
  CHECK(kind_of("foo{") == error_kind::parse);
  CHECK(kind_of("foo{a=}") == error_kind::parse);
  CHECK(kind_of("1 +") == error_kind::parse);
  CHECK(kind_of("(1") == error_kind::parse);
  CHECK(kind_of("{}") == error_kind::parse);
  CHECK(kind_of("{a=\"\"}") == error_kind::parse);
  CHECK(kind_of("foo[5m][5m]") == error_kind::parse);
  CHECK(kind_of("(foo)[5m]") == error_kind::parse);
  CHECK(kind_of("rate(foo)") == error_kind::parse);
  CHECK(kind_of("rate(foo[5m], 1)") == error_kind::parse);
  CHECK(kind_of("nosuchfn(foo)") == error_kind::parse);
  CHECK(kind_of("1 > 2") == error_kind::parse);
  CHECK(kind_of("1 and 2") == error_kind::parse);
  CHECK(kind_of("a and on(x) group_left b") == error_kind::parse);
  CHECK(kind_of("1 + on(x) foo") == error_kind::parse);
  CHECK(kind_of("a + bool b") == error_kind::parse);
  CHECK(kind_of("foo offset 5m offset 5m") == error_kind::parse);
  CHECK(kind_of("sum(1)") == error_kind::parse);
  CHECK(kind_of("topk(x)") == error_kind::parse);
  CHECK(kind_of("\"unterminated") == error_kind::parse);
  CHECK(kind_of("foo{a=~\"(\"}") == error_kind::parse);
  CHECK(kind_of("1 offset 5m") == error_kind::parse);
  CHECK(kind_of("foo[0s]") == error_kind::parse);
  CHECK(kind_of("5mx") == error_kind::parse);
  CHECK(kind_of("foo[5m:1m][1m]") == error_kind::parse);
  CHECK(position_of("foo + ") == 6);
  CHECK(position_of("sum(x) + nosuchfn(y)") == 9);
  CHECK(position_of("foo{a=~\"x\", b=1}") == 14);
}

TEST_CASE("parser: unsupported constructs are a distinct kind") {
  CHECK(kind_of("histogram_count(x)") == error_kind::unsupported);
  CHECK(kind_of("limitk(2, x)") == error_kind::unsupported);
  CHECK(kind_of("a atan2 b") == error_kind::unsupported);
  CHECK(kind_of("foo{a=~\"(?m)x\"}") == error_kind::unsupported);
}

TEST_CASE("parser: hostile input is refused, not overflowed") {
  CHECK(kind_of(std::string(100000, '(').c_str()) == error_kind::parse);
  std::string deep;
  for (int i = 0; i < 5000; ++i) deep += "-";
  deep += "1";
  CHECK(kind_of(deep.c_str()) == error_kind::parse);
  std::string chain = "a";
  for (int i = 0; i < 3000; ++i) chain += " ^ a";
  CHECK(kind_of(chain.c_str()) == error_kind::parse);
  CHECK(kind_of("foo[99999999999999999999y]") == error_kind::parse);
  std::string left_chain = "a";
  for (int i = 0; i < 3000; ++i) left_chain += " + a";
  CHECK(kind_of(left_chain.c_str()) == error_kind::parse);
  std::string calls = "x";
  for (int i = 0; i < 300; ++i) calls = "abs(" + calls + ")";
  CHECK(kind_of(calls.c_str()) == error_kind::parse);
  std::string ok_chain = "a";
  for (int i = 0; i < 150; ++i) ok_chain += " + a";
  CHECK_NOTHROW(parse(ok_chain));
  CHECK(kind_of(std::string(max_query_length + 1, ' ').c_str()) == error_kind::parse);
}

TEST_CASE("parser: series descriptions") {
  const auto ls = parse_series_description("up{job=\"a\", instance=\"b\"}");
  CHECK(ls.get("__name__") == "up");
  CHECK(ls.get("job") == "a");
  CHECK(ls.get("instance") == "b");
  CHECK(parse_series_description("{a=\"b\"}").size() == 1);
  CHECK_THROWS_AS(parse_series_description("up{a=~\"b\"}"), error);
  CHECK_THROWS_AS(parse_series_description("up{a=\"b\",a=\"c\"}"), error);
}

TEST_CASE("parser: RE2 inline case-insensitive groups are translated") {
  const auto e = parse("x{a=~\"(?i:ab)c\"}");
  const auto& m = e->matchers.back();
  CHECK(m.matches("ABc"));
  CHECK(m.matches("abc"));
  CHECK_FALSE(m.matches("abC"));
  const auto e2 = parse("x{a=~\"x((?i)y)z\"}");
  CHECK(e2->matchers.back().matches("xYz"));
  CHECK_FALSE(e2->matchers.back().matches("xyZ"));
  const auto e3 = parse("x{a=~\"(?i)[a-c]+\"}");
  CHECK(e3->matchers.back().matches("AbC"));
}

TEST_CASE("parser: keywords are case-insensitive, names are not") {
  CHECK(p("SUM(x) BY (job)") == "sum by(job)(x#1)");
  CHECK(p("a AND ON (dummy) b") == "(a#1 and on b#1)");
  CHECK(p("a / IGNORING(x) GROUP_LEFT b") == "(a#1 / gl b#1)");
  CHECK(p("x OFFSET 1m") == "x#1 offset 60000");
  CHECK(kind_of("RATE(x[5m])") == error_kind::parse);
}

TEST_CASE("parser: function support query") {
  CHECK(is_supported_function("rate"));
  CHECK(is_supported_function("label_join"));
  CHECK_FALSE(is_supported_function("histogram_count"));
  CHECK_FALSE(is_supported_function("nosuch"));
}
