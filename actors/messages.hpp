#pragma once

// Message payloads. They never leave the process, so the larger plain structs are whitelisted
// as local message types instead of getting serialization code nobody would run.

#include <memory>
#include <string>
#include <vector>

#include <caf/allowed_unsafe_message_type.hpp>

#include "config/loader.hpp"
#include "net/http_fetcher.hpp"
#include "persistence/alert_store.hpp"
#include "persistence/anomaly_store.hpp"
#include "persistence/service_store.hpp"
#include "protocol/http/http_types.hpp"
#include "rules/catalog.hpp"
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
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<wk::persistence::stored_service>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wk::watch::scrape_status)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wk::watch::check_status)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wk::watch::service_status)
