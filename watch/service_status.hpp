#pragma once

// What Watchkeeper knows about one watched service right now: the shape the supervisor reports
// to the registry and the REST API renders. Plain data, header only.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "watch/health_machine.hpp"

namespace wk::watch {

struct scrape_status {
  bool configured = false;
  std::string url;
  bool up = false;
  std::int64_t last_scrape_ms = 0;  // 0: never
  double last_duration_seconds = 0;
  std::string last_error;
  std::size_t samples_scraped = 0;
  std::size_t series = 0;  // series of the last successful scrape
  std::uint64_t scrapes = 0;
  std::uint64_t failures = 0;
};

struct check_status {
  std::string name;
  std::string type;    // http | tcp
  std::string target;  // url or host:port
  health_state state = health_state::unknown;  // as committed to the database
  std::string reason;
  double latency_ms = 0;
  std::int64_t since_ms = 0;
  std::int64_t last_check_ms = 0;
  std::optional<double> tls_days_left;
};

struct service_status {
  std::string name;
  std::string source;  // config | api
  std::map<std::string, std::string> labels;
  std::vector<std::string> depends_on;
  scrape_status scrape;
  std::vector<check_status> checks;
  int restarts = 0;
  std::string state;  // up | down | degraded | unknown
};

// up: every check up and the scrape (if any) succeeding; down: every check down or scrape failing
// with no check up; degraded: a mix; unknown: nothing observed yet.
inline std::string overall_state(const service_status& s) {
  int up = 0, down = 0, known = 0;
  if (s.scrape.configured && s.scrape.last_scrape_ms != 0) {
    ++known;
    (s.scrape.up ? up : down)++;
  }
  for (const auto& c : s.checks) {
    if (c.state == health_state::unknown)
      continue;
    ++known;
    (c.state == health_state::up ? up : down)++;
  }
  if (known == 0)
    return "unknown";
  if (down == 0)
    return "up";
  if (up == 0)
    return "down";
  return "degraded";
}

}  // namespace wk::watch
