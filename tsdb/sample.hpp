#pragma once

#include <cstdint>
#include <cstring>

namespace wk::tsdb {

// One sample of a series; t is milliseconds since the Unix epoch.
struct sample {
  std::int64_t t;
  double v;
};

// Prometheus's staleness marker: a NaN with this exact payload means "the series ended here".
// It must survive storage bit for bit, which is why values are compared as bit patterns.
constexpr std::uint64_t stale_nan_bits = 0x7ff0000000000002ULL;

bool is_stale_nan(double v);
double stale_nan();

inline std::uint64_t value_bits(double v) {
  std::uint64_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  return bits;
}

inline double value_from_bits(std::uint64_t bits) {
  double v;
  std::memcpy(&v, &bits, sizeof v);
  return v;
}

}  // namespace wk::tsdb
