#include "config/loader.hpp"

#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "config/sha256.hpp"
#include "tests/config/scoped_env.hpp"

using namespace std::chrono_literals;
using wk::config::load_config_file;
using wk::config::load_config_string;
using wk::config::test::scoped_env;

namespace {

namespace fs = std::filesystem;

const std::string source_dir = WK_SOURCE_DIR;

std::string errors_of(const wk::config::load_result& result) {
  return wk::config::config_error_report(result.errors);
}

bool has_error(const wk::config::load_result& result, int line, const std::string& key,
               const std::string& fragment) {
  for (const auto& e : result.errors) {
    if (e.line == line && e.key == key && e.message.find(fragment) != std::string::npos) {
      return true;
    }
  }
  return false;
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// A scratch directory for this test binary, removed at exit.
struct scratch_dir {
  fs::path path = fs::temp_directory_path() / ("wk_config_test_" + std::to_string(::getpid()));
  scratch_dir() { fs::create_directories(path); }
  ~scratch_dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

}  // namespace

TEST_CASE("config/watchkeeper.yaml loads and watches Watchkeeper and node_exporter") {
  const scoped_env token("WATCHKEEPER_ADMIN_TOKEN", std::string("run-sh-generates-48-hex-chars"));
  const scoped_env database("WATCHKEEPER_DATABASE_URL", std::nullopt);
  const scoped_env node("NODE_EXPORTER_URL", std::nullopt);
  const auto result = load_config_file(source_dir + "/config/watchkeeper.yaml");
  INFO(errors_of(result));
  REQUIRE(result.config);
  const auto& config = *result.config;
  CHECK(config.source_file == source_dir + "/config/watchkeeper.yaml");
  CHECK(config.server.listen.port == 3006);
  REQUIRE(config.auth.tokens.size() == 1);
  CHECK(config.auth.tokens[0].r == wk::config::role::admin);
  CHECK(config.auth.tokens[0].sha256 == wk::config::sha256("run-sh-generates-48-hex-chars"));
  REQUIRE(config.services.size() == 2);
  const auto& self = config.services[0];
  CHECK(self.name == "watchkeeper");
  REQUIRE(self.metrics);
  CHECK(self.metrics->url == "http://127.0.0.1:3006/metrics");
  REQUIRE(self.health.size() == 1);
  CHECK(self.health[0].url == "http://127.0.0.1:3006/health");
  CHECK(self.health[0].type == wk::config::health_check_spec::kind::http);
  const auto& node_exporter = config.services[1];
  REQUIRE(node_exporter.metrics);
  CHECK(node_exporter.metrics->url == "http://127.0.0.1:9100/metrics");
  CHECK(node_exporter.metrics->interval == 15s);
}

TEST_CASE("config/watchkeeper.yaml takes node_exporter's address from NODE_EXPORTER_URL") {
  const scoped_env token("WATCHKEEPER_ADMIN_TOKEN", std::string("run-sh-generates-48-hex-chars"));
  const scoped_env node("NODE_EXPORTER_URL", std::string("http://10.1.2.3:9100"));
  const auto result = load_config_file(source_dir + "/config/watchkeeper.yaml");
  INFO(errors_of(result));
  REQUIRE(result.config);
  CHECK(result.config->services[1].metrics->url == "http://10.1.2.3:9100/metrics");
}

TEST_CASE("config/watchkeeper.yaml names WATCHKEEPER_ADMIN_TOKEN when it is unset") {
  const scoped_env token("WATCHKEEPER_ADMIN_TOKEN", std::nullopt);
  const auto result = load_config_file(source_dir + "/config/watchkeeper.yaml");
  CHECK_FALSE(result.config);
  REQUIRE(result.errors.size() == 1);
  CHECK(result.errors[0].key == "auth.tokens[0].env");
  CHECK(result.errors[0].message == "environment variable \"WATCHKEEPER_ADMIN_TOKEN\" is not set");
}

TEST_CASE("config/examples/full.yaml sets every key") {
  const scoped_env token("WATCHKEEPER_ADMIN_TOKEN", std::string("an-admin-token-long-enough"));
  const scoped_env api_token("API_TOKEN", std::string("secret-api-token"));
  const scoped_env database("WATCHKEEPER_DATABASE_URL", std::nullopt);
  const auto result = load_config_file(source_dir + "/config/examples/full.yaml");
  INFO(errors_of(result));
  REQUIRE(result.config);
  const auto& c = *result.config;
  CHECK(c.server.listen.host == "0.0.0.0");
  CHECK(c.server.max_body_bytes == 1u << 20);
  CHECK(c.database.max_buffer_bytes == 256u << 20);
  CHECK(c.storage.retention == 2h);
  CHECK(c.storage.shards == 16);
  REQUIRE(c.predictions.size() == 1);
  CHECK(c.predictions[0].name == "disk_full");
  CHECK(c.predictions[0].threshold == 0.0);
  CHECK(c.predictions[0].horizon == 7 * 24h);
  CHECK(c.predictions[0].interval == 5min);
  CHECK_FALSE(c.predictions[0].linear);
  CHECK(c.incidents.group_by == std::vector<std::string>{"alertname"});
  CHECK(c.incidents.reopen_window == 10min);
  CHECK(c.incidents.escalation_policy == "default");
  CHECK(c.notifications.receivers.size() == 4);
  CHECK(c.notifications.smtp.configured);
  REQUIRE(c.notifications.root);
  CHECK(c.notifications.root->routes.size() == 2);
  CHECK(c.oncall.users.size() == 2);
  CHECK(c.oncall.schedules.size() == 1);
  CHECK(c.oncall.escalation_policies.size() == 1);
  CHECK(c.silences.silences.size() == 1);
  CHECK(c.silences.maintenance_windows.size() == 1);
  REQUIRE(c.auth.tokens.size() == 2);
  CHECK(c.auth.tokens[0].name == "ops-admin");
  CHECK(c.auth.tokens[0].r == wk::config::role::admin);
  CHECK(c.auth.tokens[0].sha256 == wk::config::sha256("an-admin-token-long-enough"));
  CHECK(c.auth.tokens[1].r == wk::config::role::viewer);
  CHECK(c.supervisor.restart_window == 1min);
  CHECK(c.supervisor.backoff_initial == 500ms);
  CHECK(c.logging.level == wk::config::log_level::info);
  CHECK(c.rules.files == std::vector<std::string>{"rules/global/*.yml"});
  CHECK(c.rules.service_files == std::vector<std::string>{"rules/every-service/*.yml"});
  CHECK(c.rules.evaluation_interval == 10s);
  CHECK(c.rules.external_labels.at("cluster") == "eu-1");
  CHECK(c.anomaly.threshold == doctest::Approx(0.75));
  CHECK(c.anomaly.series == std::vector<std::string>{"probe_duration_seconds", "up"});
  CHECK(c.anomaly.max_series_per_service == 200);
  REQUIRE(c.services.size() == 2);
  const auto& api = c.services[0];
  CHECK(api.rule_files == std::vector<std::string>{"rules/api.yml"});
  CHECK(api.labels.at("team") == "payments");
  CHECK(api.depends_on == std::vector<std::string>{"db"});
  REQUIRE(api.metrics);
  CHECK(api.metrics->interval == 10s);
  CHECK(api.metrics->timeout == 5s);
  CHECK(api.metrics->body_size_limit == 5u << 20);
  CHECK(api.metrics->sample_limit == 10000);
  REQUIRE(api.health.size() == 2);
  const auto& http = api.health[0];
  CHECK(http.expected_status == std::vector<wk::config::status_range>{{200, 200}, {204, 204}});
  CHECK(http.max_latency == 500ms);
  CHECK(http.body_contains == "ok");
  CHECK(http.body_regex == R"("status":\s*"up")");
  CHECK(http.tls_min_days == 14u);
  CHECK(http.headers.at("Authorization") == "Bearer secret-api-token");
  CHECK(http.timeout == 2s);
  const auto& port = api.health[1];
  CHECK(port.type == wk::config::health_check_spec::kind::tcp);
  CHECK(port.address.host == "db.internal");
  CHECK(port.address.port == 5432);
  CHECK(port.interval == 15s);  // from health_defaults
  CHECK(c.services[1].health[0].name == "tcp");
}

TEST_CASE("rules and anomaly sections are checked") {
  const auto result = wk::config::load_config_string(R"(
rules:
  files: [a.yml, a.yml]
  evaluation_interval: soon
  external_labels: {__x: y}
anomaly:
  threshold: 1.5
  colour: red
services:
  - name: s
    rule_files: [""]
)", "bad.yaml");
  REQUIRE_FALSE(result.config);
  const std::string text = errors_of(result);
  CHECK(text.find("bad.yaml:3:") != std::string::npos);
  CHECK(text.find("listed twice") != std::string::npos);
  CHECK(text.find("rules.evaluation_interval") != std::string::npos);
  CHECK(text.find("invalid label name \"__x\"") != std::string::npos);
  CHECK(text.find("above 0 and at most 1") != std::string::npos);
  CHECK(text.find("colour") != std::string::npos);
  CHECK(text.find("services[0].rule_files[0]") != std::string::npos);
}

TEST_CASE("server.service_threads: 0 (one per core) by default, 1-64 when set") {
  const scoped_env database("WATCHKEEPER_DATABASE_URL", std::nullopt);
  CHECK(wk::config::server_spec{}.service_threads == 0);
  const auto good = load_config_string("server:\n  service_threads: 3\n", "good.yml");
  REQUIRE(good.config);
  CHECK(good.config->server.service_threads == 3);
  const auto bad = load_config_string("server:\n  service_threads: 65\n", "bad.yml");
  REQUIRE_FALSE(bad.config);
  CHECK(errors_of(bad).find("server.service_threads") != std::string::npos);
}

TEST_CASE("config/examples/full.yaml names the token variable when it is unset") {
  const scoped_env token("WATCHKEEPER_ADMIN_TOKEN", std::nullopt);
  const auto result = load_config_file(source_dir + "/config/examples/full.yaml");
  CHECK_FALSE(result.config);
  REQUIRE(result.errors.size() == 1);
  CHECK(result.errors[0].key == "auth.tokens[0].env");
  CHECK(result.errors[0].message.find("WATCHKEEPER_ADMIN_TOKEN") != std::string::npos);
  CHECK(result.errors[0].line > 0);
}

TEST_CASE("an empty configuration is all defaults") {
  const scoped_env database("WATCHKEEPER_DATABASE_URL", std::nullopt);
  const auto result = load_config_string("", "empty.yml");
  REQUIRE(result.config);
  const wk::config::watchkeeper_config defaults;
  CHECK(result.config->server.listen == defaults.server.listen);
  CHECK(result.config->scrape_defaults.interval == 15s);
  CHECK(result.config->scrape_defaults.timeout == 10s);
  CHECK(result.config->health_defaults.failure_threshold == 3);
  CHECK(result.config->supervisor.backoff_max == 30s);
  CHECK(result.config->services.empty());
  CHECK(result.config->database.url.empty());
}

TEST_CASE("services fall back to scrape_defaults and health_defaults") {
  const auto result = load_config_string(R"(
scrape_defaults: {interval: 1m, timeout: 20s, body_size_limit: 1MiB, sample_limit: 7}
health_defaults: {interval: 30s, timeout: 3s, failure_threshold: 4, success_threshold: 2}
services:
  - name: api
    metrics: {url: "http://127.0.0.1/metrics"}
    health: [{type: tcp, address: "127.0.0.1:1"}]
  - name: fast
    metrics: {url: "http://127.0.0.1/metrics", interval: 5s}
    health: [{type: tcp, address: "127.0.0.1:1", interval: 1s}]
)",
                                         "defaults.yml");
  INFO(errors_of(result));
  REQUIRE(result.config);
  const auto& api = result.config->services[0];
  CHECK(api.metrics->interval == 1min);
  CHECK(api.metrics->timeout == 20s);
  CHECK(api.metrics->body_size_limit == 1u << 20);
  CHECK(api.metrics->sample_limit == 7);
  CHECK(api.health[0].interval == 30s);
  CHECK(api.health[0].timeout == 3s);
  CHECK(api.health[0].failure_threshold == 4);
  CHECK(api.health[0].success_threshold == 2);
  // An inherited timeout longer than the service's interval is cut to the interval.
  const auto& fast = result.config->services[1];
  CHECK(fast.metrics->timeout == 5s);
  CHECK(fast.health[0].timeout == 1s);
}

TEST_CASE("URL schemes are stored in lower case") {
  const auto result = load_config_string(R"(
services:
  - name: api
    metrics: {url: "HTTP://127.0.0.1/metrics"}
    health: [{type: http, url: "HttpS://127.0.0.1/health", tls_min_days: 7}]
)",
                                         "case.yml");
  INFO(errors_of(result));
  REQUIRE(result.config);
  CHECK(result.config->services[0].metrics->url == "http://127.0.0.1/metrics");
  CHECK(result.config->services[0].health[0].url == "https://127.0.0.1/health");
}

