#include "persistence/incident_store.hpp"

#include "persistence/detail/json_map.hpp"
#include "persistence/detail/session.hpp"
#include "persistence/text_check.hpp"

#include <pqxx/except>
#include <pqxx/result>
#include <pqxx/transaction>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <charconv>
#include <limits>
#include <set>
#include <string_view>

namespace wk::persistence {
namespace {

using json_writer = rapidjson::Writer<rapidjson::StringBuffer>;

// Millisecond times as timestamptz: AT for NOT NULL columns, OPT maps 0 to NULL; MS reads
// either back (NULL as 0). to_timestamp goes through float8, exact to the millisecond up to
// the year 9999 after the rounding cast back to bigint.
#define WK_AT(x) "to_timestamp((" x ")::bigint::numeric / 1000)"
#define WK_OPT(x) "to_timestamp(nullif((" x ")::bigint, 0)::numeric / 1000)"
#define WK_MS(col) "coalesce((extract(epoch from " col ") * 1000)::bigint, 0)"

// The whole change in one statement (with BEGIN/COMMIT around it: three round trips however
// many alerts, entries and outbox rows it carries). Lists arrive as JSON arrays. `ok` is empty
// when the version check fails and every other part joins it, so nothing else is written;
// the caller then rolls back, which also drops a row inserted against expect_version > 0.
constexpr const char* commit_name = "wk_incident_commit";
constexpr const char* commit_sql =
    "WITH up AS ("
    "  INSERT INTO incidents (id, group_key, service, title, severity, status, group_labels,"
    "  opened_at, updated_at, acknowledged_at, acknowledged_by, resolved_at, resolved_by,"
    "  assignee, created_by, escalation_policy, escalation_started_at, escalated, reopen_count,"
    "  notified_receivers, related_to, version)"
    "  VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, " WK_AT("$8") ", " WK_AT("$9") ", "
    WK_OPT("$10") ", $11, " WK_OPT("$12") ", $13, $14, $15, $16, " WK_OPT("$17") ", $18::jsonb,"
    "  $19, $20::jsonb, nullif($21::bigint, 0), $22)"
    "  ON CONFLICT (id) DO UPDATE SET group_key = excluded.group_key,"
    "  service = excluded.service, title = excluded.title, severity = excluded.severity,"
    "  status = excluded.status, group_labels = excluded.group_labels,"
    "  opened_at = excluded.opened_at, updated_at = excluded.updated_at,"
    "  acknowledged_at = excluded.acknowledged_at, acknowledged_by = excluded.acknowledged_by,"
    "  resolved_at = excluded.resolved_at, resolved_by = excluded.resolved_by,"
    "  assignee = excluded.assignee, created_by = excluded.created_by,"
    "  escalation_policy = excluded.escalation_policy,"
    "  escalation_started_at = excluded.escalation_started_at, escalated = excluded.escalated,"
    "  reopen_count = excluded.reopen_count, notified_receivers = excluded.notified_receivers,"
    "  related_to = excluded.related_to, version = excluded.version"
    "  WHERE $23::bigint < 0 OR incidents.version = $23::bigint"
    // xmax = 0: the row was inserted, not updated (there was no stored row).
    "  RETURNING id, (xmax = 0) AS inserted),"
    " ok AS (SELECT id FROM up WHERE NOT (inserted AND $23::bigint > 0)),"
    " new_alerts AS (SELECT * FROM jsonb_to_recordset($24::jsonb) AS a(fingerprint text,"
    "  position integer, alertname text, service text, labels jsonb, annotations jsonb,"
    "  firing boolean, value text, starts_at bigint, ends_at bigint, related boolean)),"
    " gone AS (DELETE FROM incident_alerts WHERE incident_id = (SELECT id FROM ok)"
    "  AND fingerprint NOT IN (SELECT fingerprint FROM new_alerts)),"
    " alerts AS ("
    "  INSERT INTO incident_alerts (incident_id, fingerprint, position, alertname, service,"
    "  labels, annotations, firing, value, starts_at, ends_at, related)"
    "  SELECT ok.id, a.fingerprint, a.position, a.alertname, a.service, a.labels, a.annotations,"
    "  a.firing, a.value::double precision, " WK_AT("a.starts_at") ", " WK_OPT("a.ends_at") ","
    "  a.related FROM ok, new_alerts a"
    "  ON CONFLICT (incident_id, fingerprint) DO UPDATE SET position = excluded.position,"
    "  alertname = excluded.alertname, service = excluded.service, labels = excluded.labels,"
    "  annotations = excluded.annotations, firing = excluded.firing, value = excluded.value,"
    "  starts_at = excluded.starts_at, ends_at = excluded.ends_at, related = excluded.related),"
    " timeline AS ("
    "  INSERT INTO incident_timeline (incident_id, at, kind, actor, text, detail)"
    "  SELECT ok.id, " WK_AT("t.at") ", t.kind, t.actor, t.text, t.detail"
    "  FROM ok, jsonb_to_recordset($25::jsonb) AS t(seq integer, at bigint, kind text,"
    "  actor text, text text, detail jsonb) ORDER BY t.seq),"
    " outbox AS ("
    "  INSERT INTO notification_outbox (incident_id, receiver, channel, transition, dedup_key,"
    "  delivery_key, target, body, state, attempts, created_at, next_attempt_at, delivered_at,"
    "  last_status, last_error)"
    "  SELECT ok.id, o.receiver, o.channel, o.transition, o.dedup_key, o.delivery_key,"
    "  o.target, o.body, o.state, o.attempts, " WK_AT("o.created") ", " WK_AT("o.next_attempt")
    ", " WK_OPT("o.delivered") ", o.last_status, o.last_error"
    "  FROM ok, jsonb_to_recordset($26::jsonb) AS o(seq integer, receiver text, channel text,"
    "  transition text, dedup_key text, delivery_key text, target text, body text, state text,"
    "  attempts integer, created bigint, next_attempt bigint, delivered bigint,"
    "  last_status integer, last_error text) ORDER BY o.seq"
    "  ON CONFLICT (dedup_key) DO NOTHING),"
    " audit AS ("
    "  INSERT INTO audit_log (at, actor, role, action, target, detail)"
    "  SELECT " WK_AT("u.at") ", u.actor, u.role, u.action, u.target, u.detail"
    "  FROM ok, jsonb_to_recordset($27::jsonb) AS u(at bigint, actor text, role text,"
    "  action text, target text, detail jsonb))"
    " SELECT count(*) FROM ok";

constexpr const char* incident_columns =
    "SELECT id, group_key, service, title, severity, status, group_labels::text, "
    WK_MS("opened_at") ", " WK_MS("updated_at") ", " WK_MS("acknowledged_at") ","
    " acknowledged_by, " WK_MS("resolved_at") ", resolved_by, assignee, created_by,"
    " escalation_policy, " WK_MS("escalation_started_at") ", escalated::text, reopen_count,"
    " notified_receivers::text, coalesce(related_to, 0), version FROM incidents";
constexpr const char* open_name = "wk_incident_open";
constexpr const char* get_name = "wk_incident_get";
constexpr const char* last_resolved_name = "wk_incident_last_resolved";
constexpr const char* list_name = "wk_incident_list";
constexpr const char* list_filter =
    " WHERE ($1 = '' OR status = ANY (string_to_array($1, ',')))"
    " AND ($2 = '' OR service = $2) AND ($3 = '' OR severity = $3)"
    " AND ($4::bigint = 0 OR opened_at >= " WK_AT("$4") ")"
    " AND ($5::bigint = 0 OR opened_at <= " WK_AT("$5") ")";
constexpr const char* count_name = "wk_incident_count";
constexpr const char* alerts_name = "wk_incident_alerts";
constexpr const char* alerts_sql =
    "SELECT incident_id, fingerprint, alertname, service, labels::text, annotations::text,"
    " firing, value, " WK_MS("starts_at") ", " WK_MS("ends_at") ", related"
    " FROM incident_alerts WHERE incident_id = ANY ($1::bigint[])"
    " ORDER BY incident_id, position";
constexpr const char* max_id_name = "wk_incident_max_id";
constexpr const char* max_id_sql = "SELECT coalesce(max(id), 0) FROM incidents";

constexpr const char* timeline_name = "wk_incident_timeline";
constexpr const char* timeline_sql =
    "SELECT incident_id, " WK_MS("at") ", kind, actor, text, detail::text FROM"
    " (SELECT * FROM incident_timeline WHERE incident_id = $1 ORDER BY id DESC LIMIT $2) t"
    " ORDER BY id";

constexpr const char* outbox_columns =
    "SELECT id, incident_id, receiver, channel, transition, dedup_key, delivery_key, target,"
    " body, state, attempts, " WK_MS("created_at") ", " WK_MS("next_attempt_at") ", "
    WK_MS("delivered_at") ", last_status, last_error FROM notification_outbox";
constexpr const char* due_name = "wk_outbox_due";
constexpr const char* next_due_name = "wk_outbox_next_due";
constexpr const char* next_due_sql =
    "SELECT " WK_MS("next_attempt_at") " FROM notification_outbox WHERE state = 'pending'"
    " ORDER BY next_attempt_at LIMIT 1";
constexpr const char* outbox_for_name = "wk_outbox_for";
constexpr const char* outbox_state_name = "wk_outbox_state";
constexpr const char* outbox_state_sql = "SELECT state FROM notification_outbox WHERE id = $1";

// The update and its timeline entry in one statement; no row back when the row was not
// pending (so nothing was written).
constexpr const char* delivered_name = "wk_outbox_delivered";
constexpr const char* delivered_sql =
    "WITH u AS (UPDATE notification_outbox SET state = 'delivered', attempts = attempts + 1,"
    " delivered_at = " WK_AT("$2") ", last_status = $3, last_error = ''"
    " WHERE id = $1 AND state = 'pending' RETURNING incident_id)"
    " INSERT INTO incident_timeline (incident_id, at, kind, actor, text, detail)"
    " SELECT incident_id, " WK_AT("$4") ", $5, $6, $7, $8::jsonb FROM u RETURNING id";
constexpr const char* failed_name = "wk_outbox_failed";
constexpr const char* failed_sql =
    "WITH u AS (UPDATE notification_outbox SET state = 'failed', attempts = $2,"
    " last_status = $3, last_error = $4"
    " WHERE id = $1 AND state = 'pending' RETURNING incident_id)"
    " INSERT INTO incident_timeline (incident_id, at, kind, actor, text, detail)"
    " SELECT incident_id, " WK_AT("$5") ", $6, $7, $8, $9::jsonb FROM u RETURNING id";
constexpr const char* retry_name = "wk_outbox_retry";
constexpr const char* retry_sql =
    "UPDATE notification_outbox SET attempts = $2, next_attempt_at = " WK_AT("$3") ","
    " last_status = $4, last_error = $5 WHERE id = $1 AND state = 'pending' RETURNING id";

constexpr const char* audit_insert_name = "wk_audit_insert";
constexpr const char* audit_insert_sql =
    "INSERT INTO audit_log (at, actor, role, action, target, detail)"
    " VALUES (" WK_AT("$1") ", $2, $3, $4, $5, $6::jsonb)";
constexpr const char* audit_list_name = "wk_audit_list";
constexpr const char* audit_list_sql =
    "SELECT " WK_MS("at") ", actor, role, action, target, detail::text FROM audit_log"
    " ORDER BY at DESC, id DESC LIMIT $1 OFFSET $2";
constexpr const char* audit_count_name = "wk_audit_count";
constexpr const char* audit_count_sql = "SELECT count(*) FROM audit_log";

#undef WK_AT
#undef WK_OPT
#undef WK_MS

// 9999-12-31T23:59:59.999Z: the last millisecond every part (and RFC 3339) can print.
constexpr std::int64_t max_time_ms = 253'402'300'799'999;

using read_only_snapshot = pqxx::transaction<pqxx::repeatable_read, pqxx::read_only>;

// ---- input checks -------------------------------------------------------------------------

// An error text as it can be stored: cut to `max` bytes on a character boundary, every
// invalid byte (and NUL) replaced by U+FFFD. The smallest prefix of 1..4 bytes that is valid
// text is exactly one character, so text_problem decides without a second UTF-8 decoder.
std::string clean_text(const std::string& text, std::size_t max) {
  constexpr std::string_view replacement = "\xEF\xBF\xBD";
  std::string out;
  const std::string_view view(text);
  for (std::size_t i = 0; i < view.size();) {
    std::size_t n = 0;
    for (std::size_t k = 1; k <= 4 && i + k <= view.size(); ++k) {
      if (text_problem(view.substr(i, k)).empty()) {
        n = k;
        break;
      }
    }
    const std::string_view piece = n == 0 ? replacement : view.substr(i, n);
    if (out.size() + piece.size() > max) break;
    out += piece;
    i += n == 0 ? 1 : n;
  }
  return out;
}

void check_text(const std::string& field, const std::string& value,
                std::size_t max = incident_store::max_text_bytes) {
  if (value.size() > max)
    throw error(field + " is longer than " + std::to_string(max) + " bytes");
  if (std::string why = text_problem(value); !why.empty()) throw error(field + " " + why);
}

void check_required(const std::string& field, const std::string& value) {
  if (value.empty()) throw error(field + " is empty");
  check_text(field, value);
}

void check_map(const std::string& field, const std::map<std::string, std::string>& m) {
  if (m.size() > incident_store::max_entries)
    throw error(field + " has more than " + std::to_string(incident_store::max_entries) +
                " entries");
  for (const auto& [k, v] : m) {
    check_text(field + " key", k);
    check_text(field + " value", v);
  }
}

void check_time(const std::string& field, std::int64_t ms) {
  if (ms < 0 || ms > max_time_ms)
    throw error(field + " " + std::to_string(ms) + " is not a time between 1970 and 9999");
}

void check_one_of(const std::string& field, const std::string& value,
                  std::initializer_list<std::string_view> allowed) {
  if (std::find(allowed.begin(), allowed.end(), value) == allowed.end()) {
    std::string list;
    for (auto a : allowed) list += (list.empty() ? "" : "|") + std::string(a);
    throw error(field + " must be one of " + list + ", not \"" + clean_text(value, 64) + "\"");
  }
}

void check_status_code(int status) {
  if (status < 0 || status > 999)
    throw error("status " + std::to_string(status) + " is not 0..999");
}

void check_attempts(int attempts) {
  if (attempts < 0) throw error("attempts must not be negative");
}

void check_incident(const incidents::incident& i) {
  const std::string at = "incident " + std::to_string(i.id) + ": ";
  if (i.id <= 0) throw error("incident id must be positive, not " + std::to_string(i.id));
  check_required(at + "group_key", i.group_key);
  for (const auto& [name, value] :
       {std::pair{"service", &i.service}, {"title", &i.title},
        {"acknowledged_by", &i.acknowledged_by}, {"resolved_by", &i.resolved_by},
        {"assignee", &i.assignee}, {"created_by", &i.created_by},
        {"escalation_policy", &i.escalation_policy}}) {
    check_text(at + name, *value);
  }
  check_text(at + "severity", i.severity);
  if (!incidents::valid_severity(i.severity))
    throw error(at + "severity must be critical|error|warning|info, not \"" +
                clean_text(i.severity, 64) + "\"");
  check_map(at + "group_labels", i.group_labels);
  for (const auto& [name, ms] :
       {std::pair{"opened_at_ms", i.opened_at_ms}, {"updated_at_ms", i.updated_at_ms},
        {"acknowledged_at_ms", i.acknowledged_at_ms}, {"resolved_at_ms", i.resolved_at_ms},
        {"escalation_started_ms", i.escalation_started_ms}}) {
    check_time(at + name, ms);
  }
  if (i.escalated.size() > incident_store::max_entries)
    throw error(at + "escalated has more than " + std::to_string(incident_store::max_entries) +
                " entries");
  if (i.notified_receivers.size() > incident_store::max_entries)
    throw error(at + "notified_receivers has more than " +
                std::to_string(incident_store::max_entries) + " entries");
  for (const auto& r : i.notified_receivers) check_text(at + "notified receiver", r);
  if (i.reopen_count < 0) throw error(at + "reopen_count must not be negative");
  if (i.related_to < 0) throw error(at + "related_to must not be negative");
  if (i.version < 0) throw error(at + "version must not be negative");
  if (i.alerts.size() > incident_store::max_alerts)
    throw error(at + "more than " + std::to_string(incident_store::max_alerts) + " alerts");
  std::set<std::string_view> seen;
  for (const auto& a : i.alerts) {
    check_required(at + "alert fingerprint", a.fingerprint);
    const std::string where = at + "alert " + clean_text(a.fingerprint, 128) + ": ";
    if (!seen.insert(a.fingerprint).second) throw error(where + "listed twice");
    check_text(where + "alertname", a.alertname);
    check_text(where + "service", a.service);
    check_map(where + "labels", a.labels);
    check_map(where + "annotations", a.annotations);
    check_time(where + "starts_at_ms", a.starts_at_ms);
    check_time(where + "ends_at_ms", a.ends_at_ms);
  }
}

void check_entry(const std::string& at, const incidents::timeline_entry& e) {
  check_time(at + "timeline at_ms", e.at_ms);
  check_required(at + "timeline kind", e.kind);
  check_text(at + "timeline actor", e.actor);
  check_text(at + "timeline text", e.text);
  check_map(at + "timeline detail", e.detail);
}

void check_outbox(const std::string& at, const outbox_entry& o) {
  check_required(at + "outbox receiver", o.receiver);
  check_one_of(at + "outbox channel", o.channel, {"slack", "pagerduty", "webhook", "email"});
  check_one_of(at + "outbox transition", o.transition,
               {"triggered", "acknowledged", "resolved", "escalated", "reminder", "updated"});
  check_required(at + "outbox dedup_key", o.dedup_key);
  check_text(at + "outbox delivery_key", o.delivery_key);
  check_text(at + "outbox target", o.target);
  check_text(at + "outbox body", o.body, incident_store::max_body_bytes);
  check_one_of(at + "outbox state", o.state, {"pending", "delivered", "failed"});
  check_attempts(o.attempts);
  check_time(at + "outbox created_ms", o.created_ms);
  check_time(at + "outbox next_attempt_ms", o.next_attempt_ms);
  check_time(at + "outbox delivered_ms", o.delivered_ms);
  check_status_code(o.last_status);
  check_text(at + "outbox last_error", o.last_error);
}

void check_audit(const audit_entry& e) {
  check_time("audit at_ms", e.at_ms);
  check_text("audit actor", e.actor);
  check_text("audit role", e.role);
  check_required("audit action", e.action);
  check_text("audit target", e.target);
  check_map("audit detail", e.detail);
}

// ---- JSON parameters -----------------------------------------------------------------------

void write_string(json_writer& w, const std::string& s) {
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

void write_map(json_writer& w, const std::map<std::string, std::string>& m) {
  w.StartObject();
  for (const auto& [k, v] : m) {
    w.Key(k.data(), static_cast<rapidjson::SizeType>(k.size()));
    write_string(w, v);
  }
  w.EndObject();
}

// NaN and infinities are not JSON numbers: values travel as text PostgreSQL's float8 reads.
std::string float_text(double v) {
  char buffer[32];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, v);
  return std::string(buffer, result.ptr);
}

std::string alerts_json(const std::vector<incidents::incident_alert>& alerts) {
  rapidjson::StringBuffer sb;
  json_writer w(sb);
  w.StartArray();
  int position = 0;
  for (const auto& a : alerts) {
    w.StartObject();
    w.Key("fingerprint");
    write_string(w, a.fingerprint);
    w.Key("position");
    w.Int(position++);
    w.Key("alertname");
    write_string(w, a.alertname);
    w.Key("service");
    write_string(w, a.service);
    w.Key("labels");
    write_map(w, a.labels);
    w.Key("annotations");
    write_map(w, a.annotations);
    w.Key("firing");
    w.Bool(a.firing);
    w.Key("value");
    write_string(w, float_text(a.value));
    w.Key("starts_at");
    w.Int64(a.starts_at_ms);
    w.Key("ends_at");
    w.Int64(a.ends_at_ms);
    w.Key("related");
    w.Bool(a.related);
    w.EndObject();
  }
  w.EndArray();
  return sb.GetString();
}

std::string timeline_json(const std::vector<incidents::timeline_entry>& entries) {
  rapidjson::StringBuffer sb;
  json_writer w(sb);
  w.StartArray();
  int seq = 0;
  for (const auto& e : entries) {
    w.StartObject();
    w.Key("seq");
    w.Int(seq++);
    w.Key("at");
    w.Int64(e.at_ms);
    w.Key("kind");
    write_string(w, e.kind);
    w.Key("actor");
    write_string(w, e.actor);
    w.Key("text");
    write_string(w, e.text);
    w.Key("detail");
    write_map(w, e.detail);
    w.EndObject();
  }
  w.EndArray();
  return sb.GetString();
}

std::string outbox_json(const std::vector<outbox_entry>& rows) {
  rapidjson::StringBuffer sb;
  json_writer w(sb);
  w.StartArray();
  int seq = 0;
  for (const auto& o : rows) {
    w.StartObject();
    w.Key("seq");
    w.Int(seq++);
    for (const auto& [key, value] :
         {std::pair{"receiver", &o.receiver}, {"channel", &o.channel},
          {"transition", &o.transition}, {"dedup_key", &o.dedup_key},
          {"delivery_key", &o.delivery_key}, {"target", &o.target}, {"body", &o.body},
          {"state", &o.state}, {"last_error", &o.last_error}}) {
      w.Key(key);
      write_string(w, *value);
    }
    w.Key("attempts");
    w.Int(o.attempts);
    w.Key("created");
    w.Int64(o.created_ms);
    w.Key("next_attempt");
    w.Int64(o.next_attempt_ms);
    w.Key("delivered");
    w.Int64(o.delivered_ms);
    w.Key("last_status");
    w.Int(o.last_status);
    w.EndObject();
  }
  w.EndArray();
  return sb.GetString();
}

std::string audit_json(const std::optional<audit_entry>& e) {
  rapidjson::StringBuffer sb;
  json_writer w(sb);
  w.StartArray();
  if (e) {
    w.StartObject();
    w.Key("at");
    w.Int64(e->at_ms);
    for (const auto& [key, value] : {std::pair{"actor", &e->actor}, {"role", &e->role},
                                     {"action", &e->action}, {"target", &e->target}}) {
      w.Key(key);
      write_string(w, *value);
    }
    w.Key("detail");
    write_map(w, e->detail);
    w.EndObject();
  }
  w.EndArray();
  return sb.GetString();
}

std::string escalated_json(const std::vector<std::pair<int, int>>& escalated) {
  rapidjson::StringBuffer sb;
  json_writer w(sb);
  w.StartArray();
  for (const auto& [level, repetition] : escalated) {
    w.StartArray();
    w.Int(level);
    w.Int(repetition);
    w.EndArray();
  }
  w.EndArray();
  return sb.GetString();
}

std::string strings_json(const std::vector<std::string>& values) {
  rapidjson::StringBuffer sb;
  json_writer w(sb);
  w.StartArray();
  for (const auto& v : values) write_string(w, v);
  w.EndArray();
  return sb.GetString();
}

// Columns written by this file only; anything unexpected is skipped rather than trusted.
std::vector<std::pair<int, int>> escalated_from_json(const std::string& text) {
  std::vector<std::pair<int, int>> out;
  rapidjson::Document d;
  d.Parse(text.data(), text.size());
  if (d.HasParseError() || !d.IsArray()) return out;
  for (const auto& pair : d.GetArray()) {
    if (pair.IsArray() && pair.Size() == 2 && pair[0].IsInt() && pair[1].IsInt())
      out.emplace_back(pair[0].GetInt(), pair[1].GetInt());
  }
  return out;
}

std::vector<std::string> strings_from_json(const std::string& text) {
  std::vector<std::string> out;
  rapidjson::Document d;
  d.Parse(text.data(), text.size());
  if (d.HasParseError() || !d.IsArray()) return out;
  for (const auto& v : d.GetArray()) {
    if (v.IsString()) out.emplace_back(v.GetString(), v.GetStringLength());
  }
  return out;
}

void check_change(const incident_change& c) {
  const auto& i = c.incident;
  check_incident(i);
  const std::string at = "incident " + std::to_string(i.id) + ": ";
  if (c.timeline.size() > incident_store::max_entries ||
      c.outbox.size() > incident_store::max_entries) {
    throw error(at + "more than " + std::to_string(incident_store::max_entries) +
                " timeline or outbox entries");
  }
  for (const auto& e : c.timeline) {
    if (e.incident_id != 0 && e.incident_id != i.id)
      throw error(at + "timeline entry names incident " + std::to_string(e.incident_id));
    check_entry(at, e);
  }
  for (const auto& o : c.outbox) {
    if (o.incident_id != 0 && o.incident_id != i.id)
      throw error(at + "outbox row names incident " + std::to_string(o.incident_id));
    check_outbox(at, o);
  }
  if (c.audit) check_audit(*c.audit);
}

// ---- commits -------------------------------------------------------------------------------

// A checked change with its JSON parameters built once: a batch may be sent more than once.
struct commit_params {
  const incident_change* change;
  std::string status, group_labels, escalated, notified, alerts, timeline, outbox, audit;
};

std::size_t parameter_bytes(const commit_params& p) {
  std::size_t bytes = 0;
  for (const auto* json : {&p.group_labels, &p.escalated, &p.notified, &p.alerts, &p.timeline,
                           &p.outbox, &p.audit}) {
    bytes += json->size();
  }
  return bytes;
}

commit_params make_params(const incident_change& c) {
  const auto& i = c.incident;
  commit_params p{&c,
                  std::string(incidents::to_string(i.state)),
                  detail::map_to_json(i.group_labels),
                  escalated_json(i.escalated),
                  strings_json(i.notified_receivers),
                  alerts_json(i.alerts),
                  timeline_json(c.timeline),
                  outbox_json(c.outbox),
                  audit_json(c.audit)};
  if (parameter_bytes(p) > incident_store::max_change_bytes) {
    throw error("incident " + std::to_string(i.id) + ": the change is larger than " +
                std::to_string(incident_store::max_change_bytes) + " bytes");
  }
  return p;
}

enum class commit_outcome { committed, version_conflict, group_conflict };

// Runs one change's statement inside `tx`. A conflict leaves `tx` unusable or holding a
// row that must not stay, so the caller rolls back.
commit_outcome apply_change(pqxx::work& tx, const commit_params& p) {
  const auto& c = *p.change;
  const auto& i = c.incident;
  try {
    const auto written =
        tx.exec_prepared1(commit_name, i.id, i.group_key, i.service, i.title, i.severity,
                          p.status, p.group_labels, i.opened_at_ms, i.updated_at_ms,
                          i.acknowledged_at_ms, i.acknowledged_by, i.resolved_at_ms,
                          i.resolved_by, i.assignee, i.created_by, i.escalation_policy,
                          i.escalation_started_ms, p.escalated, i.reopen_count, p.notified,
                          i.related_to, i.version, c.expect_version, p.alerts, p.timeline,
                          p.outbox, p.audit)[0]
            .as<std::int64_t>();
    return written == 0 ? commit_outcome::version_conflict : commit_outcome::committed;
  } catch (const pqxx::unique_violation& e) {
    // The only unique constraint a commit can hit besides those it resolves itself.
    if (std::string_view(e.what()).find("incidents_open_group") != std::string_view::npos)
      return commit_outcome::group_conflict;
    throw;
  }
}

std::string refusal(const incident_change& c, commit_outcome outcome) {
  const std::string what = "cannot commit incident " + std::to_string(c.incident.id) + ": ";
  if (outcome == commit_outcome::version_conflict)
    return what + "stored version is not " + std::to_string(c.expect_version);
  return what + "group " + clean_text(c.incident.group_key, 256) +
         " already has an unresolved incident";
}

// ---- rows ----------------------------------------------------------------------------------

incidents::incident read_incident(const pqxx::row& row) {
  incidents::incident i;
  i.id = row[0].as<std::int64_t>();
  i.group_key = row[1].as<std::string>();
  i.service = row[2].as<std::string>();
  i.title = row[3].as<std::string>();
  i.severity = row[4].as<std::string>();
  i.state =
      incidents::parse_status(row[5].as<std::string>()).value_or(incidents::status::triggered);
  i.group_labels = detail::map_from_json(row[6].as<std::string>());
  i.opened_at_ms = row[7].as<std::int64_t>();
  i.updated_at_ms = row[8].as<std::int64_t>();
  i.acknowledged_at_ms = row[9].as<std::int64_t>();
  i.acknowledged_by = row[10].as<std::string>();
  i.resolved_at_ms = row[11].as<std::int64_t>();
  i.resolved_by = row[12].as<std::string>();
  i.assignee = row[13].as<std::string>();
  i.created_by = row[14].as<std::string>();
  i.escalation_policy = row[15].as<std::string>();
  i.escalation_started_ms = row[16].as<std::int64_t>();
  i.escalated = escalated_from_json(row[17].as<std::string>());
  i.reopen_count = row[18].as<int>();
  i.notified_receivers = strings_from_json(row[19].as<std::string>());
  i.related_to = row[20].as<std::int64_t>();
  i.version = row[21].as<std::int64_t>();
  return i;
}

// Reads incidents and then their alerts in the same snapshot.
std::vector<incidents::incident> with_alerts(pqxx::transaction_base& tx,
                                             const pqxx::result& rows) {
  std::vector<incidents::incident> out;
  out.reserve(rows.size());
  if (rows.empty()) return out;
  std::string ids = "{";
  for (const auto& row : rows) {
    out.push_back(read_incident(row));
    ids += (ids.size() > 1 ? "," : "") + std::to_string(out.back().id);
  }
  ids += "}";
  std::map<std::int64_t, incidents::incident*> by_id;
  for (auto& i : out) by_id[i.id] = &i;
  for (const auto& row : tx.exec_prepared(alerts_name, ids)) {
    incidents::incident_alert a;
    a.fingerprint = row[1].as<std::string>();
    a.alertname = row[2].as<std::string>();
    a.service = row[3].as<std::string>();
    a.labels = detail::map_from_json(row[4].as<std::string>());
    a.annotations = detail::map_from_json(row[5].as<std::string>());
    a.firing = row[6].as<bool>();
    a.value = row[7].as<double>();
    a.starts_at_ms = row[8].as<std::int64_t>();
    a.ends_at_ms = row[9].as<std::int64_t>();
    a.related = row[10].as<bool>();
    by_id.at(row[0].as<std::int64_t>())->alerts.push_back(std::move(a));
  }
  return out;
}

std::vector<outbox_entry> read_outbox(const pqxx::result& rows) {
  std::vector<outbox_entry> out;
  out.reserve(rows.size());
  for (const auto& row : rows) {
    outbox_entry o;
    o.id = row[0].as<std::int64_t>();
    o.incident_id = row[1].as<std::int64_t>();
    o.receiver = row[2].as<std::string>();
    o.channel = row[3].as<std::string>();
    o.transition = row[4].as<std::string>();
    o.dedup_key = row[5].as<std::string>();
    o.delivery_key = row[6].as<std::string>();
    o.target = row[7].as<std::string>();
    o.body = row[8].as<std::string>();
    o.state = row[9].as<std::string>();
    o.attempts = row[10].as<int>();
    o.created_ms = row[11].as<std::int64_t>();
    o.next_attempt_ms = row[12].as<std::int64_t>();
    o.delivered_ms = row[13].as<std::int64_t>();
    o.last_status = row[14].as<int>();
    o.last_error = row[15].as<std::string>();
    out.push_back(std::move(o));
  }
  return out;
}

std::int64_t capped(std::size_t n, std::size_t max) {
  return static_cast<std::int64_t>(std::min(n, max));
}

// Which outbox update a mark_* call made.
enum class mark_outcome { updated, not_pending, unknown };

}  // namespace

struct incident_store::impl {
  explicit impl(const std::string& url)
      : session(url,
                {{commit_name, commit_sql},
                 {open_name, std::string(incident_columns) +
                                 " WHERE status <> 'resolved' ORDER BY id"},
                 {get_name, std::string(incident_columns) + " WHERE id = $1"},
                 {last_resolved_name,
                  std::string(incident_columns) +
                      " WHERE group_key = $1 AND status = 'resolved'"
                      " AND resolved_at >= to_timestamp($2::bigint::numeric / 1000)"
                      " ORDER BY resolved_at DESC, id DESC LIMIT 1"},
                 {list_name, std::string(incident_columns) + list_filter +
                                 " ORDER BY opened_at DESC, id DESC LIMIT $6 OFFSET $7"},
                 {count_name, std::string("SELECT count(*) FROM incidents") + list_filter},
                 {alerts_name, alerts_sql},
                 {max_id_name, max_id_sql},
                 {timeline_name, timeline_sql},
                 {due_name, std::string(outbox_columns) +
                                " WHERE state = 'pending' AND next_attempt_at <="
                                " to_timestamp($1::bigint::numeric / 1000)"
                                " ORDER BY next_attempt_at, id LIMIT $2"},
                 {next_due_name, next_due_sql},
                 {outbox_for_name,
                  std::string(outbox_columns) + " WHERE incident_id = $1 ORDER BY id"},
                 {outbox_state_name, outbox_state_sql},
                 {delivered_name, delivered_sql},
                 {failed_name, failed_sql},
                 {retry_name, retry_sql},
                 {audit_insert_name, audit_insert_sql},
                 {audit_list_name, audit_list_sql},
                 {audit_count_name, audit_count_sql}}) {}

