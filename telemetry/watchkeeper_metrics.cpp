#include "telemetry/watchkeeper_metrics.hpp"

namespace wk::telemetry {

watchkeeper_metrics::watchkeeper_metrics(metrics_registry& r)
  : scrapes(r.add_counter("watchkeeper_scrapes_total",
                          "Scrapes of watched services by outcome.", {"service", "outcome"})),
    samples_ingested(r.add_counter("watchkeeper_samples_ingested_total",
                                   "Samples appended to the series head from scrapes and pushes.")),
    parse_errors(r.add_counter("watchkeeper_parse_errors_total",
                               "Scrapes rejected because the exposition body was malformed.",
                               {"service"})),
    scrape_duration(r.add_histogram("watchkeeper_scrape_duration_seconds",
                                    "Duration of scrapes, request to ingested.",
                                    exponential_buckets(0.001, 2.5, 12))),
    service_up(r.add_gauge("watchkeeper_service_up",
                           "1 when the last scrape of the service succeeded, 0 otherwise.",
                           {"service"})),
    service_health(r.add_gauge("watchkeeper_service_health",
                               "Committed state of each health check: 1 up, 0 down.",
                               {"service", "check"})),
    health_checks(r.add_counter("watchkeeper_health_checks_total",
                                "Health check executions by result.",
                                {"service", "check", "result"})),
    health_transitions(r.add_counter("watchkeeper_health_transitions_total",
                                     "Health state changes committed to the database.",
                                     {"service", "check", "to"})),
    db_write_duration(r.add_histogram("watchkeeper_db_write_duration_seconds",
                                      "Duration of sample flushes to PostgreSQL.",
                                      exponential_buckets(0.001, 2.5, 12))),
    write_queue_bytes(r.add_gauge("watchkeeper_write_queue_bytes",
                                  "Encoded sample chunks waiting to be written to PostgreSQL.")),
    write_queue_chunks(r.add_gauge("watchkeeper_write_queue_chunks",
                                   "Sample chunks waiting to be written to PostgreSQL.")),
    samples_written(r.add_counter("watchkeeper_samples_written_total",
                                  "Samples committed to PostgreSQL.")),
    samples_dropped(r.add_counter("watchkeeper_samples_dropped_total",
                                  "Samples lost, by reason (write buffer full, out of order).",
                                  {"reason"})),
    db_errors(r.add_counter("watchkeeper_database_errors_total",
                            "Failed database operations.", {"operation"})),
    database_up(r.add_gauge("watchkeeper_database_up",
                            "1 when the last database operation succeeded.")),
    child_restarts(r.add_counter("watchkeeper_child_restarts_total",
                                 "Scraper and prober actors restarted by their supervisor.",
                                 {"service", "child"})),
    pushed_samples(r.add_counter("watchkeeper_pushed_samples_total",
                                 "Samples received on the push API.", {"service"})),
    services(r.add_gauge("watchkeeper_services", "Watched services by where they were defined.",
                         {"source"})),
    rule_evaluations(r.add_counter("watchkeeper_rule_group_evaluations_total",
                                   "Rule group evaluations by scope (a service, or empty for global).",
                                   {"scope"})),
    rule_failures(r.add_counter("watchkeeper_rule_evaluation_failures_total",
                                "Rules that failed to evaluate; the other rules still ran.",
                                {"scope", "rule"})),
    rule_group_duration(r.add_histogram("watchkeeper_rule_group_duration_seconds",
                                        "Time to evaluate one rule group.",
                                        exponential_buckets(0.00001, 4, 10))),
    alert_transitions(r.add_counter("watchkeeper_alert_transitions_total",
                                    "Alert state changes committed to the database.",
                                    {"scope", "to"})),
    alerts_active(r.add_gauge("watchkeeper_alerts", "Pending and firing alerts by scope.",
                              {"scope", "state"})),
    anomaly_events(r.add_counter("watchkeeper_anomaly_events_total",
                                 "Anomaly scores crossing the configured threshold.", {"service"})),
    anomaly_detectors(r.add_gauge("watchkeeper_anomaly_detectors",
                                  "Series with an online anomaly detector.", {"service"})),
    incident_transitions(r.add_counter("watchkeeper_incident_changes_total",
                                       "Incident changes committed, by the incident's status after it.",
                                       {"to"})),
    notifications(r.add_counter("watchkeeper_notifications_total",
                                "Notification attempts by channel and outcome (delivered, retry, failed).",
                                {"channel", "outcome"})),
    notification_latency(r.add_histogram("watchkeeper_notification_delivery_seconds",
                                         "From a notification's commit to its delivery.",
                                         exponential_buckets(0.005, 2.5, 12))),
    build_info(r.add_gauge("watchkeeper_build_info", "Build information; always 1.", {"version"})) {
}

void forget_service(watchkeeper_metrics& m, const std::string& service) {
  m.service_up.remove({service});
  m.parse_errors.remove({service});
  m.pushed_samples.remove({service});
  m.rule_evaluations.remove({service});
  m.anomaly_events.remove({service});
  m.anomaly_detectors.remove({service});
  auto drop_prefixed = [&](auto& fam) {
    std::vector<std::vector<std::string>> doomed;
    fam.for_each([&](const std::vector<std::string>& values, const auto&) {
      if (!values.empty() && values[0] == service)
        doomed.push_back(values);
    });
    for (const auto& v : doomed)
      fam.remove(v);
  };
  drop_prefixed(m.scrapes);
  drop_prefixed(m.service_health);
  drop_prefixed(m.health_checks);
  drop_prefixed(m.health_transitions);
  drop_prefixed(m.child_restarts);
  drop_prefixed(m.rule_failures);
  drop_prefixed(m.alert_transitions);
  drop_prefixed(m.alerts_active);
}

}  // namespace wk::telemetry
