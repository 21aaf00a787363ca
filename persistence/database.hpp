#pragma once

#include <string>

namespace wk::persistence {

// Readiness probe: connects and runs `select 1`, giving up after 2 s in total (connect,
// authentication and query). On failure returns false and, when `error` is given, stores why.
// Never throws.
bool ping(const std::string& url, std::string* error = nullptr);

}  // namespace wk::persistence
