#pragma once

// Scrapes one service's metrics endpoint on its interval (phase spread by a stable offset),
// through the shared libcurl loop, and ingests the body into the series head.

#include <caf/stateful_actor.hpp>

#include "actors/interfaces.hpp"
#include "actors/runtime.hpp"
#include "config/loader.hpp"

namespace wk::actors {

struct scraper_settings {
  std::string service;
  config::scrape_spec spec;
  std::map<std::string, std::string> service_labels;
  bool jitter = true;
};

caf::behavior scraper(caf::event_based_actor* self, runtime_ptr rt, scraper_settings settings,
                      supervisor_actor parent);

// The label set every series of a target carries: job and service (the service name),
// instance (host:port of the URL) and the service's own labels.
std::vector<std::pair<std::string, std::string>>
target_labels(const std::string& service, const std::string& url,
              const std::map<std::string, std::string>& extra);

}  // namespace wk::actors
