#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "promql/ast.hpp"
#include "tsdb/head.hpp"

namespace wk::promql {

struct engine_options {
  std::int64_t lookback_ms = 5 * 60 * 1000;
  std::int64_t default_subquery_step_ms = 60 * 1000;
  std::int64_t max_steps = 11000;        // points per series of a range query, as Prometheus
  std::size_t max_samples = 50'000'000;  // samples one query may hold at once
  // Inner evaluations all subqueries of one query may run together; nested subqueries
  // multiply, so this bounds their cost.
  std::size_t max_subquery_steps = 10'000'000;
  // label_replace refuses longer source values: std::regex recurses per character.
  std::size_t max_regex_input = 4096;
};

struct vector_element {
  tsdb::label_set labels;
  double v;
};

struct query_result {
  value_type type = value_type::scalar;
  std::int64_t t = 0;                   // evaluation time of an instant query
  double scalar = 0;                    // type scalar
  std::string str;                      // type string
  std::vector<vector_element> vector;   // type vector (instant query)
  std::vector<tsdb::series_data> matrix;  // type matrix: range query, or a range selector at an instant
};

// Evaluates PromQL over a series head with Prometheus's semantics. Stateless between queries;
// safe to share across threads because the head is.
class engine {
 public:
  explicit engine(const tsdb::head& head, engine_options options = {});

  // Throws promql::error (parse, execution or unsupported).
  query_result instant_query(std::string_view query, std::int64_t t_ms) const;
  // Result is a matrix sorted by labels (scalars become one series without labels).
  query_result range_query(std::string_view query, std::int64_t start_ms, std::int64_t end_ms,
                           std::int64_t step_ms) const;

  query_result instant_query(const expr& e, std::int64_t t_ms) const;
  query_result range_query(const expr& e, std::int64_t start_ms, std::int64_t end_ms, std::int64_t step_ms) const;

 private:
  const tsdb::head& head_;
  engine_options options_;
};

}  // namespace wk::promql
