#pragma once

// Internal to persistence/: label and annotation maps as JSON objects for jsonb columns.

#include <map>
#include <string>

namespace wk::persistence::detail {

std::string map_to_json(const std::map<std::string, std::string>& m);
// Non-string members and malformed text are skipped: the column is written by map_to_json.
std::map<std::string, std::string> map_from_json(const std::string& text);

}  // namespace wk::persistence::detail
