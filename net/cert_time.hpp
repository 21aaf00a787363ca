#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace wk::net {

// Parses a certificate validity time as libcurl reports it in CURLINFO_CERTINFO into unix
// seconds (UTC). Accepts OpenSSL's form "Jan  5 12:00:00 2030 GMT" (optional fractional
// seconds) and the ISO form "2030-01-05 12:00:00 GMT" of curl's other TLS backends.
// Anything else, or an impossible date, gives nullopt.
std::optional<std::int64_t> parse_cert_time(std::string_view text);

// Days since 1970-01-01 of a proleptic Gregorian date (month 1-12, day 1-31, not checked).
std::int64_t days_from_civil(std::int64_t year, unsigned month, unsigned day);

}  // namespace wk::net
