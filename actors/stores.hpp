#pragma once

// The persistence actors: detached (they block on PostgreSQL), one connection each, so a slow
// database never stalls the cooperative scheduler that runs scrapes and probes.

#include <chrono>
#include <cstdint>

#include <caf/stateful_actor.hpp>

#include "actors/interfaces.hpp"
#include "actors/runtime.hpp"

namespace wk::actors {

struct sample_store_settings {
  std::chrono::milliseconds flush_interval{5000};
  std::uint64_t max_buffer_bytes = 256ull << 20;
};

// Every flush interval: collect the head's unflushed samples as chunks, write them with COPY,
// then let the head drop what fell out of retention.
sample_store_actor::behavior_type sample_store(sample_store_actor::pointer self, runtime_ptr rt,
                                               sample_store_settings settings);

health_store_actor::behavior_type health_store(health_store_actor::pointer self, runtime_ptr rt);

// Committed transitions are passed on to incident_sink (the incident manager).
alert_store_actor::behavior_type alert_store(alert_store_actor::pointer self, runtime_ptr rt,
                                             caf::actor incident_sink);

anomaly_store_actor::behavior_type anomaly_store(anomaly_store_actor::pointer self, runtime_ptr rt);

prediction_store_actor::behavior_type prediction_store(prediction_store_actor::pointer self,
                                                       runtime_ptr rt);

service_store_actor::behavior_type service_store(service_store_actor::pointer self,
                                                 runtime_ptr rt);

// Applies the migrations once per process; cheap after the first success. Thread-safe.
bool ensure_schema(runtime& rt, std::string* error);

}  // namespace wk::actors
