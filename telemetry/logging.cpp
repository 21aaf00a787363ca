#include "telemetry/logging.hpp"

#include <mutex>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace wk::telemetry {

namespace {

std::mutex logging_mutex;
spdlog::sink_ptr shared_sink;
spdlog::level::level_enum current_level = spdlog::level::info;

// The message as the body of a JSON string: quotes, backslashes and control bytes escaped.
class json_message : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    static const char* hex = "0123456789abcdef";
    for (char c : msg.payload) {
      auto u = static_cast<unsigned char>(c);
      if (c == '"' || c == '\\') {
        dest.push_back('\\');
        dest.push_back(c);
      } else if (u < 0x20) {
        const char esc[] = {'\\', 'u', '0', '0', hex[u >> 4], hex[u & 15]};
        dest.append(esc, esc + sizeof esc);
      } else {
        dest.push_back(c);
      }
    }
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<json_message>();
  }
};

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
  if (format == "json") {
    auto f = std::make_unique<spdlog::pattern_formatter>();
    f->add_flag<json_message>('*').set_pattern(
      R"({"ts":"%Y-%m-%dT%H:%M:%S.%e%z","level":"%l","logger":"%n","msg":"%*"})");
    s->set_formatter(std::move(f));
  } else {
    s->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %^%-5l%$ [%n] %v");
  }
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
