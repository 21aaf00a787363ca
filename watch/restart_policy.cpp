#include "watch/restart_policy.hpp"

#include <algorithm>

namespace wk::watch {

restart_policy::restart_policy(restart_settings settings, std::uint64_t seed)
  : settings_(settings), rng_(seed ? seed : 0x9E3779B97F4A7C15ULL) {
}

std::optional<std::chrono::milliseconds> restart_policy::on_failure(std::chrono::milliseconds now) {
  while (!recent_.empty() && now - recent_.front() >= settings_.window)
    recent_.pop_front();
  if (static_cast<int>(recent_.size()) >= settings_.budget)
    return std::nullopt;
  recent_.push_back(now);
  // xorshift: deterministic per seed, good enough to spread restarts of many children apart.
  rng_ ^= rng_ << 13;
  rng_ ^= rng_ >> 7;
  rng_ ^= rng_ << 17;
  auto base = settings_.backoff_initial.count();
  for (int i = 0; i < attempt_ && base < settings_.backoff_max.count(); ++i)
    base *= 2;
  base = std::min<long long>(base, settings_.backoff_max.count());
  ++attempt_;
  // Full jitter in [base/2, base].
  auto half = base / 2;
  auto jitter = half > 0 ? static_cast<long long>(rng_ % static_cast<std::uint64_t>(half + 1)) : 0;
  return std::chrono::milliseconds(half + jitter);
}

void restart_policy::on_healthy(std::chrono::milliseconds now) {
  if (recent_.empty() || now - recent_.back() >= settings_.window)
    attempt_ = 0;
}

}  // namespace wk::watch
