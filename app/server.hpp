#pragma once

// `watchkeeper serve`: wires config -> actor system -> actors -> gateway, then waits for
// signals (SIGHUP reloads, SIGINT/SIGTERM shut down gracefully).

#include <string>

namespace wk::app {

int serve(const std::string& config_path, const std::string& version);

}  // namespace wk::app
