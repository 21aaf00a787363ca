#include "watch/check_evaluation.hpp"

#include <cstdio>

namespace wk::watch {

namespace {

std::string ms_text(double seconds) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.0f ms", seconds * 1000.0);
  return buf;
}

}  // namespace

check_rules::check_rules(const config::health_check_spec& spec) : spec_(spec) {
  if (spec_.body_regex)
    body_regex_ = config::body_pattern::compile(*spec_.body_regex, nullptr);
}

check_verdict check_rules::evaluate(const check_observation& o, std::int64_t now_unix) const {
  check_verdict v;
  if (!o.transport_ok) {
    v.reason = o.transport_error.empty() ? "transport error" : o.transport_error;
    return v;
  }
  if (o.tls_not_after_unix)
    v.tls_days_left = static_cast<double>(*o.tls_not_after_unix - now_unix) / 86400.0;
  if (spec_.type == config::health_check_spec::kind::tcp) {
    v.ok = true;
    v.reason = "connected in " + ms_text(o.latency_seconds);
    return v;
  }
  if (!config::status_matches(spec_.expected_status, o.status)) {
    v.reason = "unexpected HTTP status " + std::to_string(o.status);
    return v;
  }
  if (spec_.max_latency && o.latency_seconds * 1000.0 > static_cast<double>(spec_.max_latency->count())) {
    v.reason = "slow: " + ms_text(o.latency_seconds) + " exceeds " +
               std::to_string(spec_.max_latency->count()) + " ms";
    return v;
  }
  if (spec_.body_contains && o.body.find(*spec_.body_contains) == std::string::npos) {
    v.reason = "body does not contain \"" + *spec_.body_contains + "\"";
    return v;
  }
  if (body_regex_ && !body_regex_->search(o.body)) {
    v.reason = "body does not match /" + *spec_.body_regex + "/";
    return v;
  }
  if (spec_.tls_min_days && v.tls_days_left && *v.tls_days_left < *spec_.tls_min_days) {
    char buf[96];
    std::snprintf(buf, sizeof buf, "TLS certificate expires in %.1f days (minimum %d)",
                  *v.tls_days_left, *spec_.tls_min_days);
    v.reason = buf;
    return v;
  }
  v.ok = true;
  v.reason = "HTTP " + std::to_string(o.status) + " in " + ms_text(o.latency_seconds);
  return v;
}

}  // namespace wk::watch
