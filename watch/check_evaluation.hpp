#pragma once

// Decides whether one health-check observation passes its check's rules: transport, expected
// status set, latency threshold, body substring or regex, days until the TLS certificate expires.

#include <cstdint>
#include <optional>
#include <string>

#include "config/body_pattern.hpp"
#include "config/spec.hpp"

namespace wk::watch {

// What an HTTP(S) or TCP check saw; filled from the fetcher's result by the prober.
struct check_observation {
  bool transport_ok = false;
  std::string transport_error;
  int status = 0;            // HTTP only
  std::string body;          // HTTP only (bounded by the fetcher)
  double latency_seconds = 0;
  std::optional<std::int64_t> tls_not_after_unix;
};

struct check_verdict {
  bool ok = false;
  std::string reason;  // "HTTP 200 in 12 ms" or the first rule that failed
  std::optional<double> tls_days_left;
};

// The compiled rules of one check (the regex is compiled once, not per probe).
class check_rules {
 public:
  explicit check_rules(const config::health_check_spec& spec);
  check_verdict evaluate(const check_observation& o, std::int64_t now_unix) const;

 private:
  config::health_check_spec spec_;
  std::optional<config::body_pattern> body_regex_;
};

}  // namespace wk::watch
