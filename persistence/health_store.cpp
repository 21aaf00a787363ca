#include "persistence/health_store.hpp"

#include "persistence/detail/session.hpp"
#include "persistence/error.hpp"
#include "persistence/text_check.hpp"

#include <pqxx/result>
#include <pqxx/transaction>

#include <algorithm>
#include <cmath>

namespace wk::persistence {
namespace {

// History row and current state in one statement (one round trip). at_ms becomes a
// timestamptz through numeric, exact to the millisecond for centuries around 1970.
constexpr const char* record_name = "wk_health_record";
constexpr const char* record_sql =
    "WITH t AS ("
    "  INSERT INTO health_transitions"
    "  (service, check_name, from_state, to_state, reason, latency_ms, at)"
    "  VALUES ($1, $2, $3, $4, $5, $6, to_timestamp($7::numeric / 1000))"
    "  RETURNING id, service, check_name, to_state, reason, at),"
    " c AS ("
    "  INSERT INTO health_current (service, check_name, state, since, reason, transition_id)"
    "  SELECT service, check_name, to_state, at, reason, id FROM t"
    "  ON CONFLICT (service, check_name) DO UPDATE"
    "  SET state = excluded.state, since = excluded.since, reason = excluded.reason,"
    "  transition_id = excluded.transition_id"
    "  WHERE health_current.since <= excluded.since)"
    " SELECT id FROM t";
constexpr const char* history_name = "wk_health_history";
constexpr const char* history_sql =
    "SELECT service, check_name, from_state, to_state, reason, latency_ms,"
    " (extract(epoch from at) * 1000)::bigint"
    " FROM health_transitions WHERE service = $1 ORDER BY at DESC, id DESC LIMIT $2";
constexpr const char* current_name = "wk_health_current";
constexpr const char* current_sql =
    "SELECT c.service, c.check_name, coalesce(t.from_state, ''), c.state, c.reason,"
    " coalesce(t.latency_ms, 0), (extract(epoch from c.since) * 1000)::bigint"
    " FROM health_current c LEFT JOIN health_transitions t ON t.id = c.transition_id"
    " ORDER BY c.service, c.check_name";

void check_text(const char* field, const std::string& value, bool required) {
  if (required && value.empty()) throw error(std::string(field) + " is empty");
  if (value.size() > health_store::max_text_bytes) {
    throw error(std::string(field) + " is longer than " +
                std::to_string(health_store::max_text_bytes) + " bytes");
  }
  if (std::string why = text_problem(value); !why.empty()) {
    throw error(std::string(field) + " " + why);
  }
}

std::vector<health_transition> read_transitions(const pqxx::result& rows) {
  std::vector<health_transition> out;
  out.reserve(rows.size());
  for (const auto& row : rows) {
    out.push_back({row[0].as<std::string>(), row[1].as<std::string>(), row[2].as<std::string>(),
                   row[3].as<std::string>(), row[4].as<std::string>(), row[5].as<double>(),
                   row[6].as<std::int64_t>()});
  }
  return out;
}

}  // namespace

struct health_store::impl {
  explicit impl(const std::string& url)
      : session(url, {{record_name, record_sql},
                      {history_name, history_sql},
                      {current_name, current_sql}}) {}
  detail::session session;
};

health_store::health_store(std::string url) : impl_(std::make_unique<impl>(url)) {}
health_store::~health_store() = default;
health_store::health_store(health_store&&) noexcept = default;
health_store& health_store::operator=(health_store&&) noexcept = default;

std::int64_t health_store::record(const health_transition& t) {
  check_text("service", t.service, true);
  check_text("check_name", t.check_name, true);
  check_text("from_state", t.from_state, false);
  check_text("to_state", t.to_state, true);
  check_text("reason", t.reason, false);
  if (!std::isfinite(t.latency_ms)) throw error("latency_ms is not a finite number");
  return impl_->session.run(
      "cannot record health of " + t.service + "/" + t.check_name, [&](pqxx::connection& conn) {
        pqxx::work tx(conn);
        const auto id = tx.exec_prepared1(record_name, t.service, t.check_name, t.from_state,
                                          t.to_state, t.reason, t.latency_ms, t.at_ms)[0]
                            .as<std::int64_t>();
        tx.commit();
        return id;
      });
}

std::vector<health_transition> health_store::history(const std::string& service,
                                                     std::size_t limit) {
  check_text("service", service, true);
  const auto capped = static_cast<std::int64_t>(std::min(limit, max_history));
  if (capped == 0) return {};
  return impl_->session.run(
      "cannot read health history of " + service, [&](pqxx::connection& conn) {
        pqxx::read_transaction tx(conn);
        return read_transitions(tx.exec_prepared(history_name, service, capped));
      });
}

std::vector<health_transition> health_store::current() {
  return impl_->session.run("cannot read current health", [](pqxx::connection& conn) {
    pqxx::read_transaction tx(conn);
    return read_transitions(tx.exec_prepared(current_name));
  });
}

}  // namespace wk::persistence
