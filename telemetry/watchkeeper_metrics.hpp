#pragma once

// The families Watchkeeper exports about itself on GET /metrics. Created once at start; the
// actors keep references to the children they update.

#include <string>

#include "telemetry/metrics_registry.hpp"

namespace wk::telemetry {

struct watchkeeper_metrics {
  explicit watchkeeper_metrics(metrics_registry& r);

  family<counter>& scrapes;             // {service, outcome}
  family<counter>& samples_ingested;    // {}
  family<counter>& parse_errors;        // {service}
  family<histogram>& scrape_duration;   // {}
  family<gauge>& service_up;            // {service}
  family<gauge>& service_health;        // {service, check}: 1 up, 0 down
  family<counter>& health_checks;       // {service, check, result}
  family<counter>& health_transitions;  // {service, check, to}
  family<histogram>& db_write_duration; // {}
  family<gauge>& write_queue_bytes;     // {}
  family<gauge>& write_queue_chunks;    // {}
  family<counter>& samples_written;     // {}
  family<counter>& samples_dropped;     // {reason}
  family<counter>& db_errors;           // {operation}
  family<gauge>& database_up;           // {}
  family<counter>& child_restarts;      // {service, child}
  family<counter>& pushed_samples;      // {service}
  family<gauge>& services;              // {source}
  family<counter>& rule_evaluations;    // {scope}: group evaluations ("" scope = global)
  family<counter>& rule_failures;       // {scope, rule}
  family<histogram>& rule_group_duration;  // {}
  family<counter>& alert_transitions;   // {scope, to}
  family<gauge>& alerts_active;         // {scope, state}
  family<counter>& anomaly_events;      // {service}
  family<gauge>& anomaly_detectors;     // {service}
  family<counter>& incident_transitions;   // {to}: committed incident changes by resulting status
  family<counter>& notifications;          // {channel, outcome}: delivered | retry | failed
  family<histogram>& notification_latency; // {}: outbox row created -> delivered, seconds
  family<gauge>& build_info;            // {version}
};

// Removes every per-service child, for a service no longer watched.
void forget_service(watchkeeper_metrics& m, const std::string& service);

}  // namespace wk::telemetry
