#pragma once

#include <string>
#include <vector>

namespace wk::promql {

// Outcome of a promqltest file. skipped counts cases that need a feature the engine reports
// unsupported (or annotations, which it does not produce). failures name file:line and why.
struct test_report {
  int passed = 0;
  int failed = 0;
  int skipped = 0;
  std::vector<std::string> failures;
};

// Runs a file in Prometheus's promqltest format (load, clear, eval instant/range, eval_fail,
// expect fail|warn|info|no_warn|no_info|ordered|string|range vector). Never throws: an
// unreadable file or a malformed command is reported as a failure.
test_report run_promql_test_file(const std::string& path);

// Same over text already in memory; `name` prefixes failure messages.
test_report run_promql_test(const std::string& text, const std::string& name);

}  // namespace wk::promql
