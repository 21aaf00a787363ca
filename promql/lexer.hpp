#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace wk::promql {

enum class token_kind {
  end, number, duration, string, identifier,
  lparen, rparen, lbrace, rbrace, lbracket, rbracket, comma, colon, at,
  assign, eql, neq, eql_regex, neq_regex,
  add, sub, mul, div, mod, pow, gtr, lss, gte, lte,
};

struct token {
  token_kind kind;
  int position;
  std::string text;       // identifier text, unquoted string, or raw number
  double number = 0;      // number
  std::int64_t duration_ms = 0;  // duration
};

// Splits a query into tokens. Throws promql::error (parse) with the offending position.
std::vector<token> lex(std::string_view query);

// Parses a duration such as "1h30m" or "250ms". Returns false when the text is not one or
// when it overflows.
bool parse_duration(std::string_view text, std::int64_t& ms);

}  // namespace wk::promql
