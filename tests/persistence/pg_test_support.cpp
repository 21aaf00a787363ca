#include "tests/persistence/pg_test_support.hpp"

#include "persistence/conninfo.hpp"

#include <libpq-fe.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <stdexcept>
#include <utility>

namespace wk::persistence::test {

std::string required_env(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') {
    throw std::runtime_error(
        std::string(name) +
        " is not set. Start a throw-away server and export its URL, e.g.\n"
        "  scripts/pg_cluster.sh start build-persist/pg 55433 --fast\n"
        "  export WK_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:55433/watchkeeper\n"
        "  export WK_TEST_PG_DIR=build-persist/pg WK_TEST_PG_PORT=55433  # outage tests");
  }
  return value;
}

std::string server_url() { return required_env("WK_TEST_DATABASE_URL"); }

sql_client::sql_client(const std::string& url) : conn_(PQconnectdb(url.c_str())) {
  if (conn_ == nullptr || PQstatus(conn_) != CONNECTION_OK) {
    const std::string why = conn_ ? PQerrorMessage(conn_) : "out of memory";
    PQfinish(conn_);
    throw std::runtime_error("test connection to " + describe(url) + " failed: " + why);
  }
}

sql_client::~sql_client() { PQfinish(conn_); }

std::vector<std::vector<std::string>> sql_client::query(const std::string& sql) {
  const std::unique_ptr<PGresult, decltype(&PQclear)> result(PQexec(conn_, sql.c_str()), &PQclear);
  const ExecStatusType status = PQresultStatus(result.get());
  if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
    throw std::runtime_error("test query failed: " + sql + ": " + PQerrorMessage(conn_));
  }
  std::vector<std::vector<std::string>> rows;
  for (int r = 0; r < PQntuples(result.get()); ++r) {
    auto& row = rows.emplace_back();
    for (int c = 0; c < PQnfields(result.get()); ++c) {
      row.emplace_back(PQgetvalue(result.get(), r, c),
                       static_cast<std::size_t>(PQgetlength(result.get(), r, c)));
    }
  }
  return rows;
}

std::string sql_client::scalar(const std::string& sql) {
  const auto rows = query(sql);
  if (rows.size() != 1 || rows[0].size() != 1) {
    throw std::runtime_error("test query did not return one value: " + sql);
  }
  return rows[0][0];
}

scratch_database::scratch_database() : scratch_database(server_url()) {}

std::string unique_name() {
  std::random_device random;
  char suffix[17];
  std::snprintf(suffix, sizeof suffix, "%08x%08x", random(), random());
  return std::string("wk_test_") + suffix;
}

scratch_database::scratch_database(std::string server)
    : server_(std::move(server)), name_(unique_name()) {
  sql_client(server_).exec("CREATE DATABASE " + name_);
  url_ = with_database(server_, name_);
}

scratch_database::~scratch_database() {
  try {
    sql_client(server_).exec("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "warning: could not drop scratch database %s: %s\n", name_.c_str(),
                 e.what());
  }
}

std::vector<std::vector<std::string>> scratch_database::query(const std::string& sql) const {
  return sql_client(url_).query(sql);
}

std::string scratch_database::scalar(const std::string& sql) const {
  return sql_client(url_).scalar(sql);
}

void scratch_database::terminate_other_sessions() const {
  sql_client(server_).exec(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" + name_ + "'");
  // pg_terminate_backend only signals; wait until the sessions are really gone.
  sql_client server(server_);
  for (int i = 0; i < 500; ++i) {
    if (server.scalar("SELECT count(*) FROM pg_stat_activity WHERE datname = '" + name_ + "'") ==
        "0") {
      return;
    }
    server.exec("SELECT pg_sleep(0.01)");
  }
  throw std::runtime_error("sessions of " + name_ + " did not end");
}

}  // namespace wk::persistence::test
