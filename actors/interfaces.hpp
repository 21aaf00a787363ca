#pragma once

// The typed edges of the actor tree. Whoever talks to an actor sees only this.

#include <cstdint>
#include <string>
#include <vector>

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/atoms.hpp"
#include "actors/messages.hpp"

namespace wk::actors {

// Writes sample chunks behind the head; flush on demand (shutdown) answers true when all is written.
using sample_store_actor = caf::typed_actor<caf::reacts_to<tick_atom>,
                                            caf::replies_to<flush_atom>::with<bool>>;

// Commits health transitions; the answer is the row id, sent only after COMMIT.
using health_store_actor =
  caf::typed_actor<caf::replies_to<record_atom, health_record>::with<std::int64_t>>;

// Services added over REST, kept in PostgreSQL.
using service_store_actor = caf::typed_actor<
  caf::replies_to<list_atom>::with<std::vector<persistence::stored_service>>,
  caf::replies_to<upsert_atom, persistence::stored_service>::with<bool>,
  caf::replies_to<remove_atom, std::string>::with<bool>>;

// Alert transitions committed before they are announced; current alerts for restore; the
// REST listing (raw query string) answered directly.
using alert_store_actor = caf::typed_actor<
  caf::replies_to<record_atom, std::vector<persistence::alert_row>>::with<bool>,
  caf::replies_to<list_atom, std::string>::with<std::vector<persistence::alert_row>>,
  caf::reacts_to<show_atom, std::string, http_reply>>;

// Anomaly events: recorded (fire and forget; failures are logged and counted) and listed.
using anomaly_store_actor = caf::typed_actor<
  caf::reacts_to<record_atom, std::vector<persistence::anomaly_row>>,
  caf::reacts_to<show_atom, std::string, http_reply>>;

// Capacity predictions as they change: recorded (fire and forget; failures are logged and
// counted) and listed for GET /api/capacity.
using prediction_store_actor = caf::typed_actor<
  caf::reacts_to<record_atom, std::vector<persistence::prediction_row>>,
  caf::reacts_to<show_atom, std::string, http_reply>>;

// Incidents in PostgreSQL: commits (a change with its timeline, outbox rows and audit entry in
// one transaction), the start-up snapshot, single lookups, the REST reads and API silences.
// Commits that arrive while one is running are written together in one transaction (group
// commit); each answer still says whether its own change was taken.
using incident_store_actor = caf::typed_actor<
  caf::replies_to<record_atom, incident_change_ptr>::with<bool>,
  caf::reacts_to<flush_atom>,
  caf::replies_to<load_atom>::with<incident_snapshot_ptr>,
  caf::replies_to<show_atom, std::int64_t>::with<incident_ptr>,
  caf::replies_to<open_atom, std::string, std::int64_t>::with<incident_ptr>,
  caf::reacts_to<list_atom, std::string, http_reply>,
  caf::reacts_to<show_atom, std::int64_t, http_reply>,
  caf::reacts_to<audit_atom, std::string, http_reply>,
  caf::replies_to<silence_atom, silence_ptr, persistence::audit_entry>::with<bool>,
  caf::replies_to<expire_atom, std::string, std::int64_t, persistence::audit_entry>::with<bool>>;

// The notifier's view of the outbox: due rows, and each delivery's outcome.
using outbox_store_actor = caf::typed_actor<
  caf::replies_to<outbox_atom, std::int64_t>::with<outbox_batch_ptr>,
  caf::replies_to<delivered_atom, std::int64_t, std::int64_t, int, incidents::timeline_entry>::with<bool>,
  caf::replies_to<deliver_atom, std::int64_t, int, std::int64_t, int, std::string>::with<bool>,
  caf::replies_to<expire_atom, std::int64_t, int, int, std::string, incidents::timeline_entry>::with<bool>>;

// Alert transitions -> incidents; REST writes; configuration and silences.
using incident_manager_actor = caf::typed_actor<
  caf::reacts_to<record_atom, std::vector<persistence::alert_row>>,
  caf::reacts_to<command_atom, incident_command>,
  caf::reacts_to<reload_atom, config_ptr>,
  caf::reacts_to<list_atom, silence_atom, http_reply>,
  caf::reacts_to<silence_atom, silence_ptr, persistence::audit_entry, http_reply>,
  caf::reacts_to<expire_atom, std::string, persistence::audit_entry, http_reply>,
  caf::reacts_to<load_atom>,
  caf::reacts_to<tick_atom>>;

// Delivers the outbox: woken after every commit that added rows, and on its own timer.
using notifier_actor = caf::typed_actor<caf::reacts_to<wake_atom>, caf::reacts_to<tick_atom>,
                                        caf::reacts_to<reload_atom, config_ptr>>;

// One per watched service: owns the scraper and probers, restarts them, aggregates their status.
using supervisor_actor =
  caf::typed_actor<caf::reacts_to<status_atom, watch::scrape_status>,
                   caf::reacts_to<status_atom, watch::check_status>,
                   caf::reacts_to<restart_atom, std::string>,
                   caf::reacts_to<tick_atom>,
                   caf::reacts_to<landed_atom>,
                   caf::reacts_to<reload_atom, rule_groups_ptr>>;

// Services under watch: config + REST; spawns and stops supervisors to match.
using registry_actor = caf::typed_actor<
  caf::reacts_to<reload_atom, config_ptr, catalog_ptr>,
  caf::reacts_to<load_atom>,
  caf::reacts_to<load_atom, std::vector<persistence::stored_service>>,
  caf::reacts_to<status_atom, watch::service_status>,
  caf::reacts_to<list_atom, std::string, http_reply>,
  caf::reacts_to<show_atom, std::string, http_reply>,
  caf::reacts_to<upsert_atom, std::string, std::string, bool, http_reply>,
  caf::reacts_to<remove_atom, std::string, http_reply>,
  caf::reacts_to<push_atom, std::string, std::string, std::string, http_reply>,
  caf::replies_to<shutdown_atom>::with<bool>>;

}  // namespace wk::actors
