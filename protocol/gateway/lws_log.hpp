#pragma once

// libwebsockets logs into the "gateway" spdlog logger. lws keeps one process-wide log setting,
// so this is a global switch; calling it again only refreshes the level mask.

namespace wk::gateway {

// Routes lws errors (as warn), warnings (as info), notices (debug) and info (trace) to spdlog,
// asking lws only for what the logger's current level would print.
void route_lws_logs_to_spdlog();

}  // namespace wk::gateway
