#include "telemetry/logging.hpp"

#include <mutex>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace wk::telemetry {

namespace {

std::mutex logging_mutex;
spdlog::sink_ptr shared_sink;
spdlog::level::level_enum current_level = spdlog::level::info;

spdlog::sink_ptr sink() {
  if (!shared_sink)
    shared_sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  return shared_sink;
}

}  // namespace

void init_logging(const std::string& level, const std::string& format) {
  std::lock_guard<std::mutex> guard(logging_mutex);
  current_level = spdlog::level::from_str(level);
  auto s = sink();
  if (format == "json")
    s->set_pattern(R"({"ts":"%Y-%m-%dT%H:%M:%S.%e%z","level":"%l","logger":"%n","msg":"%v"})");
  else
    s->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %^%-5l%$ [%n] %v");
  spdlog::apply_all([](const std::shared_ptr<spdlog::logger>& l) { l->set_level(current_level); });
}

std::shared_ptr<spdlog::logger> logger(const std::string& subsystem) {
  std::lock_guard<std::mutex> guard(logging_mutex);
  if (auto existing = spdlog::get(subsystem))
    return existing;
  auto l = std::make_shared<spdlog::logger>(subsystem, sink());
  l->set_level(current_level);
  spdlog::register_logger(l);
  return l;
}

}  // namespace wk::telemetry