TEST_CASE("defaults are read before services wherever they sit in the file") {
  const auto result = load_config_string(R"(
services:
  - {name: api, metrics: {url: "http://127.0.0.1/metrics"}}
scrape_defaults: {interval: 42s}
)",
                                         "order.yml");
  REQUIRE(result.config);
  CHECK(result.config->services[0].metrics->interval == 42s);
}

TEST_CASE("WATCHKEEPER_DATABASE_URL wins over database.url when set and non-empty") {
  const std::string yaml = "database: {url: \"postgresql://file@127.0.0.1/wk\"}\n";
  {
    const scoped_env env("WATCHKEEPER_DATABASE_URL", std::nullopt);
    const auto result = load_config_string(yaml, "db.yml");
    REQUIRE(result.config);
    CHECK(result.config->database.url == "postgresql://file@127.0.0.1/wk");
  }
  {
    const scoped_env env("WATCHKEEPER_DATABASE_URL", std::string("host=10.0.0.1 dbname=wk"));
    const auto result = load_config_string(yaml, "db.yml");
    REQUIRE(result.config);
    CHECK(result.config->database.url == "host=10.0.0.1 dbname=wk");
  }
  {
    const scoped_env env("WATCHKEEPER_DATABASE_URL", std::string(""));
    const auto result = load_config_string(yaml, "db.yml");
    REQUIRE(result.config);
    CHECK(result.config->database.url == "postgresql://file@127.0.0.1/wk");
  }
  {
    const scoped_env env("WATCHKEEPER_DATABASE_URL", std::string("mysql://secret@host/db"));
    const auto result = load_config_string(yaml, "db.yml");
    CHECK_FALSE(result.config);
    REQUIRE(result.errors.size() == 1);
    CHECK(result.errors[0].key == "database.url");
    CHECK(result.errors[0].line == 0);
    // The value may hold a password: it never appears in the message.
    CHECK(result.errors[0].message.find("secret") == std::string::npos);
    CHECK(result.errors[0].to_string().rfind("db.yml: database.url: WATCHKEEPER_DATABASE_URL", 0) ==
          0);
  }
}

