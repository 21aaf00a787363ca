#pragma once

// A stored alert transition as the REST and WebSocket JSON shows it.

#include "persistence/alert_store.hpp"
#include "protocol/rest/alert_json.hpp"

namespace wk::actors {

rest::alert_entry alert_entry_of(const persistence::alert_row& r);

}  // namespace wk::actors
