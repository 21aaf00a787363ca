#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/address.hpp"
#include "config/units.hpp"
#include "notify/receiver_config.hpp"
#include "oncall/config.hpp"
#include "silences/config.hpp"

namespace wk::config {

// The loaded configuration. Defaults match config/examples/full.yaml; every duration is in
// milliseconds and every size in bytes.

enum class role { viewer, responder, admin };  // ordered: each role can do what the ones before can
enum class log_level { trace, debug, info, warn, error, off };
enum class log_format { text, json };

std::string_view to_string(role r);
std::string_view to_string(log_level level);
std::string_view to_string(log_format format);

struct server_spec {
  host_port listen{"0.0.0.0", 3006};
  std::uint64_t max_body_bytes = 1ULL << 20;
  std::string external_url = "http://localhost:3006";
  // Origins a browser may open the WebSocket from ("https://ops.example"); empty: any.
  std::vector<std::string> allowed_origins;
  // Threads serving HTTP and WebSocket connections; 0: one per core, at most 4.
  std::uint64_t service_threads = 0;
};

struct database_spec {
  // WATCHKEEPER_DATABASE_URL overrides this when set and non-empty; empty means "not configured".
  std::string url;
  std::chrono::milliseconds flush_interval{5'000};
  std::uint64_t max_buffer_bytes = 256ULL << 20;  // write-behind bound while the database is down
};

struct storage_spec {
  std::chrono::milliseconds retention{2 * 3'600'000};
  std::uint32_t shards = 16;  // a power of two
};

struct token_spec {
  std::string name;
  role r = role::viewer;
  std::array<unsigned char, 32> sha256{};  // of the bearer token; the token itself is never kept
};

struct auth_spec {
  std::vector<token_spec> tokens;
};

struct scrape_defaults_spec {
  std::chrono::milliseconds interval{15'000};
  std::chrono::milliseconds timeout{10'000};
  std::uint64_t body_size_limit = 10ULL << 20;  // never 0: a scrape body is always bounded
  std::uint64_t sample_limit = 0;               // 0 = unlimited
  bool jitter = true;                           // spread scrapes of equal interval over time
};

struct health_defaults_spec {
  std::chrono::milliseconds interval{15'000};
  std::chrono::milliseconds timeout{5'000};
  std::uint32_t failure_threshold = 3;
  std::uint32_t success_threshold = 1;
};

struct supervisor_spec {
  std::uint32_t restart_budget = 5;  // restarts within restart_window before giving up
  std::chrono::milliseconds restart_window{60'000};
  std::chrono::milliseconds backoff_initial{500};
  std::chrono::milliseconds backoff_max{30'000};
};

struct logging_spec {
  log_level level = log_level::info;
  log_format format = log_format::text;
};

struct scrape_spec {
  std::string url;
  std::chrono::milliseconds interval{15'000};
  std::chrono::milliseconds timeout{10'000};
  std::uint64_t body_size_limit = 10ULL << 20;  // never 0: a scrape body is always bounded
  std::uint64_t sample_limit = 0;               // 0 = unlimited
  bool honor_labels = false;
};

struct health_check_spec {
  enum class kind { http, tcp };
  std::string name;  // unique within the service; defaults to the kind's name
  kind type = kind::http;

  // type http
  std::string url;
  std::string method = "GET";
  std::vector<status_range> expected_status = std::vector<status_range>(1);  // one range: 2xx
  std::optional<std::string> body_contains;
  std::optional<std::string> body_regex;      // ECMAScript; known to compile
  std::optional<std::uint32_t> tls_min_days;  // https only: fewer days to certificate expiry fails
  bool tls_verify = true;
  std::map<std::string, std::string> headers;

  // type tcp
  host_port address;

  std::optional<std::chrono::milliseconds> max_latency;  // slower counts as a failure
  std::chrono::milliseconds interval{15'000};
  std::chrono::milliseconds timeout{5'000};
  std::uint32_t failure_threshold = 3;
  std::uint32_t success_threshold = 1;
};

std::string_view to_string(health_check_spec::kind k);

struct service_spec {
  std::string name;
  std::map<std::string, std::string> labels;
  std::vector<std::string> depends_on;
  std::optional<scrape_spec> metrics;
  std::vector<health_check_spec> health;
  // Rule files (globs, relative to the config file) evaluated for this service only, every
  // selector limited to service="<name>".
  std::vector<std::string> rule_files;
  // Escalation policy for this service's incidents; "" = incidents.escalation_policy.
  std::string escalation_policy;
};

// Prometheus rule files. `files` hold global groups, evaluated once over every series;
// `service_files` are attached to every service as if each listed them in its rule_files.
struct rules_spec {
  std::vector<std::string> files;
  std::vector<std::string> service_files;
  std::chrono::milliseconds evaluation_interval{15'000};  // for groups without their own interval
  std::map<std::string, std::string> external_labels;
};

// Online anomaly detection over each service's series.
struct anomaly_spec {
  bool enabled = true;
  // A score at or above it is an anomaly event. 0.8: the detector discounts recurring spikes,
  // which puts its NAB-optimal threshold at 0.83 with a drop above it (anomaly/detector.hpp).
  double threshold = 0.8;
  // PromQL series selectors; every one is limited to the service's own series.
  std::vector<std::string> series = {"probe_duration_seconds", "probe_success", "up",
                                     "scrape_duration_seconds"};
  std::uint32_t max_series_per_service = 500;  // detectors beyond it are not created
};

// How alerts become incidents (incidents/engine).
struct incidents_spec {
  std::vector<std::string> group_by;  // alert labels that split a service's alerts
  bool auto_resolve = true;
  std::chrono::milliseconds reopen_window{10 * 60'000};
  // New alerts of a service with depends_on wait this long for an incident of a dependency
  // to join as related instead of paging on their own.
  std::chrono::milliseconds dependency_wait{2'000};
  std::string escalation_policy;  // default for every incident; "" = none
};

// A capacity prediction: the series `query` selects are forecast every `interval`; the time
// until each crosses `threshold` and its value at the horizon become series
// (watchkeeper_prediction_seconds_to_threshold / watchkeeper_prediction_value{prediction=name})
// that ordinary alert rules use.
struct prediction_spec {
  std::string name;  // label value, unique
  std::string query;
  std::optional<double> threshold;
  std::chrono::milliseconds history{3'600'000};
  std::chrono::milliseconds horizon{86'400'000};
  std::chrono::milliseconds interval{60'000};
  bool linear = false;  // method: auto (Holt-Winters / damped Holt) | linear
};

struct watchkeeper_config {
  server_spec server;
  database_spec database;
  storage_spec storage;
  auth_spec auth;
  scrape_defaults_spec scrape_defaults;
  health_defaults_spec health_defaults;
  supervisor_spec supervisor;
  logging_spec logging;
  rules_spec rules;
  anomaly_spec anomaly;
  incidents_spec incidents;
  std::vector<prediction_spec> predictions;
  // Receivers, routes, on-call and silences, parsed by their own folders' parsers.
  notify::notifications_config notifications;
  oncall::oncall_config oncall;
  silences::silence_config silences;
  std::vector<service_spec> services;
  std::string source_file;
};

bool operator==(const scrape_spec& a, const scrape_spec& b);
bool operator!=(const scrape_spec& a, const scrape_spec& b);
bool operator==(const health_check_spec& a, const health_check_spec& b);
bool operator!=(const health_check_spec& a, const health_check_spec& b);
// Equal services need no restart on reload.
bool operator==(const service_spec& a, const service_spec& b);
bool operator!=(const service_spec& a, const service_spec& b);

}  // namespace wk::config
