#include "persistence/alert_store.hpp"

#include "persistence/detail/json_map.hpp"
#include "persistence/detail/session.hpp"
#include "persistence/error.hpp"
#include "persistence/text_check.hpp"

#include <pqxx/result>
#include <pqxx/transaction>

#include <algorithm>
#include <cmath>

namespace wk::persistence {
namespace {

// Millisecond times as timestamptz, 0 meaning NULL.
#define WK_TS(n) "to_timestamp(nullif($" #n "::bigint, 0)::numeric / 1000)"
#define WK_MS(col) "coalesce((extract(epoch from " col ") * 1000)::bigint, 0)"

constexpr const char* history_insert_name = "wk_alert_history_insert";
constexpr const char* history_insert_sql =
    "INSERT INTO alert_history (fingerprint, scope, rule_group, rule_name, service, labels,"
    " annotations, from_state, to_state, value, active_at, fired_at, resolved_at, at)"
    " VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7::jsonb, $8, $9, $10, " WK_TS(11) ", " WK_TS(12)
    ", " WK_TS(13) ", " WK_TS(14) ")";
constexpr const char* current_upsert_name = "wk_alert_current_upsert";
constexpr const char* current_upsert_sql =
    "INSERT INTO alerts_current (fingerprint, scope, rule_group, rule_name, service, labels,"
    " annotations, state, value, active_at, fired_at, keep_firing_since, updated_at)"
    " VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7::jsonb, $8, $9, " WK_TS(10) ", " WK_TS(11) ", "
    WK_TS(12) ", " WK_TS(13) ")"
    " ON CONFLICT (fingerprint) DO UPDATE SET labels = excluded.labels,"
    " annotations = excluded.annotations, state = excluded.state, value = excluded.value,"
    " active_at = excluded.active_at, fired_at = excluded.fired_at,"
    " keep_firing_since = excluded.keep_firing_since, updated_at = excluded.updated_at"
    " WHERE alerts_current.updated_at <= excluded.updated_at";
constexpr const char* current_delete_name = "wk_alert_current_delete";
constexpr const char* current_delete_sql =
    "DELETE FROM alerts_current WHERE fingerprint = $1 AND updated_at <= " WK_TS(2);
constexpr const char* current_columns =
    "SELECT fingerprint, scope, rule_group, rule_name, service, labels::text, annotations::text,"
    " '' , state, value, " WK_MS("active_at") ", " WK_MS("fired_at") ", 0, "
    WK_MS("keep_firing_since") ", " WK_MS("updated_at") " FROM alerts_current";
constexpr const char* current_scope_name = "wk_alert_current_scope";
constexpr const char* all_current_name = "wk_alert_current_all";
constexpr const char* history_name = "wk_alert_history";
constexpr const char* history_sql =
    "SELECT fingerprint, scope, rule_group, rule_name, service, labels::text, annotations::text,"
    " from_state, to_state, value, " WK_MS("active_at") ", " WK_MS("fired_at") ", "
    WK_MS("resolved_at") ", 0, " WK_MS("at") " FROM alert_history"
    " WHERE ($1 = '' OR service = $1) AND ($2 = '' OR to_state = $2)"
    " AND ($3::bigint = 0 OR at >= " WK_TS(3) ") ORDER BY at DESC, id DESC LIMIT $4";

#undef WK_TS
#undef WK_MS

void check_row(const alert_row& r) {
  for (const auto* text : {&r.fingerprint, &r.scope, &r.rule_group, &r.rule_name, &r.service,
                           &r.from_state, &r.to_state}) {
    if (std::string why = text_problem(*text); !why.empty()) throw error("alert field " + why);
  }
  if (r.fingerprint.empty() || r.rule_name.empty()) throw error("alert without fingerprint or rule");
  if (r.to_state != "pending" && r.to_state != "firing" && r.to_state != "inactive")
    throw error("alert state must be pending, firing or inactive, not " + r.to_state);
  for (const auto* m : {&r.labels, &r.annotations}) {
    for (const auto& [k, v] : *m) {
      if (!text_problem(k).empty() || !text_problem(v).empty())
        throw error("alert label or annotation is not valid UTF-8 text");
    }
  }
}

std::vector<alert_row> read_rows(const pqxx::result& rows) {
  std::vector<alert_row> out;
  out.reserve(rows.size());
  for (const auto& row : rows) {
    alert_row a;
    a.fingerprint = row[0].as<std::string>();
    a.scope = row[1].as<std::string>();
    a.rule_group = row[2].as<std::string>();
    a.rule_name = row[3].as<std::string>();
    a.service = row[4].as<std::string>();
    a.labels = detail::map_from_json(row[5].as<std::string>());
    a.annotations = detail::map_from_json(row[6].as<std::string>());
    a.from_state = row[7].as<std::string>();
    a.to_state = row[8].as<std::string>();
    a.value = row[9].as<double>();
    a.active_at_ms = row[10].as<std::int64_t>();
    a.fired_at_ms = row[11].as<std::int64_t>();
    a.resolved_at_ms = row[12].as<std::int64_t>();
    a.keep_firing_since_ms = row[13].as<std::int64_t>();
    a.at_ms = row[14].as<std::int64_t>();
    out.push_back(std::move(a));
  }
  return out;
}

}  // namespace

struct alert_store::impl {
  explicit impl(const std::string& url)
      : session(url, {{history_insert_name, history_insert_sql},
                      {current_upsert_name, current_upsert_sql},
                      {current_delete_name, current_delete_sql},
                      {current_scope_name, std::string(current_columns) +
                                             " WHERE scope = $1 ORDER BY active_at DESC"},
                      {all_current_name, std::string(current_columns) +
                                           " ORDER BY active_at DESC LIMIT 10000"},
                      {history_name, history_sql}}) {}
  detail::session session;
};

alert_store::alert_store(std::string url) : impl_(std::make_unique<impl>(url)) {}
alert_store::~alert_store() = default;
alert_store::alert_store(alert_store&&) noexcept = default;
alert_store& alert_store::operator=(alert_store&&) noexcept = default;

void alert_store::record(const std::vector<alert_row>& transitions) {
  if (transitions.empty()) return;
  for (const auto& r : transitions) check_row(r);
  impl_->session.run("cannot record alert transitions", [&](pqxx::connection& conn) {
    pqxx::work tx(conn);
    for (const auto& r : transitions) {
      const std::string labels = detail::map_to_json(r.labels);
      const std::string annotations = detail::map_to_json(r.annotations);
      tx.exec_prepared(history_insert_name, r.fingerprint, r.scope, r.rule_group, r.rule_name,
                       r.service, labels, annotations, r.from_state, r.to_state, r.value,
                       r.active_at_ms, r.fired_at_ms, r.resolved_at_ms, r.at_ms);
      if (r.to_state == "inactive") {
        tx.exec_prepared(current_delete_name, r.fingerprint, r.at_ms);
      } else {
        tx.exec_prepared(current_upsert_name, r.fingerprint, r.scope, r.rule_group, r.rule_name,
                         r.service, labels, annotations, r.to_state, r.value, r.active_at_ms,
                         r.fired_at_ms, r.keep_firing_since_ms, r.at_ms);
      }
    }
    tx.commit();
    return 0;
  });
}

std::vector<alert_row> alert_store::current(const std::string& scope) {
  return impl_->session.run("cannot read current alerts", [&](pqxx::connection& conn) {
    pqxx::read_transaction tx(conn);
    return read_rows(tx.exec_prepared(current_scope_name, scope));
  });
}

std::vector<alert_row> alert_store::all_current() {
  return impl_->session.run("cannot read current alerts", [&](pqxx::connection& conn) {
    pqxx::read_transaction tx(conn);
    return read_rows(tx.exec_prepared(all_current_name));
  });
}

std::vector<alert_row> alert_store::history(const alert_query& q) {
  const auto limit = static_cast<std::int64_t>(std::min(q.limit, max_rows));
  return impl_->session.run("cannot read alert history", [&](pqxx::connection& conn) {
    pqxx::read_transaction tx(conn);
    return read_rows(tx.exec_prepared(history_name, q.service, q.state, q.since_ms, limit));
  });
}

}  // namespace wk::persistence
