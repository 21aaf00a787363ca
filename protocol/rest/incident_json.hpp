#pragma once

// JSON of /api/incidents (list, detail, timeline, request bodies) and /api/audit. Output is
// written with RapidJSON's Writer; strings pass through http::json_escape, so hostile bytes
// (quotes, control characters, invalid UTF-8 -> U+FFFD) always give valid JSON. Input parsing
// is strict: every problem is a nullopt with a precise *detail for a problem+json answer.

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "incidents/model.hpp"

namespace wk::rest {

// Bodies above this are refused before parsing (the longest valid body is far smaller).
inline constexpr std::size_t max_request_body_bytes = 1 << 20;
// Field limits, in Unicode code points.
inline constexpr std::size_t max_title_chars = 200;
inline constexpr std::size_t max_text_chars = 10000;  // text, note, description
inline constexpr std::size_t max_name_chars = 200;    // assignee, service, escalation_policy
// Pagination bounds shared by /api/incidents and /api/audit.
inline constexpr std::size_t default_page_limit = 100;
inline constexpr std::size_t max_page_limit = 1000;
inline constexpr std::size_t max_page_offset = 100000000;

// A time in a query string: unix milliseconds (at most 15 digits) or RFC 3339 at or after
// 1970. A space where an RFC 3339 offset's '+' belongs is read as '+', since an unencoded '+'
// in a query string decodes to a space.
std::optional<std::int64_t> parse_time_ms(std::string_view text);

// A client-supplied value for a problem detail: in double quotes, cut to 64 bytes on a
// character boundary (then "...") so hostile input cannot bloat the answer.
std::string quote_for_detail(std::string_view value);

// The <incident> object of the contract; 0 timestamps and related_to 0 are written as null.
std::string incident_json(const incidents::incident& i);
// {"incidents":[...],"total":N,"limit":L,"offset":O}
std::string incident_list_json(const std::vector<incidents::incident>& v, std::size_t total,
                               std::size_t limit, std::size_t offset);

// One outbox row as GET /api/incidents/{id} shows it; 0 timestamps are "not (yet)".
struct outbox_view {
  std::string receiver, channel, transition, state, last_error;
  int attempts = 0, last_status = 0;
  std::int64_t created_ms = 0, next_attempt_ms = 0, delivered_ms = 0;
};

// <incident> plus "timeline":[{"at_ms","kind","actor","text","detail"}] and
// "notifications":[{receiver,channel,transition,state,attempts,last_status,last_error,
// created_ms,next_attempt_ms|null,delivered_ms|null}]
std::string incident_detail_json(const incidents::incident& i,
                                 const std::vector<incidents::timeline_entry>& t,
                                 const std::vector<outbox_view>& n);
std::string timeline_json(const std::vector<incidents::timeline_entry>& t);  // {"timeline":[...]}

// GET /api/incidents?status=triggered,acknowledged&service=&severity=&since=&until=&limit=&offset=
// (the decoded pairs of http::parse_query). An empty value is the same as an absent one (a
// form's "any"). status and severity are case-insensitive and stored lowercase; since/until
// are unix ms or RFC 3339 (0 = unbounded).
struct incident_filter {
  std::vector<std::string> statuses;  // any of these; empty: every status
  std::string service, severity;
  std::int64_t since_ms = 0, until_ms = 0;
  std::size_t limit = default_page_limit, offset = 0;
};
std::optional<incident_filter> parse_incident_filter(
    const std::map<std::string, std::string>& query, std::string* detail);

// The filter's meaning for a store that filters in memory: status, service and severity as
// given, and opened_at_ms in [since_ms, until_ms). Pagination is left to the caller.
bool matches(const incident_filter& f, const incidents::incident& i);

// Request bodies. Every parser: the body must be a JSON object (an empty or all-whitespace body
// only where every field is optional), unknown and duplicate fields are errors, every field is
// a string of bounded length without NUL characters, and severities are one of
// incidents::severities (case-insensitive in, lowercase out).

// POST /api/incidents: title required and non-blank; severity defaults to "error";
// escalation_policy "" leaves the choice to the configuration.
struct create_request {
  std::string title, service, severity = "error", description, escalation_policy;
};
std::optional<create_request> parse_create_request(std::string_view body, std::string* detail);

// POST /api/incidents/{id}/notes: text required, non-blank.
struct note_request {
  std::string text;
};
std::optional<note_request> parse_note_request(std::string_view body, std::string* detail);

// POST /api/incidents/{id}/acknowledge and /resolve: {"note":..} optional, empty body OK.
struct transition_request {
  std::string note;
};
std::optional<transition_request> parse_transition_request(std::string_view body,
                                                           std::string* detail);

// POST /api/incidents/{id}/reassign: assignee required, non-blank.
struct reassign_request {
  std::string assignee;
};
std::optional<reassign_request> parse_reassign_request(std::string_view body, std::string* detail);

// POST /api/incidents/{id}/severity: severity required.
struct severity_request {
  std::string severity;
};
std::optional<severity_request> parse_severity_request(std::string_view body, std::string* detail);

// GET /api/audit?limit=&offset= (limit 1..1000, default 100).
struct audit_query {
  std::size_t limit = default_page_limit, offset = 0;
};
std::optional<audit_query> parse_audit_query(const std::map<std::string, std::string>& query,
                                             std::string* detail);

struct audit_view {
  std::int64_t at_ms = 0;
  std::string actor, role, action, target;
  std::map<std::string, std::string> detail;
};
// {"entries":[{"at_ms","actor","role","action","target","detail"}],"total":N}
std::string audit_json(const std::vector<audit_view>& v, std::size_t total);

}  // namespace wk::rest
