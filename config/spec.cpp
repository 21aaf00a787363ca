#include "config/spec.hpp"

#include <tuple>

namespace wk::config {

std::string_view to_string(role r) {
  switch (r) {
    case role::viewer: return "viewer";
    case role::responder: return "responder";
    case role::admin: return "admin";
  }
  return "viewer";
}

std::string_view to_string(log_level level) {
  switch (level) {
    case log_level::trace: return "trace";
    case log_level::debug: return "debug";
    case log_level::info: return "info";
    case log_level::warn: return "warn";
    case log_level::error: return "error";
    case log_level::off: return "off";
  }
  return "info";
}

std::string_view to_string(log_format format) {
  return format == log_format::json ? "json" : "text";
}

std::string_view to_string(health_check_spec::kind k) {
  return k == health_check_spec::kind::tcp ? "tcp" : "http";
}

namespace {

auto fields(const scrape_spec& s) {
  return std::tie(s.url, s.interval, s.timeout, s.body_size_limit, s.sample_limit, s.honor_labels);
}

auto fields(const health_check_spec& h) {
  return std::tie(h.name, h.type, h.url, h.method, h.expected_status, h.body_contains, h.body_regex,
                  h.tls_min_days, h.tls_verify, h.headers, h.address, h.max_latency, h.interval,
                  h.timeout, h.failure_threshold, h.success_threshold);
}

auto fields(const service_spec& s) {
  return std::tie(s.name, s.labels, s.depends_on, s.metrics, s.health, s.rule_files);
}

}  // namespace

bool operator==(const scrape_spec& a, const scrape_spec& b) { return fields(a) == fields(b); }
bool operator!=(const scrape_spec& a, const scrape_spec& b) { return !(a == b); }

bool operator==(const health_check_spec& a, const health_check_spec& b) {
  return fields(a) == fields(b);
}
bool operator!=(const health_check_spec& a, const health_check_spec& b) { return !(a == b); }

bool operator==(const service_spec& a, const service_spec& b) { return fields(a) == fields(b); }
bool operator!=(const service_spec& a, const service_spec& b) { return !(a == b); }

}  // namespace wk::config
