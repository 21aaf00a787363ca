#pragma once

// Percent-encoding (RFC 3986) and query strings (application/x-www-form-urlencoded).

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace wk::http {

// The value of one hex digit (0-9, a-f, A-F), or -1 for any other character.
int hex_value(char c);

// Decodes %XX escapes; nullopt when a '%' is not followed by two hex digits. '+' stays '+'
// (that rule belongs to query strings only).
std::optional<std::string> percent_decode(std::string_view text);

// Escapes every byte except the RFC 3986 unreserved characters (A-Z a-z 0-9 - . _ ~).
std::string percent_encode(std::string_view text);

// "a=1&b=x+y&c" -> {a:"1", b:"x y", c:""}: pairs split on '&', '+' read as a space, %XX
// decoded. A malformed escape is kept literally rather than dropping the pair; the first
// occurrence of a repeated key wins; pairs with an empty key are skipped.
std::map<std::string, std::string> parse_query(std::string_view raw_query);
// The same pairs in order, repeated keys kept (Prometheus's match[]=a&match[]=b).
std::vector<std::pair<std::string, std::string>> parse_query_pairs(std::string_view raw_query);

}  // namespace wk::http
