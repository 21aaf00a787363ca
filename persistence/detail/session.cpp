#include "persistence/detail/session.hpp"

#include "persistence/detail/message.hpp"

#include <pqxx/except>

namespace wk::persistence::detail {

failure classify(std::exception_ptr exception) {
  try {
    std::rethrow_exception(exception);
  } catch (const error& e) {
    return {e.what(), false, false};
  } catch (const pqxx::in_doubt_error& e) {
    return {"connection lost during commit, outcome unknown: " + one_line(e.what()), true, false};
  } catch (const pqxx::broken_connection& e) {
    return {"connection lost: " + one_line(e.what()), true, true};
  } catch (const pqxx::sql_error& e) {
    // Class 08 (connection exception) and 57P (server shutting down or restarting) kill the
    // session; the transaction was rolled back with it.
    const std::string& state = e.sqlstate();
    const bool lost = state.compare(0, 2, "08") == 0 || state.compare(0, 3, "57P") == 0;
    return {one_line(e.what()), lost, lost};
  } catch (const std::exception& e) {
    return {one_line(e.what()), true, false};
  } catch (...) {
    return {"unknown failure", true, false};
  }
}

session::session(const std::string& url, statement_list statements)
    : info_(parse_conninfo(url, default_connection_options())),
      statements_(std::move(statements)) {}

pqxx::connection& session::connection() {
  if (conn_) return *conn_;
  std::unique_ptr<pqxx::connection> conn;
  try {
    conn = std::make_unique<pqxx::connection>(info_.connect_string);
  } catch (const std::exception& e) {
    throw error("cannot connect to " + info_.display + ": " + one_line(e.what()));
  }
  try {
    for (const auto& [name, sql] : statements_) {
      conn->prepare(name, sql);
      conn->prepare_now(name);
    }
  } catch (const std::exception& e) {
    throw error("cannot prepare statements on " + info_.display +
                " (are the migrations applied?): " + one_line(e.what()));
  }
  conn_ = std::move(conn);
  return *conn_;
}

void session::reset() noexcept { conn_.reset(); }

}  // namespace wk::persistence::detail
