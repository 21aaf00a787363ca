#pragma once

#include <string_view>

#include "promql/ast.hpp"
#include "tsdb/labels.hpp"

namespace wk::promql {

// Deepest nesting of parentheses, calls and operators a query may have: bounds the parser's
// and the evaluator's recursion on hostile input.
inline constexpr int max_nesting = 200;
inline constexpr std::size_t max_query_length = 64 * 1024;

// Parses and type-checks a PromQL expression. Throws promql::error: kind parse with the byte
// position of the problem, or kind unsupported for a valid construct this engine lacks.
expr_ptr parse(std::string_view query);

// Parses a series description `name{a="b"}` (equality matchers only) into a label set, as
// promqltest and rule unit tests write series. Throws promql::error (parse).
tsdb::label_set parse_series_description(std::string_view text);

// Whether a function of this name is implemented, for callers that vet rules up front.
bool is_supported_function(std::string_view name);

}  // namespace wk::promql
