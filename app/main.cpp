// The watchkeeper command line: serve (default), check-config, --version, --help.

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "anomaly/nab_cli.hpp"
#include "app/server.hpp"
#include "config/loader.hpp"
#include "promql/promqltest.hpp"
#include "rules/catalog.hpp"
#include "rules/rule_file.hpp"
#include "rules/unit_test.hpp"

namespace {

const char* usage = R"(Watchkeeper: monitoring and incident service.

Usage:
  watchkeeper [serve] [--config FILE]   watch the configured services (default command)
  watchkeeper check-config FILE...      validate configuration files; exit 0 when valid
  watchkeeper database-url [--config F] print the database URL in force (empty: none)
  watchkeeper check-rules FILE...       validate Prometheus rule files; exit 0 when valid
  watchkeeper test-rules FILE...        run rule unit tests in promtool's format
  watchkeeper promql-test FILE...       run PromQL tests in Prometheus's promqltest format
  watchkeeper nab --data DIR [--labels F] --out DIR
                                        run the anomaly detector over a NAB corpus, write NAB
                                        results files and print the scores
  watchkeeper --version                 print the version
  watchkeeper --help                    this text

The configuration defaults to $WATCHKEEPER_CONFIG, else config/watchkeeper.yaml.
The database is $WATCHKEEPER_DATABASE_URL, else the configuration's database.url.
)";

int check_config(const std::vector<std::string>& files) {
  if (files.empty()) {
    std::fprintf(stderr, "check-config: name at least one file\n");
    return 2;
  }
  int status = 0;
  for (const auto& f : files) {
    auto result = wk::config::load_config_file(f);
    if (result.errors.empty()) {
      auto catalog = wk::rules::load_catalog(*result.config);
      if (!catalog.errors.empty()) {
        for (const auto& e : catalog.errors) std::fprintf(stderr, "%s\n", e.c_str());
        std::fprintf(stderr, "%s: INVALID (%zu errors in rule files)\n", f.c_str(),
                     catalog.errors.size());
        status = 1;
        continue;
      }
      std::printf("%s: valid (%zu services)\n", f.c_str(), result.config->services.size());
    } else {
      std::fprintf(stderr, "%s", wk::config::config_error_report(result.errors).c_str());
      std::fprintf(stderr, "%s: INVALID (%zu errors)\n", f.c_str(), result.errors.size());
      status = 1;
    }
  }
  return status;
}

int promql_test(const std::vector<std::string>& files) {
  if (files.empty()) {
    std::fprintf(stderr, "promql-test: name at least one file\n");
    return 2;
  }
  int passed = 0, failed = 0, skipped = 0;
  for (const auto& f : files) {
    auto report = wk::promql::run_promql_test_file(f);
    for (const auto& failure : report.failures)
      std::printf("FAIL %s\n", failure.c_str());
    passed += report.passed;
    failed += report.failed;
    skipped += report.skipped;
  }
  std::printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
  return failed == 0 ? 0 : 1;
}

int check_rules(const std::vector<std::string>& files) {
  if (files.empty()) {
    std::fprintf(stderr, "check-rules: name at least one file\n");
    return 2;
  }
  int status = 0;
  for (const auto& f : files) {
    auto result = wk::rules::load_rule_file(f);
    if (result.errors.empty()) {
      std::size_t rules = 0;
      for (const auto& g : result.groups) rules += g.rules.size();
      std::printf("%s: SUCCESS: %zu rules found in %zu groups\n", f.c_str(), rules,
                  result.groups.size());
    } else {
      for (const auto& e : result.errors) std::fprintf(stderr, "%s\n", e.c_str());
      std::fprintf(stderr, "%s: FAILED (%zu errors)\n", f.c_str(), result.errors.size());
      status = 1;
    }
  }
  return status;
}

int test_rules(const std::vector<std::string>& files) {
  if (files.empty()) {
    std::fprintf(stderr, "test-rules: name at least one file\n");
    return 2;
  }
  int passed = 0, failed = 0, skipped = 0;
  for (const auto& f : files) {
    auto report = wk::rules::run_rule_test_file(f);
    for (const auto& failure : report.failures) std::printf("FAIL %s\n", failure.c_str());
    passed += report.passed;
    failed += report.failed;
    skipped += report.skipped;
  }
  std::printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
  return failed == 0 ? 0 : 1;
}

int print_database_url(const std::string& config_path) {
  if (const char* env = std::getenv("WATCHKEEPER_DATABASE_URL"); env && *env) {
    std::printf("%s\n", env);
    return 0;
  }
  auto result = wk::config::load_config_file(config_path);
  if (!result.config) {
    std::fprintf(stderr, "%s", wk::config::config_error_report(result.errors).c_str());
    return 2;
  }
  if (!result.config->database.url.empty())
    std::printf("%s\n", result.config->database.url.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 2 && std::string(argv[1]) == "nab")
    return wk::anomaly::run_nab_command(argc - 1, argv + 1, stdout, stderr);
  std::vector<std::string> args(argv + 1, argv + argc);
  std::string command = "serve";
  if (!args.empty() && args[0].rfind("-", 0) != 0) {
    command = args[0];
    args.erase(args.begin());
  }
  for (const auto& a : args) {
    if (a == "--help" || a == "-h") {
      std::fputs(usage, stdout);
      return 0;
    }
    if (a == "--version") {
      std::printf("watchkeeper %s\n", WK_VERSION);
      return 0;
    }
  }
  if (command == "check-config")
    return check_config(args);
  if (command == "promql-test")
    return promql_test(args);
  if (command == "check-rules")
    return check_rules(args);
  if (command == "test-rules")
    return test_rules(args);
  if (command != "serve" && command != "database-url") {
    std::fprintf(stderr, "unknown command \"%s\"\n\n%s", command.c_str(), usage);
    return 2;
  }
  std::string config_path;
  if (const char* env = std::getenv("WATCHKEEPER_CONFIG"))
    config_path = env;
  if (config_path.empty())
    config_path = "config/watchkeeper.yaml";
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--config" && i + 1 < args.size()) {
      config_path = args[++i];
    } else if (args[i].rfind("--config=", 0) == 0) {
      config_path = args[i].substr(9);
    } else {
      std::fprintf(stderr, "unknown argument \"%s\"\n\n%s", args[i].c_str(), usage);
      return 2;
    }
  }
  if (command == "database-url")
    return print_database_url(config_path);
  return wk::app::serve(config_path, WK_VERSION);
}
