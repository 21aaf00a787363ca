#include "protocol/gateway/lws_log.hpp"

#include <string_view>

#include <libwebsockets.h>

#include "telemetry/logging.hpp"

namespace wk::gateway {

namespace {

// lws logs a client's malformed request as an error; so that such noise does not read as a
// server fault, its levels land one step lower. Real failures surface through start().
spdlog::level::level_enum to_spdlog(int lws_level) {
  if (lws_level & LLL_ERR)
    return spdlog::level::warn;
  if (lws_level & LLL_WARN)
    return spdlog::level::info;
  if (lws_level & LLL_NOTICE)
    return spdlog::level::debug;
  return spdlog::level::trace;
}

// Called by lws on whichever thread logs; nothing may escape into C.
void emit(int level, const char* line) {
  try {
    static const auto log = telemetry::logger("gateway");
    std::string_view text = line ? line : "";
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r'))
      text.remove_suffix(1);
    log->log(to_spdlog(level), "lws: {}", text);
  } catch (...) {
  }
}

}  // namespace

void route_lws_logs_to_spdlog() {
  const auto log = telemetry::logger("gateway");
  int mask = LLL_ERR;
  if (log->should_log(spdlog::level::info))
    mask |= LLL_WARN;
  if (log->should_log(spdlog::level::debug))
    mask |= LLL_NOTICE;
  if (log->should_log(spdlog::level::trace))
    mask |= LLL_INFO;
  lws_set_log_level(mask, emit);
}

}  // namespace wk::gateway
