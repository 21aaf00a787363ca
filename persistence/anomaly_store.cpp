#include "persistence/anomaly_store.hpp"

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

constexpr const char* insert_name = "wk_anomaly_insert";
constexpr const char* insert_sql =
    "INSERT INTO anomalies (service, metric, labels, value, score, at)"
    " VALUES ($1, $2, $3::jsonb, $4, $5, to_timestamp($6::numeric / 1000))";
constexpr const char* list_name = "wk_anomaly_list";
constexpr const char* list_sql =
    "SELECT service, metric, labels::text, value, score, (extract(epoch from at) * 1000)::bigint"
    " FROM anomalies WHERE ($1 = '' OR service = $1)"
    " AND ($2::bigint = 0 OR at >= to_timestamp($2::numeric / 1000))"
    " ORDER BY at DESC, id DESC LIMIT $3";

}  // namespace

struct anomaly_store::impl {
  explicit impl(const std::string& url)
      : session(url, {{insert_name, insert_sql}, {list_name, list_sql}}) {}
  detail::session session;
};

anomaly_store::anomaly_store(std::string url) : impl_(std::make_unique<impl>(url)) {}
anomaly_store::~anomaly_store() = default;
anomaly_store::anomaly_store(anomaly_store&&) noexcept = default;
anomaly_store& anomaly_store::operator=(anomaly_store&&) noexcept = default;

void anomaly_store::record(const std::vector<anomaly_row>& rows) {
  if (rows.empty()) return;
  for (const auto& r : rows) {
    for (const auto* text : {&r.service, &r.metric}) {
      if (std::string why = text_problem(*text); !why.empty()) throw error("anomaly field " + why);
    }
    for (const auto& [k, v] : r.labels) {
      if (!text_problem(k).empty() || !text_problem(v).empty())
        throw error("anomaly label is not valid UTF-8 text");
    }
    if (!std::isfinite(r.value) || !(r.score >= 0 && r.score <= 1))
      throw error("anomaly value must be finite and score within [0, 1]");
  }
  impl_->session.run("cannot record anomalies", [&](pqxx::connection& conn) {
    pqxx::work tx(conn);
    for (const auto& r : rows)
      tx.exec_prepared(insert_name, r.service, r.metric, detail::map_to_json(r.labels), r.value, r.score, r.at_ms);
    tx.commit();
    return 0;
  });
}

std::vector<anomaly_row> anomaly_store::list(const std::string& service, std::int64_t since_ms,
                                             std::size_t limit) {
  const auto capped = static_cast<std::int64_t>(std::min(limit, max_rows));
  return impl_->session.run("cannot read anomalies", [&](pqxx::connection& conn) {
    pqxx::read_transaction tx(conn);
    std::vector<anomaly_row> out;
    for (const auto& row : tx.exec_prepared(list_name, service, since_ms, capped)) {
      out.push_back({row[0].as<std::string>(), row[1].as<std::string>(),
                     detail::map_from_json(row[2].as<std::string>()), row[3].as<double>(), row[4].as<double>(),
                     row[5].as<std::int64_t>()});
    }
    return out;
  });
}

}  // namespace wk::persistence