TEST_CASE("tokens keep only the SHA-256 of the secret") {
  const scoped_env token("WK_TEST_TOKEN", std::string("fixture-token-0123456789abcdef"));
  const auto result = load_config_string(R"(
auth:
  tokens:
    - {name: a, role: responder, env: WK_TEST_TOKEN}
    - {name: b, role: viewer, sha256: "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"}
)",
                                         "tokens.yml");
  INFO(errors_of(result));
  REQUIRE(result.config);
  const auto& tokens = result.config->auth.tokens;
  REQUIRE(tokens.size() == 2);
  CHECK(tokens[0].r == wk::config::role::responder);
  CHECK(tokens[0].sha256 == wk::config::sha256("fixture-token-0123456789abcdef"));
  CHECK(tokens[1].sha256 == wk::config::sha256(""));
  CHECK(wk::config::role::viewer < wk::config::role::responder);
  CHECK(wk::config::role::responder < wk::config::role::admin);
}

TEST_CASE("errors carry file, line, column and key and print as file:line:col: key: message") {
  const auto result = load_config_string("storage:\n  shards: 3\n", "cfg.yml");
  REQUIRE(result.errors.size() == 1);
  const auto& e = result.errors[0];
  CHECK(e.file == "cfg.yml");
  CHECK(e.line == 2);
  CHECK(e.column == 11);
  CHECK(e.key == "storage.shards");
  CHECK(e.to_string() == "cfg.yml:2:11: storage.shards: " + e.message);
  CHECK(wk::config::config_error_report(result.errors) == e.to_string() + "\n");

  const wk::config::config_error unplaced{"cfg.yml", 0, 0, "", "cannot open"};
  CHECK(unplaced.to_string() == "cfg.yml: cannot open");
  const wk::config::config_error no_key{"cfg.yml", 3, 1, "", "YAML syntax error: x"};
  CHECK(no_key.to_string() == "cfg.yml:3:1: YAML syntax error: x");
  CHECK(wk::config::config_error_report({unplaced, no_key}) ==
        "cfg.yml: cannot open\ncfg.yml:3:1: YAML syntax error: x\n");
}