  // Every change in one transaction (one WAL flush). A refused change is taken out and the
  // rest sent again, so one conflict costs one retry of the batch; conflicts are rare.
  // Outcomes are decided inside the transaction and reported outside it, since session::run
  // turns whatever escapes into a plain persistence::error.
  std::vector<commit_outcome> apply(const std::vector<commit_params>& params) {
    std::vector<commit_outcome> outcomes(params.size(), commit_outcome::committed);
    std::vector<std::size_t> remaining(params.size());
    for (std::size_t k = 0; k < remaining.size(); ++k) remaining[k] = k;
    while (!remaining.empty()) {
      const std::string what =
          remaining.size() == 1
              ? "cannot commit incident " + std::to_string(params[remaining[0]].change->incident.id)
              : "cannot commit " + std::to_string(remaining.size()) + " incident changes";
      using refusal_at = std::optional<std::pair<std::size_t, commit_outcome>>;
      const auto refused = session.run(what, [&](pqxx::connection& conn) -> refusal_at {
        pqxx::work tx(conn);
        for (std::size_t k = 0; k < remaining.size(); ++k) {
          const commit_outcome outcome = apply_change(tx, params[remaining[k]]);
          if (outcome != commit_outcome::committed) return std::pair{k, outcome};
        }
        tx.commit();
        return std::nullopt;
      });
      if (!refused) break;
      outcomes[remaining[refused->first]] = refused->second;
      remaining.erase(remaining.begin() + static_cast<std::ptrdiff_t>(refused->first));
    }
    return outcomes;
  }

