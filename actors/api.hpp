#pragma once

// The REST surface on port 3006: builds the router whose handlers run on the gateway thread and
// hand work to actors with an http_reply to answer through. Nothing here blocks.

#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include <caf/actor_system.hpp>

#include "actors/interfaces.hpp"
#include "actors/query_worker.hpp"
#include "actors/runtime.hpp"
#include "protocol/http/router.hpp"
#include "protocol/rest/auth.hpp"

namespace wk::actors {

// A value swapped whole on reload while the gateway thread reads it.
template <typename T>
class shared_holder {
 public:
  explicit shared_holder(std::shared_ptr<const T> v) : current_(std::move(v)) {}
  std::shared_ptr<const T> get() const {
    std::lock_guard<std::mutex> g(mutex_);
    return current_;
  }
  void set(std::shared_ptr<const T> v) {
    std::lock_guard<std::mutex> g(mutex_);
    current_ = std::move(v);
  }

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const T> current_;
};

// The token set.
using auth_holder = shared_holder<rest::token_authority>;
// The configuration, for reads answered on the gateway thread (on-call, maintenance windows).
using config_holder = shared_holder<config::watchkeeper_config>;

struct reload_outcome {
  bool ok = false;
  std::string message;
};

struct api_settings {
  runtime_ptr rt;
  registry_actor registry;
  std::shared_ptr<query_pool> queries;
  alert_store_actor alerts;
  anomaly_store_actor anomalies;
  incident_manager_actor incidents;
  incident_store_actor incident_store;
  prediction_store_actor predictions;
  std::shared_ptr<auth_holder> auth;
  std::shared_ptr<config_holder> config;
  std::function<reload_outcome()> reload;  // re-reads the config file; thread-safe
  std::string version;
};

std::shared_ptr<http::router> make_api_router(api_settings settings);

}  // namespace wk::actors
