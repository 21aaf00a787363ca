#pragma once

#include <string>

#include "promql/promqltest.hpp"

namespace wk::rules {

// Runs a rule unit test file in promtool's format (rule_files relative to the test file,
// evaluation_interval, group_eval_order, tests with interval, input_series, external_labels,
// external_url, alert_rule_test and promql_expr_test). passed/failed count the
// alert_rule_test and promql_expr_test entries; each failure is one line naming the file, the
// test group and why. Never throws.
promql::test_report run_rule_test_file(const std::string& path);

// Same over text in memory; rule_files are resolved against base_dir.
promql::test_report run_rule_test(const std::string& text, const std::string& name, const std::string& base_dir);

}  // namespace wk::rules
