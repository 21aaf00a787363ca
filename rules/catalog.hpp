#pragma once

// Every rule the configuration names, loaded together so a broken rule file refuses the whole
// configuration (at start and on reload) instead of silently dropping alerts.

#include <map>
#include <string>
#include <vector>

#include "config/spec.hpp"
#include "rules/rule_file.hpp"

namespace wk::rules {

struct catalog {
  std::vector<rule_group> global;         // rules.files: evaluated once over every series
  std::vector<rule_group> every_service;  // rules.service_files: attached to each service
  std::map<std::string, std::vector<rule_group>> per_service;  // services' own rule_files
  std::vector<std::string> errors;        // file:line:col: message; the catalog is unusable then

  // The groups a service evaluates: rules.service_files, then its own rule_files.
  std::vector<rule_group> for_service(const std::string& name) const;
};

// Globs are relative to the directory of cfg.source_file (the working directory without one).
// Group names must be unique within what one evaluator runs: the alert state is kept by group
// and rule name.
catalog load_catalog(const config::watchkeeper_config& cfg);

}  // namespace wk::rules
