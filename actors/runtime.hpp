#pragma once

// What every actor of the tree shares: the series head (the one shared structure, sharded and
// lock-striped), the outbound HTTP loop, the metrics and the database location. Built by main.

#include <atomic>
#include <memory>
#include <string>

#include "events/event_hub.hpp"
#include "net/http_fetcher.hpp"
#include "telemetry/metrics_registry.hpp"
#include "telemetry/watchkeeper_metrics.hpp"
#include "tsdb/head.hpp"

namespace wk::actors {

struct runtime {
  std::shared_ptr<tsdb::head> head;
  std::shared_ptr<net::http_fetcher> fetcher;
  std::shared_ptr<telemetry::metrics_registry> registry;
  std::shared_ptr<telemetry::watchkeeper_metrics> metrics;
  std::shared_ptr<events::event_hub> events;  // live fan-out to WebSocket clients
  std::string database_url;
  std::atomic<bool> database_up{false};
  std::atomic<bool> ready{false};
  std::atomic<bool> schema_ready{false};
};

using runtime_ptr = std::shared_ptr<runtime>;

// Publishes a live event (data_json: a JSON object); never throws, so a bad event cannot take an
// actor down. A runtime without a hub (tests) publishes nothing.
void publish_event(runtime& rt, const std::string& topic, const std::string& kind,
                   std::string data_json, std::int64_t ts_ms);

}  // namespace wk::actors