TEST_CASE("all errors are reported, in file order") {
  const auto result = load_config_string(R"(services:
  - name: b
    depends_on: [zzz]
  - name: a
    metrics: {url: "gopher://x", interval: 10}
storage: {shards: 0}
)",
                                         "many.yml");
  INFO(errors_of(result));
  REQUIRE(result.errors.size() == 4);
  CHECK(result.errors[0].line == 3);
  CHECK(result.errors[1].line == 5);
  CHECK(result.errors[2].line == 5);
  CHECK(result.errors[1].column < result.errors[2].column);
  CHECK(result.errors[3].line == 6);
}

TEST_CASE("merge keys: written keys win, earlier merged mappings win over later ones") {
  const auto result = load_config_string(R"(
services:
  - name: api
    health:
      - &a {type: http, url: "http://a/", timeout: 1s, interval: 10s}
      - &b {type: http, url: "http://b/", timeout: 2s, method: HEAD, name: b}
      - <<: [*a, *b]
        name: merged
        interval: 20s
)",
                                         "merge.yml");
  INFO(errors_of(result));
  REQUIRE(result.config);
  const auto& merged = result.config->services[0].health[2];
  CHECK(merged.name == "merged");
  CHECK(merged.url == "http://a/");
  CHECK(merged.timeout == 1s);
  CHECK(merged.method == "HEAD");
  CHECK(merged.interval == 20s);
}

