#include "actors/runtime.hpp"

#include "telemetry/logging.hpp"

namespace wk::actors {

void publish_event(runtime& rt, const std::string& topic, const std::string& kind,
                   std::string data_json, std::int64_t ts_ms) {
  if (!rt.events) return;
  try {
    rt.events->publish(topic, kind, std::move(data_json), ts_ms);
  } catch (const std::exception& e) {
    telemetry::logger("events")->error("event {}/{} not published: {}", topic, kind, e.what());
  }
}

}  // namespace wk::actors
