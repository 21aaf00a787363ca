#pragma once

// Capacity predictions (config `predictions`): every prediction's interval, forecast the series
// its query selects and write, per series,
//   watchkeeper_prediction_seconds_to_threshold{prediction="<name>", <series labels>}
//     seconds until the forecast crosses the threshold; +Inf when not within the horizon
//   watchkeeper_prediction_value{prediction="<name>", <series labels>}
//     the forecast at the horizon's end
// into the head, so alert rules raise the alarm through the normal path, and records an
// estimate in PostgreSQL when it changes materially (forecast::materially_changed). Detached:
// fits of long histories take milliseconds and must not hold up the cooperative scheduler.

#include <caf/event_based_actor.hpp>

#include "actors/interfaces.hpp"
#include "actors/runtime.hpp"

namespace wk::actors {

// Messages: (reload_atom, config_ptr) swaps the predictions; tick_atom is its own timer.
caf::behavior predictor(caf::event_based_actor* self, runtime_ptr rt, config_ptr cfg,
                        prediction_store_actor store);

}  // namespace wk::actors