TEST_CASE("environment expansion applies to values only and reports the place") {
  const scoped_env host("WK_TEST_HOST", std::string("10.9.8.7"));
  const scoped_env unset("WK_TEST_UNSET", std::nullopt);
  auto result = load_config_string(R"(
services:
  - name: api
    labels: {"${WK_TEST_HOST}": x}
)",
                                   "keys.yml");
  REQUIRE(result.errors.size() == 1);
  CHECK(result.errors[0].message.find("invalid label name") != std::string::npos);

  result = load_config_string("storage:\n  retention: ${WK_TEST_UNSET}\n", "unset.yml");
  REQUIRE(result.errors.size() == 1);
  CHECK(result.errors[0].to_string() ==
        "unset.yml:2:14: storage.retention: environment variable \"WK_TEST_UNSET\" is not set "
        "(write ${WK_TEST_UNSET:-default} to give a default)");

  result = load_config_string("storage:\n  retention: ${WK_TEST_UNSET:-3h}\n", "default.yml");
  REQUIRE(result.config);
  CHECK(result.config->storage.retention == 3h);

  // A bad value from the environment is described as written, never as expanded.
  result = load_config_string(
      "services:\n  - name: a\n    metrics: {url: \"ftp://${WK_TEST_HOST}/m\"}\n", "url.yml");
  REQUIRE(result.errors.size() == 1);
  CHECK(result.errors[0].message.find("${WK_TEST_HOST}") != std::string::npos);
  CHECK(result.errors[0].message.find("10.9.8.7") == std::string::npos);
  CHECK(result.errors[0].message.find("after environment expansion") != std::string::npos);
}

