#pragma once

// Delivery outcome classification and retry timing for every HTTP channel.

#include <cstdint>
#include <optional>
#include <string_view>

namespace wk::notify {

enum class delivery_verdict { delivered, retry, give_up };

// 2xx delivered; 408, 429 and 5xx retry; any other status (other 4xx, 1xx, 3xx, nonsense)
// gives up: repeating a request the receiver rejected cannot succeed. Transport errors (no
// status) are the caller's to treat as retry.
delivery_verdict classify_http(int status);

// Retry-After (RFC 9110 §10.2.3): delta-seconds or an HTTP-date (IMF-fixdate, RFC 850 and
// asctime forms). Returns the milliseconds to wait from now_ms (0 for a date in the past), or
// nullopt when the value is absent or garbage. Huge values saturate at 30 days.
std::optional<std::int64_t> parse_retry_after(std::string_view value, std::int64_t now_ms);

// Exponential backoff with "equal jitter": base = min(max_ms, initial_ms * 2^attempt)
// (attempt 0 is the first retry), result in [base/2, base): never below half the base so a
// herd still spreads out, never above max_ms. jitter01 is the caller's random in [0, 1)
// (clamped). Non-positive initial_ms gives 0.
std::int64_t backoff_ms(int attempt, std::int64_t initial_ms, std::int64_t max_ms, double jitter01);

}  // namespace wk::notify
