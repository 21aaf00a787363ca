#pragma once

// What every actor of the tree shares: the series head (the one shared structure, sharded and
// lock-striped), the outbound HTTP loop, the metrics and the database location. Built by main.

#include <atomic>
#include <memory>
#include <string>

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
  std::string database_url;
  std::atomic<bool> database_up{false};
  std::atomic<bool> ready{false};
  std::atomic<bool> schema_ready{false};
};

using runtime_ptr = std::shared_ptr<runtime>;

}  // namespace wk::actors
