#pragma once

// Turns committed alert transitions into incidents: finds the open incident of the alert's
// group (service + incidents.group_by), reopens one resolved within reopen_window, lets a
// dependant service's alerts join its dependency's incident as related (dependency
// suppression), or opens a new one. One incident actor per live incident does the rest.
// Also the entry point for REST writes on incidents and for API silences.

#include <caf/event_based_actor.hpp>

#include "actors/interfaces.hpp"
#include "actors/runtime.hpp"

namespace wk::actors {

incident_manager_actor make_incident_manager(caf::actor_system& sys, runtime_ptr rt,
                                             config_ptr cfg, incident_store_actor store,
                                             notifier_actor notifier);

}  // namespace wk::actors
