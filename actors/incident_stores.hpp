#pragma once

// The incident persistence actors: detached, one connection each. The incident store takes the
// incident actors' commits and the REST reads; the outbox store serves only the notifier, so a
// slow listing never delays a page.

#include <caf/stateful_actor.hpp>

#include "actors/interfaces.hpp"
#include "actors/runtime.hpp"

namespace wk::actors {

incident_store_actor::behavior_type incident_store(incident_store_actor::pointer self,
                                                   runtime_ptr rt);

outbox_store_actor::behavior_type outbox_store(outbox_store_actor::pointer self, runtime_ptr rt);

}  // namespace wk::actors
