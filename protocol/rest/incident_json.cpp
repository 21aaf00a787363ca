#include "protocol/rest/incident_json.hpp"

#include <algorithm>
#include <cmath>
#include <initializer_list>

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "oncall/config.hpp"
#include "protocol/http/http_types.hpp"
#include "protocol/rest/json_string.hpp"

namespace wk::rest {

namespace {

using writer = rapidjson::Writer<rapidjson::StringBuffer>;

void zero_as_null(writer& w, std::int64_t value) {
  if (value == 0)
    w.Null();
  else
    w.Int64(value);
}

void string_map(writer& w, const std::map<std::string, std::string>& m) {
  w.StartObject();
  for (const auto& [k, v] : m) {
    write_string(w, k);
    write_string(w, v);
  }
  w.EndObject();
}

void string_list(writer& w, const std::vector<std::string>& v) {
  w.StartArray();
  for (const auto& s : v)
    write_string(w, s);
  w.EndArray();
}

void write_alert(writer& w, const incidents::incident_alert& a) {
  w.StartObject();
  w.Key("fingerprint");
  write_string(w, a.fingerprint);
  w.Key("alertname");
  write_string(w, a.alertname);
  w.Key("service");
  write_string(w, a.service);
  w.Key("labels");
  string_map(w, a.labels);
  w.Key("annotations");
  string_map(w, a.annotations);
  w.Key("firing");
  w.Bool(a.firing);
  w.Key("value");
  // JSON has no NaN or infinities.
  if (std::isfinite(a.value))
    w.Double(a.value);
  else
    w.Null();
  w.Key("starts_at_ms");
  w.Int64(a.starts_at_ms);
  w.Key("ends_at_ms");
  zero_as_null(w, a.ends_at_ms);
  w.Key("related");
  w.Bool(a.related);
  w.EndObject();
}

// The members of <incident>, so the detail view can append its own before closing the object.
void write_incident_members(writer& w, const incidents::incident& i) {
  w.Key("id");
  w.Int64(i.id);
  w.Key("title");
  write_string(w, i.title);
  w.Key("service");
  write_string(w, i.service);
  w.Key("severity");
  write_string(w, i.severity);
  w.Key("status");
  const auto status = incidents::to_string(i.state);
  w.String(status.data(), static_cast<rapidjson::SizeType>(status.size()));
  w.Key("group_key");
  write_string(w, i.group_key);
  w.Key("group_labels");
  string_map(w, i.group_labels);
  w.Key("opened_at_ms");
  w.Int64(i.opened_at_ms);
  w.Key("updated_at_ms");
  w.Int64(i.updated_at_ms);
  w.Key("acknowledged_at_ms");
  zero_as_null(w, i.acknowledged_at_ms);
  w.Key("acknowledged_by");
  write_string(w, i.acknowledged_by);
  w.Key("resolved_at_ms");
  zero_as_null(w, i.resolved_at_ms);
  w.Key("resolved_by");
  write_string(w, i.resolved_by);
  w.Key("assignee");
  write_string(w, i.assignee);
  w.Key("created_by");
  write_string(w, i.created_by);
  w.Key("escalation_policy");
  write_string(w, i.escalation_policy);
  w.Key("escalated");
  w.StartArray();
  for (const auto& [level, repetition] : i.escalated) {
    w.StartArray();
    w.Int(level);
    w.Int(repetition);
    w.EndArray();
  }
  w.EndArray();
  w.Key("reopen_count");
  w.Int(i.reopen_count);
  w.Key("related_to");
  zero_as_null(w, i.related_to);
  w.Key("notified_receivers");
  string_list(w, i.notified_receivers);
  w.Key("alerts");
  w.StartArray();
  for (const auto& a : i.alerts)
    write_alert(w, a);
  w.EndArray();
  w.Key("version");
  w.Int64(i.version);
}

void write_incident(writer& w, const incidents::incident& i) {
  w.StartObject();
  write_incident_members(w, i);
  w.EndObject();
}

void write_timeline(writer& w, const std::vector<incidents::timeline_entry>& t) {
  w.StartArray();
  for (const auto& e : t) {
    w.StartObject();
    w.Key("at_ms");
    w.Int64(e.at_ms);
    w.Key("kind");
    write_string(w, e.kind);
    w.Key("actor");
    write_string(w, e.actor);
    w.Key("text");
    write_string(w, e.text);
    w.Key("detail");
    string_map(w, e.detail);
    w.EndObject();
  }
  w.EndArray();
}

void write_outbox(writer& w, const outbox_view& n) {
  w.StartObject();
  w.Key("receiver");
  write_string(w, n.receiver);
  w.Key("channel");
  write_string(w, n.channel);
  w.Key("transition");
  write_string(w, n.transition);
  w.Key("state");
  write_string(w, n.state);
  w.Key("attempts");
  w.Int(n.attempts);
  w.Key("last_status");
  w.Int(n.last_status);
  w.Key("last_error");
  write_string(w, n.last_error);
  w.Key("created_ms");
  w.Int64(n.created_ms);
  w.Key("next_attempt_ms");
  zero_as_null(w, n.next_attempt_ms);
  w.Key("delivered_ms");
  zero_as_null(w, n.delivered_ms);
  w.EndObject();
}

std::string text_of(const rapidjson::StringBuffer& sb) {
  return std::string(sb.GetString(), sb.GetSize());
}

// Unicode code points of UTF-8 text (continuation bytes do not count).
std::size_t char_count(std::string_view s) {
  return static_cast<std::size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

bool blank(std::string_view s) {
  return s.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

// Spaces around a list item ("triggered, acknowledged" arrives as typed).
std::string_view trimmed(std::string_view s) {
  const auto first = s.find_first_not_of(' ');
  if (first == std::string_view::npos)
    return {};
  return s.substr(first, s.find_last_not_of(' ') + 1 - first);
}

std::string lowercase(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    if (c >= 'A' && c <= 'Z')
      c = static_cast<char>(c - 'A' + 'a');
  return out;
}

std::string joined(std::initializer_list<const char*> names) {
  std::string out;
  for (const char* n : names) {
    if (!out.empty())
      out += ", ";
    out += n;
  }
  return out;
}

std::string severity_list() {
  std::string out;
  for (const auto s : incidents::severities) {
    if (!out.empty())
      out += ", ";
    out += s;
  }
  return out;
}

// The lowercase severity, or nullopt with *detail naming `what` (a field or a parameter).
std::optional<std::string> normalized_severity(std::string_view value, const std::string& what,
                                               std::string* detail) {
  auto s = lowercase(value);
  if (incidents::valid_severity(s))
    return s;
  *detail = what + " must be one of " + severity_list() + " (got " + quote_for_detail(value) + ")";
  return std::nullopt;
}

// ---- request bodies ----------------------------------------------------------------------

struct field_spec {
  const char* name;
  std::size_t max_chars;
  bool required;  // present and not blank
};

using field_values = std::map<std::string, std::string, std::less<>>;

const char* type_name(const rapidjson::Value& v) {
  switch (v.GetType()) {
    case rapidjson::kNullType:
      return "null";
    case rapidjson::kFalseType:
    case rapidjson::kTrueType:
      return "a boolean";
    case rapidjson::kObjectType:
      return "an object";
    case rapidjson::kArrayType:
      return "an array";
    case rapidjson::kStringType:
      return "a string";
    case rapidjson::kNumberType:
      return "a number";
  }
  return "a value";
}

std::string field_names(std::initializer_list<field_spec> spec, bool required_only) {
  std::string out;
  for (const auto& f : spec) {
    if (required_only && !f.required)
      continue;
    if (!out.empty())
      out += ", ";
    out += required_only ? "\"" + std::string(f.name) + "\"" : f.name;
  }
  return out;
}

// The string fields of a JSON object body, checked against spec. A body of whitespace only is
// accepted (as no fields) when no field is required.
std::optional<field_values> parse_body(std::string_view body,
                                       std::initializer_list<field_spec> spec,
                                       std::string* detail) {
  if (body.size() > max_request_body_bytes) {
    *detail = "the body is " + std::to_string(body.size()) + " bytes; at most " +
              std::to_string(max_request_body_bytes) + " are accepted";
    return std::nullopt;
  }
  const bool any_required =
      std::any_of(spec.begin(), spec.end(), [](const field_spec& f) { return f.required; });
  if (blank(body)) {
    if (!any_required)
      return field_values{};
    *detail = "the body is empty; expected a JSON object with " + field_names(spec, true);
    return std::nullopt;
  }
  rapidjson::Document doc;
  // Iterative parsing: deeply nested hostile input cannot exhaust the stack.
  doc.Parse<rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag>(body.data(),
                                                                                    body.size());
  if (doc.HasParseError()) {
    *detail = "invalid JSON at offset " + std::to_string(doc.GetErrorOffset()) + ": " +
              rapidjson::GetParseError_En(doc.GetParseError());
    return std::nullopt;
  }
  if (!doc.IsObject()) {
    *detail = std::string("the body must be a JSON object, not ") + type_name(doc);
    return std::nullopt;
  }
  auto spec_of = [&](std::string_view name) -> const field_spec* {
    for (const auto& f : spec)
      if (name == f.name)
        return &f;
    return nullptr;
  };

  std::vector<std::string_view> unknown;
  for (const auto& m : doc.GetObject()) {
    std::string_view name(m.name.GetString(), m.name.GetStringLength());
    if (!spec_of(name))
      unknown.push_back(name);
  }
  if (!unknown.empty()) {
    constexpr std::size_t max_listed = 5;
    *detail = unknown.size() == 1 ? "unknown field " : "unknown fields ";
    for (std::size_t k = 0; k < unknown.size() && k < max_listed; ++k)
      *detail += (k ? ", " : "") + quote_for_detail(unknown[k]);
    if (unknown.size() > max_listed)
      *detail += " and " + std::to_string(unknown.size() - max_listed) + " more";
    *detail += " (known: " + field_names(spec, false) + ")";
    return std::nullopt;
  }

  field_values values;
  for (const auto& m : doc.GetObject()) {
    std::string_view name(m.name.GetString(), m.name.GetStringLength());
    const field_spec& f = *spec_of(name);
    if (values.count(name)) {
      *detail = "duplicate field \"" + std::string(name) + "\"";
      return std::nullopt;
    }
    if (!m.value.IsString()) {
      *detail = "\"" + std::string(name) + "\" must be a string, not " + type_name(m.value);
      return std::nullopt;
    }
    std::string_view value(m.value.GetString(), m.value.GetStringLength());
    // PostgreSQL text cannot hold NUL, and no sane title or note contains one.
    if (value.find('\0') != std::string_view::npos) {
      *detail = "\"" + std::string(name) + "\" must not contain NUL characters";
      return std::nullopt;
    }
    if (char_count(value) > f.max_chars) {
      *detail = "\"" + std::string(name) + "\" is longer than " + std::to_string(f.max_chars) +
                " characters";
      return std::nullopt;
    }
    values.emplace(std::string(name), std::string(value));
  }
  for (const auto& f : spec) {
    if (!f.required)
      continue;
    auto it = values.find(f.name);
    if (it == values.end()) {
      *detail = "missing field \"" + std::string(f.name) + "\"";
      return std::nullopt;
    }
    if (blank(it->second)) {
      *detail = "\"" + std::string(f.name) + "\" must not be blank";
      return std::nullopt;
    }
  }
  return values;
}

// Moves a parsed field into out when present.
void take(field_values& values, std::string_view name, std::string& out) {
  if (auto it = values.find(name); it != values.end())
    out = std::move(it->second);
}

// ---- query strings -----------------------------------------------------------------------

bool known_parameters(const std::map<std::string, std::string>& query,
                      std::initializer_list<const char*> known, std::string* detail) {
  for (const auto& [key, value] : query) {
    const bool ok =
        std::any_of(known.begin(), known.end(), [&](const char* k) { return key == k; });
    if (!ok) {
      *detail =
          "unknown query parameter " + quote_for_detail(key) + " (known: " + joined(known) + ")";
      return false;
    }
  }
  return true;
}

// The value of a parameter, or nullopt when it is absent or empty (a form's "any").
std::optional<std::string_view> parameter(const std::map<std::string, std::string>& query,
                                          const char* name) {
  auto it = query.find(name);
  if (it == query.end() || it->second.empty())
    return std::nullopt;
  return std::string_view(it->second);
}

bool whole_number(const std::map<std::string, std::string>& query, const char* name,
                  std::size_t min, std::size_t max, std::size_t& out, std::string* detail) {
  auto v = parameter(query, name);
  if (!v)
    return true;
  std::size_t n = 0;
  bool ok = v->size() <= 12 && v->find_first_not_of("0123456789") == std::string_view::npos;
  for (std::size_t k = 0; ok && k < v->size(); ++k)
    n = n * 10 + static_cast<std::size_t>((*v)[k] - '0');
  if (!ok || n < min || n > max) {
    *detail = std::string(name) + " must be a whole number from " + std::to_string(min) + " to " +
              std::to_string(max) + " (got " + quote_for_detail(*v) + ")";
    return false;
  }
  out = n;
  return true;
}

bool time_parameter(const std::map<std::string, std::string>& query, const char* name,
                    std::int64_t& out, std::string* detail) {
  auto v = parameter(query, name);
  if (!v)
    return true;
  auto t = parse_time_ms(*v);
  if (!t) {
    *detail = std::string(name) +
              " must be unix milliseconds or an RFC 3339 time such as 2026-01-05T09:00:00Z (got " +
              quote_for_detail(*v) + ")";
    return false;
  }
  out = *t;
  return true;
}

}  // namespace

std::string quote_for_detail(std::string_view value) {
  constexpr std::size_t max_shown = 64;
  if (value.size() <= max_shown)
    return "\"" + std::string(value) + "\"";
  std::size_t cut = max_shown;
  while (cut > 0 && (static_cast<unsigned char>(value[cut]) & 0xC0) == 0x80)
    --cut;
  return "\"" + std::string(value.substr(0, cut)) + "...\"";
}

std::optional<std::int64_t> parse_time_ms(std::string_view text) {
  constexpr std::size_t max_digits = 15;  // beyond year 30000
  if (!text.empty() && text.size() <= max_digits &&
      text.find_first_not_of("0123456789") == std::string_view::npos) {
    std::int64_t ms = 0;
    for (char c : text)
      ms = ms * 10 + (c - '0');
    return ms;
  }
  auto t = oncall::parse_rfc3339_ms(text);
  // An unencoded '+' in a query string arrives as a space: "...T09:00:00 01:00".
  constexpr std::size_t offset_chars = 6;  // "+HH:MM"
  if (!t && text.size() >= 19 + offset_chars && text[text.size() - offset_chars] == ' ') {
    std::string fixed(text);
    fixed[fixed.size() - offset_chars] = '+';
    t = oncall::parse_rfc3339_ms(fixed);
  }
  if (!t || *t < 0)
    return std::nullopt;
  return t;
}

std::string incident_json(const incidents::incident& i) {
  rapidjson::StringBuffer sb;
  writer w(sb);
  write_incident(w, i);
  return text_of(sb);
}

std::string incident_list_json(const std::vector<incidents::incident>& v, std::size_t total,
                               std::size_t limit, std::size_t offset) {
  rapidjson::StringBuffer sb;
  writer w(sb);
  w.StartObject();
  w.Key("incidents");
  w.StartArray();
  for (const auto& i : v)
    write_incident(w, i);
  w.EndArray();
  w.Key("total");
  w.Uint64(total);
  w.Key("limit");
  w.Uint64(limit);
  w.Key("offset");
  w.Uint64(offset);
  w.EndObject();
  return text_of(sb);
}

std::string incident_detail_json(const incidents::incident& i,
                                 const std::vector<incidents::timeline_entry>& t,
                                 const std::vector<outbox_view>& n) {
  rapidjson::StringBuffer sb;
  writer w(sb);
  w.StartObject();
  write_incident_members(w, i);
  w.Key("timeline");
  write_timeline(w, t);
  w.Key("notifications");
  w.StartArray();
  for (const auto& o : n)
    write_outbox(w, o);
  w.EndArray();
  w.EndObject();
  return text_of(sb);
}

std::string timeline_json(const std::vector<incidents::timeline_entry>& t) {
  rapidjson::StringBuffer sb;
  writer w(sb);
  w.StartObject();
  w.Key("timeline");
  write_timeline(w, t);
  w.EndObject();
  return text_of(sb);
}

std::optional<incident_filter> parse_incident_filter(
    const std::map<std::string, std::string>& query, std::string* detail) {
  incident_filter f;
  if (!known_parameters(
          query, {"status", "service", "severity", "since", "until", "limit", "offset"}, detail) ||
      !whole_number(query, "limit", 1, max_page_limit, f.limit, detail) ||
      !whole_number(query, "offset", 0, max_page_offset, f.offset, detail))
    return std::nullopt;
  if (auto v = parameter(query, "status")) {
    std::size_t start = 0;
    while (start <= v->size()) {
      auto end = std::min(v->find(',', start), v->size());
      const auto item = trimmed(v->substr(start, end - start));
      auto name = lowercase(item);
      if (!incidents::parse_status(name)) {
        *detail = "unknown status " + quote_for_detail(item) +
                  " (known: triggered, acknowledged, resolved)";
        return std::nullopt;
      }
      if (std::find(f.statuses.begin(), f.statuses.end(), name) == f.statuses.end())
        f.statuses.push_back(std::move(name));
      start = end + 1;
    }
  }
  if (auto v = parameter(query, "service")) {
    if (char_count(*v) > max_name_chars) {
      *detail = "service is longer than " + std::to_string(max_name_chars) + " characters";
      return std::nullopt;
    }
    f.service = std::string(*v);
  }
  if (auto v = parameter(query, "severity")) {
    auto s = normalized_severity(*v, "severity", detail);
    if (!s)
      return std::nullopt;
    f.severity = std::move(*s);
  }
  if (!time_parameter(query, "since", f.since_ms, detail) ||
      !time_parameter(query, "until", f.until_ms, detail))
    return std::nullopt;
  if (f.since_ms != 0 && f.until_ms != 0 && f.since_ms > f.until_ms) {
    *detail = "since (" + std::to_string(f.since_ms) + ") is after until (" +
              std::to_string(f.until_ms) + ")";
    return std::nullopt;
  }
  return f;
}

bool matches(const incident_filter& f, const incidents::incident& i) {
  if (!f.statuses.empty() && std::find(f.statuses.begin(), f.statuses.end(),
                                       incidents::to_string(i.state)) == f.statuses.end())
    return false;
  if (!f.service.empty() && i.service != f.service)
    return false;
  if (!f.severity.empty() && i.severity != f.severity)
    return false;
  if (f.since_ms != 0 && i.opened_at_ms < f.since_ms)
    return false;
  return f.until_ms == 0 || i.opened_at_ms < f.until_ms;
}

std::optional<create_request> parse_create_request(std::string_view body, std::string* detail) {
  auto values = parse_body(body,
                           {{"title", max_title_chars, true},
                            {"service", max_name_chars, false},
                            {"severity", max_name_chars, false},
                            {"description", max_text_chars, false},
                            {"escalation_policy", max_name_chars, false}},
                           detail);
  if (!values)
    return std::nullopt;
  create_request r;
  take(*values, "title", r.title);
  take(*values, "service", r.service);
  take(*values, "description", r.description);
  take(*values, "escalation_policy", r.escalation_policy);
  if (auto it = values->find("severity"); it != values->end()) {
    auto s = normalized_severity(it->second, "\"severity\"", detail);
    if (!s)
      return std::nullopt;
    r.severity = std::move(*s);
  }
  return r;
}

std::optional<note_request> parse_note_request(std::string_view body, std::string* detail) {
  auto values = parse_body(body, {{"text", max_text_chars, true}}, detail);
  if (!values)
    return std::nullopt;
  note_request r;
  take(*values, "text", r.text);
  return r;
}

std::optional<transition_request> parse_transition_request(std::string_view body,
                                                           std::string* detail) {
  auto values = parse_body(body, {{"note", max_text_chars, false}}, detail);
  if (!values)
    return std::nullopt;
  transition_request r;
  take(*values, "note", r.note);
  return r;
}

std::optional<reassign_request> parse_reassign_request(std::string_view body, std::string* detail) {
  auto values = parse_body(body, {{"assignee", max_name_chars, true}}, detail);
  if (!values)
    return std::nullopt;
  reassign_request r;
  take(*values, "assignee", r.assignee);
  return r;
}

std::optional<severity_request> parse_severity_request(std::string_view body, std::string* detail) {
  auto values = parse_body(body, {{"severity", max_name_chars, true}}, detail);
  if (!values)
    return std::nullopt;
  auto s = normalized_severity(values->at("severity"), "\"severity\"", detail);
  if (!s)
    return std::nullopt;
  return severity_request{std::move(*s)};
}

std::optional<audit_query> parse_audit_query(const std::map<std::string, std::string>& query,
                                             std::string* detail) {
  audit_query q;
  if (!known_parameters(query, {"limit", "offset"}, detail) ||
      !whole_number(query, "limit", 1, max_page_limit, q.limit, detail) ||
      !whole_number(query, "offset", 0, max_page_offset, q.offset, detail))
    return std::nullopt;
  return q;
}

std::string audit_json(const std::vector<audit_view>& v, std::size_t total) {
  rapidjson::StringBuffer sb;
  writer w(sb);
  w.StartObject();
  w.Key("entries");
  w.StartArray();
  for (const auto& e : v) {
    w.StartObject();
    w.Key("at_ms");
    w.Int64(e.at_ms);
    w.Key("actor");
    write_string(w, e.actor);
    w.Key("role");
    write_string(w, e.role);
    w.Key("action");
    write_string(w, e.action);
    w.Key("target");
    write_string(w, e.target);
    w.Key("detail");
    string_map(w, e.detail);
    w.EndObject();
  }
  w.EndArray();
  w.Key("total");
  w.Uint64(total);
  w.EndObject();
  return text_of(sb);
}

}  // namespace wk::rest
