#include "persistence/prediction_store.hpp"

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

constexpr const char* insert_name = "wk_prediction_insert";
constexpr const char* insert_sql =
    "INSERT INTO predictions (prediction, labels, method, seconds_to_threshold, value_at_horizon, at)"
    " VALUES ($1, $2::jsonb, $3, CASE WHEN $7 THEN $4::float8 END, $5,"
    " to_timestamp($6::numeric / 1000))";
constexpr const char* latest_name = "wk_prediction_latest";
constexpr const char* latest_sql =
    "SELECT prediction, labels::text, method, seconds_to_threshold, value_at_horizon,"
    " (extract(epoch from at) * 1000)::bigint FROM ("
    "  SELECT DISTINCT ON (prediction, labels) * FROM predictions"
    "  WHERE ($1 = '' OR prediction = $1) ORDER BY prediction, labels, at DESC, id DESC) newest"
    " ORDER BY seconds_to_threshold ASC NULLS LAST, prediction LIMIT $2";

}  // namespace

struct prediction_store::impl {
  explicit impl(const std::string& url)
      : session(url, {{insert_name, insert_sql}, {latest_name, latest_sql}}) {}
  detail::session session;
};

prediction_store::prediction_store(std::string url) : impl_(std::make_unique<impl>(url)) {}
prediction_store::~prediction_store() = default;
prediction_store::prediction_store(prediction_store&&) noexcept = default;
prediction_store& prediction_store::operator=(prediction_store&&) noexcept = default;

void prediction_store::record(const std::vector<prediction_row>& rows) {
  if (rows.empty()) return;
  for (const auto& r : rows) {
    for (const auto* text : {&r.prediction, &r.method}) {
      if (std::string why = text_problem(*text); !why.empty()) throw error("prediction field " + why);
    }
    for (const auto& [k, v] : r.labels) {
      if (!text_problem(k).empty() || !text_problem(v).empty())
        throw error("prediction label is not valid UTF-8 text");
    }
    if (!std::isfinite(r.value_at_horizon) ||
        (r.seconds_to_threshold && !std::isfinite(*r.seconds_to_threshold)))
      throw error("prediction values must be finite");
  }
  impl_->session.run("cannot record predictions", [&](pqxx::connection& conn) {
    pqxx::work tx(conn);
    for (const auto& r : rows)
      tx.exec_prepared(insert_name, r.prediction, detail::map_to_json(r.labels), r.method,
                       r.seconds_to_threshold.value_or(0.0), r.value_at_horizon, r.at_ms,
                       r.seconds_to_threshold.has_value());
    tx.commit();
    return 0;
  });
}

std::vector<prediction_row> prediction_store::latest(const std::string& prediction,
                                                     std::size_t limit) {
  const auto capped = static_cast<std::int64_t>(std::min(limit, max_rows));
  return impl_->session.run("cannot read predictions", [&](pqxx::connection& conn) {
    pqxx::read_transaction tx(conn);
    std::vector<prediction_row> out;
    for (const auto& row : tx.exec_prepared(latest_name, prediction, capped)) {
      prediction_row r;
      r.prediction = row[0].as<std::string>();
      r.labels = detail::map_from_json(row[1].as<std::string>());
      r.method = row[2].as<std::string>();
      if (!row[3].is_null()) r.seconds_to_threshold = row[3].as<double>();
      r.value_at_horizon = row[4].as<double>();
      r.at_ms = row[5].as<std::int64_t>();
      out.push_back(std::move(r));
    }
    return out;
  });
}

}  // namespace wk::persistence
