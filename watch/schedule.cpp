#include "watch/schedule.hpp"

namespace wk::watch {

std::chrono::milliseconds phase_offset(std::string_view key, std::chrono::milliseconds interval) {
  if (interval.count() <= 0)
    return std::chrono::milliseconds(0);
  std::uint64_t h = 1469598103934665603ULL;  // FNV-1a: stable across runs and builds
  for (unsigned char c : key) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return std::chrono::milliseconds(static_cast<std::int64_t>(h % static_cast<std::uint64_t>(interval.count())));
}

std::chrono::milliseconds until_next_tick(std::int64_t now_ms, std::chrono::milliseconds interval,
                                          std::chrono::milliseconds offset) {
  auto iv = interval.count();
  if (iv <= 0)
    return std::chrono::milliseconds(1);
  auto phase = ((now_ms - offset.count()) % iv + iv) % iv;
  auto delay = iv - phase;
  return std::chrono::milliseconds(delay <= 0 ? iv : delay);
}

}  // namespace wk::watch
