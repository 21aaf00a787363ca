#pragma once

// Spreads the scrapes and probes of thousands of services across their interval the way
// Prometheus does: a stable offset from a hash of the target, so restarts keep the same phase and
// no two thousand targets fire in the same millisecond.

#include <chrono>
#include <cstdint>
#include <string_view>

namespace wk::watch {

// Stable offset in [0, interval) for this key.
std::chrono::milliseconds phase_offset(std::string_view key, std::chrono::milliseconds interval);

// Delay from now_ms until the next tick of the grid (k * interval + offset), never zero.
std::chrono::milliseconds until_next_tick(std::int64_t now_ms, std::chrono::milliseconds interval,
                                          std::chrono::milliseconds offset);

}  // namespace wk::watch
