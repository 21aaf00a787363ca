#pragma once

// The one way REST and WebSocket payload builders write a JSON string. RapidJSON's Writer copies
// bytes >= 0x80 unchecked, so text that is not plain ASCII goes through http::json_escape, which
// replaces invalid UTF-8 with U+FFFD: a label value, an echoed query or a user's note can never
// make a response invalid JSON.

#include <string_view>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace wk::rest {

using json_writer = rapidjson::Writer<rapidjson::StringBuffer>;

// Also fine in key position: the Writer treats a string there the same way.
void write_string(json_writer& w, std::string_view s);

}  // namespace wk::rest