TEST_CASE("load_config_file reports files it cannot read") {
  const scratch_dir scratch;
  auto result = load_config_file((scratch.path / "missing.yml").string());
  REQUIRE(result.errors.size() == 1);
  CHECK(result.errors[0].message.find("cannot open") != std::string::npos);
  CHECK(result.errors[0].line == 0);

  result = load_config_file(scratch.path.string());
  REQUIRE(result.errors.size() == 1);
  CHECK(result.errors[0].message.find("directory") != std::string::npos);

  const auto big = scratch.path / "big.yml";
  {
    std::ofstream out(big, std::ios::binary);
    const std::string line = "# padding padding padding padding padding padding padding pad\n";
    for (std::size_t written = 0; written <= wk::config::max_config_bytes; written += line.size()) {
      out << line;
    }
  }
  result = load_config_file(big.string());
  REQUIRE(result.errors.size() == 1);
  CHECK(result.errors[0].message.find("larger than 16 MiB") != std::string::npos);
  CHECK_FALSE(result.config);

  const auto exact = std::string(wk::config::max_config_bytes + 1, '#');
  const auto too_big = load_config_string(exact, "string.yml");
  REQUIRE(too_big.errors.size() == 1);
  CHECK(too_big.errors[0].message.find("larger than") != std::string::npos);
}

TEST_CASE("hostile input: the error list is bounded") {
  std::string yaml = "services:\n";
  for (int i = 0; i < 2000; ++i) yaml += "  - {name: s" + std::to_string(i) + ", bogus: 1}\n";
  const auto result = load_config_string(yaml, "noisy.yml");
  CHECK_FALSE(result.config);
  REQUIRE(result.errors.size() == 201);
  CHECK(result.errors.back().message == "... and 1800 more errors");
}

TEST_CASE("hostile input: self-referencing aliases and merges terminate") {
  auto result = load_config_string("services: &s [*s]\n", "alias.yml");
  CHECK_FALSE(result.config);
  CHECK(has_error(result, 1, "services[0]", "expected a mapping, got a list"));

  result = load_config_string("services:\n  - &m {name: a, <<: *m}\n", "merge.yml");
  CHECK_FALSE(result.config);
  CHECK(has_error(result, 2, "services[0].<<", "merge keys nested too deeply"));

  // Merges fanning out ten ways per level are cut off, not followed 10^9 times.
  std::string laughs = "services:\n  - &l0 {name: a}\n";
  for (int level = 1; level <= 9; ++level) {
    laughs += "  - &l" + std::to_string(level) + " {name: a" + std::to_string(level) + ", <<: [";
    for (int i = 0; i < 10; ++i)
      laughs += std::string(i ? ", " : "") + "*l" + std::to_string(level - 1);
    laughs += "]}\n";
  }
  const auto start = std::chrono::steady_clock::now();
  result = load_config_string(laughs, "laughs.yml");
  CHECK(std::chrono::steady_clock::now() - start < 5s);
  CHECK_FALSE(result.config);
}

