#pragma once

// One named spdlog logger per subsystem ("scraper", "prober", "store", "gateway", ...), all
// writing to one shared sink so lines interleave in order and the level is set in one place.

#include <memory>
#include <string>

#include <spdlog/logger.h>

namespace wk::telemetry {

// level: trace|debug|info|warn|error|off; format: text|json. Safe to call again on reload.
void init_logging(const std::string& level, const std::string& format);

// The logger for a subsystem, created on first use with the shared sink and level.
std::shared_ptr<spdlog::logger> logger(const std::string& subsystem);

}  // namespace wk::telemetry