  // Runs an outbox update that returns a row when it applied; tells a row that is no longer
  // pending from one that does not exist.
  template <class Update>
  bool mark(const std::string& what, std::int64_t id, Update&& update) {
    const mark_outcome outcome = session.run(what, [&](pqxx::connection& conn) {
      pqxx::work tx(conn);
      const pqxx::result changed = update(tx);
      if (changed.empty()) {
        const bool exists = !tx.exec_prepared(outbox_state_name, id).empty();
        return exists ? mark_outcome::not_pending : mark_outcome::unknown;
      }
      tx.commit();
      return mark_outcome::updated;
    });
    if (outcome == mark_outcome::unknown)
      throw error(what + ": outbox row " + std::to_string(id) + " does not exist");
    return outcome == mark_outcome::updated;
  }

  detail::session session;
};

incident_store::incident_store(std::string url) : impl_(std::make_unique<impl>(url)) {}
incident_store::~incident_store() = default;
incident_store::incident_store(incident_store&&) noexcept = default;
incident_store& incident_store::operator=(incident_store&&) noexcept = default;

void incident_store::commit(const incident_change& c) {
  check_change(c);
  std::vector<commit_params> params;
  params.push_back(make_params(c));
  const commit_outcome outcome = impl_->apply(params).front();
  if (outcome == commit_outcome::version_conflict) throw version_conflict(refusal(c, outcome));
  if (outcome == commit_outcome::group_conflict) throw group_conflict(refusal(c, outcome));
}

std::vector<commit_result> incident_store::commit_batch(
    const std::vector<incident_change>& changes) {
  if (changes.size() > max_batch)
    throw error("a batch of " + std::to_string(changes.size()) + " changes is more than " +
                std::to_string(max_batch));
  std::vector<commit_result> results(changes.size());
  std::vector<commit_params> params;
  std::vector<std::size_t> origin;  // params[k] is changes[origin[k]]
  for (std::size_t n = 0; n < changes.size(); ++n) {
    try {
      check_change(changes[n]);
      params.push_back(make_params(changes[n]));
      origin.push_back(n);
    } catch (const error& e) {
      results[n] = {commit_result::status::invalid, e.what()};
    }
  }
  std::size_t bytes = 0;
  for (const auto& p : params) bytes += parameter_bytes(p);
  if (bytes > max_batch_bytes) {
    throw error("a batch of " + std::to_string(bytes) + " bytes is more than " +
                std::to_string(max_batch_bytes));
  }
  const std::vector<commit_outcome> outcomes = impl_->apply(params);
  for (std::size_t k = 0; k < params.size(); ++k) {
    const incident_change& c = changes[origin[k]];
    if (outcomes[k] == commit_outcome::version_conflict)
      results[origin[k]] = {commit_result::status::version_conflict, refusal(c, outcomes[k])};
    if (outcomes[k] == commit_outcome::group_conflict)
      results[origin[k]] = {commit_result::status::group_conflict, refusal(c, outcomes[k])};
  }
  return results;
}

std::vector<incidents::incident> incident_store::open_incidents() {
  return impl_->session.run("cannot read open incidents", [](pqxx::connection& conn) {
    read_only_snapshot tx(conn);
    return with_alerts(tx, tx.exec_prepared(open_name));
  });
}

std::optional<incidents::incident> incident_store::get(std::int64_t id) {
  return impl_->session.run(
      "cannot read incident " + std::to_string(id),
      [&](pqxx::connection& conn) -> std::optional<incidents::incident> {
        read_only_snapshot tx(conn);
        auto found = with_alerts(tx, tx.exec_prepared(get_name, id));
        if (found.empty()) return std::nullopt;
        return std::move(found.front());
      });
}

std::optional<incidents::incident> incident_store::last_resolved(const std::string& group_key,
                                                                 std::int64_t since_ms) {
  check_text("group_key", group_key);
  since_ms = std::clamp<std::int64_t>(since_ms, 0, max_time_ms);
  return impl_->session.run(
      "cannot read resolved incidents of a group",
      [&](pqxx::connection& conn) -> std::optional<incidents::incident> {
        read_only_snapshot tx(conn);
        auto found = with_alerts(tx, tx.exec_prepared(last_resolved_name, group_key, since_ms));
        if (found.empty()) return std::nullopt;
        return std::move(found.front());
      });
}

incident_page incident_store::list(const incident_query& q) {
  std::string statuses;
  for (const auto& s : q.statuses) {
    check_one_of("status filter", s, {"triggered", "acknowledged", "resolved"});
    statuses += (statuses.empty() ? "" : ",") + s;
  }
  check_text("service filter", q.service);
  check_text("severity filter", q.severity);
  check_time("since_ms", q.since_ms);
  check_time("until_ms", q.until_ms);
  const std::int64_t limit = capped(q.limit, max_page);
  const std::int64_t offset = capped(q.offset, std::numeric_limits<std::int64_t>::max());
  return impl_->session.run("cannot list incidents", [&](pqxx::connection& conn) {
    read_only_snapshot tx(conn);
    incident_page page;
    page.total = tx.exec_prepared1(count_name, statuses, q.service, q.severity, q.since_ms,
                                   q.until_ms)[0]
                     .as<std::size_t>();
    if (limit > 0) {
      page.incidents =
          with_alerts(tx, tx.exec_prepared(list_name, statuses, q.service, q.severity,
                                           q.since_ms, q.until_ms, limit, offset));
    }
    return page;
  });
}

std::vector<incidents::timeline_entry> incident_store::timeline(std::int64_t incident_id,
                                                                std::size_t limit) {
  const std::int64_t n = capped(limit, 10 * max_page);
  return impl_->session.run(
      "cannot read the timeline of incident " + std::to_string(incident_id),
      [&](pqxx::connection& conn) {
        pqxx::read_transaction tx(conn);
        std::vector<incidents::timeline_entry> out;
        for (const auto& row : tx.exec_prepared(timeline_name, incident_id, n)) {
          out.push_back({row[0].as<std::int64_t>(), row[1].as<std::int64_t>(),
                         row[2].as<std::string>(), row[3].as<std::string>(),
                         row[4].as<std::string>(),
                         detail::map_from_json(row[5].as<std::string>())});
        }
        return out;
      });
}

std::int64_t incident_store::max_id() {
  return impl_->session.run("cannot read the largest incident id", [](pqxx::connection& conn) {
    pqxx::read_transaction tx(conn);
    return tx.exec_prepared1(max_id_name)[0].as<std::int64_t>();
  });
}

std::vector<outbox_entry> incident_store::due_outbox(std::int64_t now_ms, std::size_t limit) {
  now_ms = std::clamp<std::int64_t>(now_ms, 0, max_time_ms);
  const std::int64_t n = capped(limit, max_page);
  if (n == 0) return {};
  return impl_->session.run("cannot read due notifications", [&](pqxx::connection& conn) {
    pqxx::read_transaction tx(conn);
    return read_outbox(tx.exec_prepared(due_name, now_ms, n));
  });
}

std::optional<std::int64_t> incident_store::next_outbox_due_ms() {
  return impl_->session.run(
      "cannot read the next notification due",
      [](pqxx::connection& conn) -> std::optional<std::int64_t> {
        pqxx::read_transaction tx(conn);
        const auto rows = tx.exec_prepared(next_due_name);
        if (rows.empty()) return std::nullopt;
        return rows[0][0].as<std::int64_t>();
      });
}

std::vector<outbox_entry> incident_store::outbox_for(std::int64_t incident_id) {
  return impl_->session.run(
      "cannot read the notifications of incident " + std::to_string(incident_id),
      [&](pqxx::connection& conn) {
        pqxx::read_transaction tx(conn);
        return read_outbox(tx.exec_prepared(outbox_for_name, incident_id));
      });
}

bool incident_store::mark_delivered(std::int64_t id, std::int64_t at_ms, int status,
                                    const incidents::timeline_entry& entry) {
  check_time("delivered at_ms", at_ms);
  check_status_code(status);
  check_entry("", entry);
  const std::string detail_json = detail::map_to_json(entry.detail);
  return impl_->mark("cannot mark notification " + std::to_string(id) + " delivered", id,
                     [&](pqxx::work& tx) {
                       return tx.exec_prepared(delivered_name, id, at_ms, status, entry.at_ms,
                                               entry.kind, entry.actor, entry.text, detail_json);
                     });
}

bool incident_store::mark_retry(std::int64_t id, int attempts, std::int64_t next_attempt_ms,
                                int status, const std::string& error) {
  check_attempts(attempts);
  check_time("next_attempt_ms", next_attempt_ms);
  check_status_code(status);
  const std::string cleaned = clean_text(error, max_error_bytes);
  return impl_->mark("cannot schedule a retry of notification " + std::to_string(id), id,
                     [&](pqxx::work& tx) {
                       return tx.exec_prepared(retry_name, id, attempts, next_attempt_ms, status,
                                               cleaned);
                     });
}

bool incident_store::mark_failed(std::int64_t id, int attempts, int status,
                                 const std::string& error,
                                 const incidents::timeline_entry& entry) {
  check_attempts(attempts);
  check_status_code(status);
  check_entry("", entry);
  const std::string cleaned = clean_text(error, max_error_bytes);
  const std::string detail_json = detail::map_to_json(entry.detail);
  return impl_->mark("cannot mark notification " + std::to_string(id) + " failed", id,
                     [&](pqxx::work& tx) {
                       return tx.exec_prepared(failed_name, id, attempts, status, cleaned,
                                               entry.at_ms, entry.kind, entry.actor, entry.text,
                                               detail_json);
                     });
}

void incident_store::audit(const audit_entry& e) {
  check_audit(e);
  const std::string detail_json = detail::map_to_json(e.detail);
  impl_->session.run("cannot append to the audit log", [&](pqxx::connection& conn) {
    pqxx::work tx(conn);
    tx.exec_prepared(audit_insert_name, e.at_ms, e.actor, e.role, e.action, e.target,
                     detail_json);
    tx.commit();
    return 0;
  });
}

std::vector<audit_entry> incident_store::audit_log(std::size_t limit, std::size_t offset,
                                                   std::size_t* total) {
  const std::int64_t n = capped(limit, max_page);
  const std::int64_t skip = capped(offset, std::numeric_limits<std::int64_t>::max());
  return impl_->session.run("cannot read the audit log", [&](pqxx::connection& conn) {
    read_only_snapshot tx(conn);
    if (total != nullptr) *total = tx.exec_prepared1(audit_count_name)[0].as<std::size_t>();
    std::vector<audit_entry> out;
    if (n == 0) return out;
    for (const auto& row : tx.exec_prepared(audit_list_name, n, skip)) {
      out.push_back({row[0].as<std::int64_t>(), row[1].as<std::string>(),
                     row[2].as<std::string>(), row[3].as<std::string>(),
                     row[4].as<std::string>(), detail::map_from_json(row[5].as<std::string>())});
    }
    return out;
  });
}

}  // namespace wk::persistence
