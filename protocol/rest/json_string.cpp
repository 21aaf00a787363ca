#include "protocol/rest/json_string.hpp"

#include <algorithm>
#include <string>

#include "protocol/http/http_types.hpp"

namespace wk::rest {

void write_string(json_writer& w, std::string_view s) {
  const bool ascii =
    std::all_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
  if (ascii) {
    w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
    return;
  }
  const std::string quoted = "\"" + http::json_escape(s) + "\"";
  w.RawValue(quoted.data(), quoted.size(), rapidjson::kStringType);
}

}  // namespace wk::rest
