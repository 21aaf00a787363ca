#pragma once

#include <string>
#include <string_view>

namespace wk::persistence::detail {

// A libpq/server message as one log-friendly line: severity prefix dropped, line breaks and
// tabs folded into single spaces, capped so a huge statement echo cannot flood a log.
std::string one_line(std::string_view message);

}  // namespace wk::persistence::detail
