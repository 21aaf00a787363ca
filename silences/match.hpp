#pragma once

// Which silences mute an alert's labels at a given instant.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "notify/matcher.hpp"
#include "silences/model.hpp"

namespace wk::silences {

// True when every matcher accepts its label; a missing label is read as the empty string, as in
// Alertmanager. An empty list matches everything.
bool matches(const std::vector<notify::matcher>& ms,
             const std::map<std::string, std::string>& labels);

// starts_at_ms <= now_ms < ends_at_ms.
bool active(const silence& s, std::int64_t now_ms);

// The silences (ids) that mute these labels now; empty = not silenced. A silence without
// matchers mutes nothing: the parsers refuse one, so it can only be a damaged record, and
// muting every page because of it would be the worse failure.
std::vector<std::string> silenced_by(const std::vector<silence>& all,
                                     const std::map<std::string, std::string>& labels,
                                     std::int64_t now_ms);

}  // namespace wk::silences
