#include "tsdb/sample.hpp"

namespace wk::tsdb {

bool is_stale_nan(double v) { return value_bits(v) == stale_nan_bits; }

double stale_nan() { return value_from_bits(stale_nan_bits); }

}  // namespace wk::tsdb
