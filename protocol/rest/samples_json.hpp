#pragma once

// The metrics:<service> WebSocket event: the samples one scrape of a service wrote.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "tsdb/head.hpp"

namespace wk::rest {

// {"service":"api","t_ms":..,"series":[{"labels":{..},"value":1.5}],"truncated":false}: the
// newest sample of each series, at most max_series of them; non-finite values are null.
std::string samples_event_json(const std::string& service, std::int64_t t_ms,
                               const std::vector<tsdb::series_data>& series,
                               std::size_t max_series = 1000);

}  // namespace wk::rest
