#pragma once

// One actor per live incident: it owns the incident's state, applies alert transitions and REST
// commands through incidents/engine, decides who hears of each transition (incidents/dispatch),
// commits the new state with its timeline, outbox rows and audit entry in one transaction, and
// only then publishes the event, answers the HTTP client and wakes the notifier. Escalation
// timers are recomputed from the persisted state, so a restart pages nobody twice.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/event_based_actor.hpp>

#include "actors/interfaces.hpp"
#include "actors/runtime.hpp"
#include "incidents/engine.hpp"
#include "notify/receiver_config.hpp"
#include "oncall/config.hpp"

namespace wk::actors {

// Everything an incident reads from the configuration and the silence list, swapped whole.
struct incident_context {
  incidents::settings settings;
  notify::notifications_config notifications;
  oncall::oncall_config oncall;
  std::vector<silences::silence> silences;  // configured and API silences
  std::vector<silences::maintenance_window> windows;
  std::string external_url;
};
using incident_context_ptr = std::shared_ptr<const incident_context>;

// An alert transition routed to one incident; related: joined by dependency suppression.
struct routed_alert {
  incidents::alert_event event;
  bool related = false;
};

// Messages: (alert_atom, routed_alert), (command_atom, incident_command) for an incident that
// exists, (context_atom, incident_context_ptr), (escalate_atom) its own timer, (shutdown_atom)
// from the manager once resolved. Tells the manager (resolved_atom, id, group_key,
// std::vector<routed_alert> orphans) after committing a resolve and (open_atom, id, group_key)
// after a reopen. `opening`: the change that created the incident (committed first); audit
// and reply belong to a manual creation.
struct incident_start {
  incidents::incident initial;
  std::optional<incidents::change> opening;
  std::optional<persistence::audit_entry> audit;
  std::optional<http_reply> reply;
};

caf::behavior incident_actor(caf::event_based_actor* self, runtime_ptr rt, incident_start start,
                             incident_context_ptr context, incident_store_actor store,
                             notifier_actor notifier, caf::actor manager);

}  // namespace wk::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wk::actors::incident_context_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wk::actors::routed_alert)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<wk::actors::routed_alert>)
