#pragma once

// Live charts: the samples one scrape, push or health check of a service wrote (all at one
// timestamp) go to the WebSocket streams
// someone watches — metrics:<service> gets them all, each metrics:<service>{selector} the
// series its selector matches. Nothing is selected or serialized for streams nobody watches.

#include <cstdint>
#include <string>

#include "actors/runtime.hpp"

namespace wk::actors {

void publish_live_metrics(runtime& rt, const std::string& service, std::int64_t t_ms);

}  // namespace wk::actors
