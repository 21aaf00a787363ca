#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tsdb/matcher.hpp"

namespace wk::promql {

enum class value_type { scalar, vector, matrix, string };

const char* to_string(value_type t);

enum class expr_kind { number, string, vector_selector, matrix_selector, subquery, unary, binary, aggregate, call };

enum class binary_op { add, sub, mul, div, mod, pow, eq, ne, gt, lt, ge, le, land, lor, lunless };

enum class cardinality { one_to_one, many_to_one, one_to_many, many_to_many };

// `@` modifier: a fixed time, or the start/end of the enclosing query.
enum class at_kind { none, time, start, end };

struct vector_matching {
  cardinality card = cardinality::one_to_one;
  bool on = false;
  std::vector<std::string> labels;   // on(...) / ignoring(...)
  std::vector<std::string> include;  // group_left(...) / group_right(...)
};

struct expr;
using expr_ptr = std::unique_ptr<expr>;

// One node of the syntax tree. A tagged struct rather than a class hierarchy keeps the
// evaluator a single switch; the fields a kind does not use stay empty.
struct expr {
  expr_kind kind;
  int position = 0;  // byte offset of the node in the query
  value_type type = value_type::scalar;
  int depth = 1;  // height of the subtree: the evaluator recurses this deep

  double number = 0;  // number
  std::string text;   // string literal; metric name of a selector; function / aggregation name

  // vector_selector, matrix_selector (selectors carry their matchers directly)
  std::vector<tsdb::matcher> matchers;
  std::int64_t range_ms = 0;   // matrix_selector, subquery
  std::int64_t step_ms = 0;    // subquery; 0 = the engine's default
  std::int64_t offset_ms = 0;  // selectors, subquery
  at_kind at = at_kind::none;
  std::int64_t at_ms = 0;

  binary_op op = binary_op::add;  // binary
  bool return_bool = false;
  vector_matching matching;
  char unary_op = '-';  // unary: '-' or '+'

  std::vector<std::string> grouping;  // aggregate
  bool without = false;

  // binary: lhs, rhs. unary, subquery: operand. call: arguments.
  // aggregate: [parameter,] operand.
  std::vector<expr_ptr> args;
};

}  // namespace wk::promql
