#pragma once

// Message payloads. They never leave the process, so the larger plain structs are whitelisted
// as local message types instead of getting serialization code nobody would run.

#include <memory>
#include <string>
#include <vector>

#include <caf/allowed_unsafe_message_type.hpp>

#include "config/loader.hpp"
#include "incidents/model.hpp"
#include "net/http_fetcher.hpp"
#include "persistence/alert_store.hpp"
#include "persistence/anomaly_store.hpp"
#include "persistence/incident_store.hpp"
#include "persistence/prediction_store.hpp"
#include "persistence/service_store.hpp"
#include "protocol/http/http_types.hpp"
#include "rules/catalog.hpp"
#include "silences/model.hpp"
#include "watch/service_status.hpp"

namespace wk::actors {

using config_ptr = std::shared_ptr<const config::watchkeeper_config>;
// Every rule the configuration names, loaded with it (a broken rule file refuses the config).
using catalog_ptr = std::shared_ptr<const rules::catalog>;
// The rule groups one evaluator runs.
using rule_groups_ptr = std::shared_ptr<const std::vector<rules::rule_group>>;

// The way back to an HTTP client waiting on the gateway: call once, from any thread.
struct http_reply {
  http::responder respond;
};

// A health transition to commit before anyone hears of it.
struct health_record {
  std::string service;
  std::string check;
  std::string from;
  std::string to;
  std::string reason;
  double latency_ms = 0;
  std::int64_t at_ms = 0;
};

// A REST write on incidents, authorized and parsed on the gateway thread.
struct incident_command {
  enum class kind { create, acknowledge, resolve, note, severity, reassign } what = kind::create;
  std::int64_t id = 0;
  std::string actor, role;  // the token's name and role, for the timeline and the audit log
  std::string title, service, severity, text, escalation_policy;  // as the kind needs
  http_reply reply;
};

// What the incident manager needs after a start: the open incidents, the alerts firing now
// (to catch up on transitions a crash cut off), the API silences and the highest id.
struct incident_snapshot {
  std::vector<incidents::incident> open;
  std::vector<persistence::alert_row> firing;
  std::vector<silences::silence> silences;
  std::int64_t max_id = 0;
};
using incident_snapshot_ptr = std::shared_ptr<const incident_snapshot>;
using incident_change_ptr = std::shared_ptr<const persistence::incident_change>;
using incident_ptr = std::shared_ptr<const incidents::incident>;  // null: no such incident
using silence_ptr = std::shared_ptr<const silences::silence>;
// Due outbox rows and when the next one falls due (0 = none pending).
struct outbox_batch {
  std::vector<persistence::outbox_entry> due;
  std::int64_t next_due_ms = 0;
};
using outbox_batch_ptr = std::shared_ptr<const outbox_batch>;

}  // namespace wk::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wk::actors::config_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wk::actors::catalog_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wk::actors::rule_groups_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wk::actors::http_reply)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wk::http::http_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wk::actors::health_record)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wk::config::service_spec)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wk::net::fetch_result)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wk::net::tcp_result)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wk::persistence::stored_service)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<wk::persistence::alert_row>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<wk::persistence::anomaly_row>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<wk::persistence::prediction_row>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<wk::persistence::stored_service>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wk::watch::scrape_status)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wk::watch::check_status)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wk::watch::service_status)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wk::actors::incident_command)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wk::actors::incident_snapshot_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wk::actors::incident_change_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wk::actors::incident_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wk::actors::silence_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wk::actors::outbox_batch_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wk::persistence::audit_entry)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wk::incidents::timeline_entry)
