#include "actors/live_metrics.hpp"

#include <vector>

#include "events/metrics_topic.hpp"
#include "protocol/rest/samples_json.hpp"

namespace wk::actors {

void publish_live_metrics(runtime& rt, const std::string& service, std::int64_t t_ms) {
  if (!rt.events)
    return;
  const std::string base = std::string(events::metrics_topic_prefix) + service;
  for (const auto& topic : rt.events->subscribed_topics(base)) {
    // The prefix also finds other services ("metrics:api" finds "metrics:api2").
    const auto parsed = events::parse_metrics_topic(topic);
    if (!parsed || parsed->service != service)
      continue;
    std::vector<tsdb::matcher> matchers{
      tsdb::matcher("service", tsdb::match_op::equal, service)};
    matchers.insert(matchers.end(), parsed->matchers.begin(), parsed->matchers.end());
    const auto series = rt.head->select(matchers, t_ms, t_ms);
    if (series.empty())
      continue;  // a health check's samples are not what this selector watches
    publish_event(rt, topic, "samples", rest::samples_event_json(service, t_ms, series), t_ms);
  }
}

}  // namespace wk::actors