TEST_CASE("hostile input: aliases cannot multiply the work without bound") {
  // 2000 services each naming one list of 5000 checks through an alias: 10^7 checks from
  // 250 KiB of YAML.
  std::string checks;
  for (int i = 0; i < 5000; ++i) {
    checks += std::string(i ? ", " : "") + "{type: tcp, name: c" + std::to_string(i) +
              ", address: \"a:1\"}";
  }
  std::string yaml = "services:\n  - {name: s0, health: &checks [" + checks + "]}\n";
  for (int i = 1; i < 2000; ++i) {
    yaml += "  - {name: s" + std::to_string(i) + ", health: *checks}\n";
  }
  const auto start = std::chrono::steady_clock::now();
  auto result = load_config_string(yaml, "fanout.yml");
  CHECK(std::chrono::steady_clock::now() - start < 20s);
  CHECK_FALSE(result.config);
  const bool stopped = std::any_of(result.errors.begin(), result.errors.end(), [](const auto& e) {
    return e.message.find("aliases expand the document past") != std::string::npos;
  });
  CHECK(stopped);

  // One 1 MiB string named 200 times would be 200 MiB of labels.
  std::string big =
      "services:\n  - name: a\n    labels:\n      l0: &big \"" + std::string(1 << 20, 'x') + "\"\n";
  for (int i = 1; i < 200; ++i) big += "      l" + std::to_string(i) + ": *big\n";
  result = load_config_string(big, "strings.yml");
  CHECK_FALSE(result.config);
  REQUIRE(result.errors.size() == 1);
  CHECK(result.errors[0].message.find("64 MiB of text") != std::string::npos);
}

TEST_CASE("hostile input: deep nesting, binary junk and huge scalars are errors, not crashes") {
  auto result = load_config_string(std::string(100000, '['), "deep.yml");
  CHECK_FALSE(result.config);
  CHECK_FALSE(result.errors.empty());

  result = load_config_string(std::string("services:\n  - name: \"\xff\xfe\"\n"), "utf8.yml");
  REQUIRE(result.errors.size() == 1);
  CHECK(result.errors[0].message.find("not valid UTF-8") != std::string::npos);
  CHECK(result.errors[0].message.find(R"("\xff\xfe")") != std::string::npos);

  result = load_config_string("services:\n  - name: \"a\\0b\"\n", "nul.yml");
  REQUIRE(result.errors.size() == 1);
  CHECK(result.errors[0].message.find("NUL") != std::string::npos);

  const std::string long_name(1'000'000, 'x');
  result = load_config_string("services:\n  - name: " + long_name + "\n", "long.yml");
  REQUIRE(result.errors.size() == 1);
  CHECK(result.errors[0].message.size() < 300);  // quoted values are cut short

  result = load_config_string(
      "services:\n  - name: api\n    health:\n      - type: http\n"
      "        url: http://x/\n        body_regex: \"" +
          std::string(5000, '(') + "\"\n",
      "regex.yml");
  REQUIRE(result.errors.size() == 1);
  CHECK(result.errors[0].message.find("longer than 1024") != std::string::npos);
}

