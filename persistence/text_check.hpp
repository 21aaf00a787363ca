#pragma once

#include <string>
#include <string_view>

namespace wk::persistence {

// Input checks done before anything reaches PostgreSQL, so a bad value is rejected with a
// clear message instead of being silently truncated (libpq stops text at a NUL byte) or
// poisoning a batch that would then fail on every retry.

// Why `text` cannot be stored in a text column of a UTF-8 database; empty when it can.
std::string text_problem(std::string_view text);

// Why `json` is not a flat JSON object of string values storable as jsonb
// (e.g. {"job":"api","instance":"a:9100"}); empty when it is.
std::string labels_problem(std::string_view json);

}  // namespace wk::persistence
