#pragma once

#include <cstdint>
#include <string_view>

namespace wk::protocol {

// Bit pattern Prometheus stores for a scraped NaN (value.NormalNaN). It differs from the
// staleness marker (0x7ff0000000000002), so a NaN sample is never mistaken for staleness.
inline constexpr std::uint64_t normal_nan_bits = 0x7ff8000000000001ULL;

enum class float_status {
  ok,
  invalid,                // not a number in the accepted syntax
  unsupported_character,  // 'p', 'P' or '_': Go syntax Prometheus deliberately refuses
  out_of_range,           // finite text whose magnitude overflows a double
};

// Parses a sample value the way Prometheus does (Go strconv.ParseFloat, minus hex floats and
// digit separators): [+-]digits[.digits][(e|E)[+-]digits], "Inf"/"Infinity" with an optional
// sign and "NaN", the words case-insensitive. The whole text must be the number. The result is
// bit-identical to strtod's; values too small for a double become a signed zero, as in Go.
// NaN is returned with normal_nan_bits.
float_status parse_exposition_float(std::string_view text, double& out) noexcept;

}  // namespace wk::protocol