TEST_CASE("hostile input: mutated fixtures never crash the loader") {
  const scoped_env token("WK_TEST_TOKEN", std::string("fixture-token-0123456789abcdef"));
  std::vector<std::string> seeds;
  for (const auto& entry : fs::directory_iterator(source_dir + "/tests/testdata/config")) {
    seeds.push_back(read_file(entry.path()));
  }
  seeds.push_back(read_file(source_dir + "/config/examples/full.yaml"));
  std::sort(seeds.begin(), seeds.end());
  std::mt19937 random(20240601);
  const std::string alphabet = "{}[]:,-&*!|>'\"#%@`\t\n ?<$\\x0a";
  std::size_t loaded = 0;
  for (int round = 0; round < 3000; ++round) {
    std::string text = seeds[random() % seeds.size()];
    const int edits = 1 + static_cast<int>(random() % 4);
    for (int e = 0; e < edits && !text.empty(); ++e) {
      const std::size_t at = random() % text.size();
      switch (random() % 3) {
        case 0: text[at] = alphabet[random() % alphabet.size()]; break;
        case 1: text.erase(at, 1 + random() % 8); break;
        default: text.insert(at, text.substr(random() % text.size(), random() % 40)); break;
      }
    }
    const auto result = load_config_string(text, "mutated.yml");
    CHECK(result.config.has_value() == result.errors.empty());
    if (result.config) ++loaded;
  }
  MESSAGE("mutated inputs that still loaded: " << loaded << " of 3000");
}

TEST_CASE("a configuration of 5000 services loads") {
  std::string yaml = "services:\n";
  for (int i = 0; i < 5000; ++i) {
    const std::string n = std::to_string(i);
    yaml += "  - name: svc" + n + "\n    labels: {team: t" + std::to_string(i % 50) +
            "}\n    depends_on: [" + (i > 0 ? "svc" + std::to_string(i - 1) : std::string("base")) +
            "]\n    metrics: {url: \"http://10.0." + std::to_string(i / 250) + "." +
            std::to_string(i % 250) +
            ":9100/metrics\"}\n    health:\n      - {type: http, url: "
            "\"http://10.0.0.1:8080/health\", expected_status: [2xx]}\n      - {type: tcp, "
            "address: \"10.0.0.1:5432\"}\n";
  }
  yaml += "  - name: base\n";
  const auto start = std::chrono::steady_clock::now();
  const auto result = load_config_string(yaml, "big.yml");
  const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
  INFO(errors_of(result));
  REQUIRE(result.config);
  CHECK(result.config->services.size() == 5001);
  MESSAGE("5001 services (" << yaml.size() / 1024 << " KiB) loaded in " << elapsed.count()
                            << " ms");
}

TEST_CASE("incident sections: names one section uses must exist in another, with places") {
  const auto result = load_config_string(R"(incidents:
  escalation_policy: nope
notifications:
  receivers:
    - name: hook
      webhook: {url: "ftp://x"}
  route: {receiver: hook}
escalation_policies:
  - name: p
    levels:
      - delay: 1m
        targets: [{channel: missing}]
services:
  - name: api
    escalation_policy: other
)", "wk.yaml");
  REQUIRE_FALSE(result.config);
  const auto text = errors_of(result);
  CHECK(text.find("wk.yaml:6:") != std::string::npos);  // the receiver's bad URL, with its line
  CHECK(text.find("notifications.receivers[0]") != std::string::npos);
  CHECK(text.find("channel \"missing\" is not a receiver") != std::string::npos);
  CHECK(text.find("incidents.escalation_policy: unknown escalation policy \"nope\"") != std::string::npos);
  CHECK(text.find("services[0].escalation_policy: unknown escalation policy \"other\"") != std::string::npos);
}

TEST_CASE("predictions: required keys, unique names, numbers and intervals are checked") {
  const auto result = load_config_string(R"(predictions:
  - name: disk
    query: x
    threshold: lots
  - name: disk
    query: y
  - query: z
    interval: 10ms
)", "wk.yaml");
  REQUIRE_FALSE(result.config);
  const auto text = errors_of(result);
  CHECK(text.find("predictions[0].threshold: expected a number") != std::string::npos);
  CHECK(text.find("prediction \"disk\" defined twice") != std::string::npos);
  CHECK(text.find("a unique prediction name") != std::string::npos);
  CHECK(text.find("must be at least 1s") != std::string::npos);
}
