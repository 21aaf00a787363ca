#pragma once

// Test-side access to PostgreSQL through plain libpq, to set up scratch databases and to
// check what the library wrote without going through the library itself.

#include <string>
#include <vector>

struct pg_conn;  // libpq's PGconn, declared as libpq-fe.h does

namespace wk::persistence::test {

// The value of environment variable `name`; throws std::runtime_error explaining how to
// provide it when unset, so the test fails loudly instead of skipping.
std::string required_env(const char* name);

// WK_TEST_DATABASE_URL.
std::string server_url();

// wk_test_<16 random hex digits>: a database or role name no other test uses.
std::string unique_name();

// A synchronous libpq connection.
class sql_client {
 public:
  explicit sql_client(const std::string& url);
  ~sql_client();
  sql_client(const sql_client&) = delete;
  sql_client& operator=(const sql_client&) = delete;

  // Rows of text values (NULL as ""); throws std::runtime_error on any error.
  std::vector<std::vector<std::string>> query(const std::string& sql);
  std::string scalar(const std::string& sql);
  void exec(const std::string& sql) { query(sql); }

 private:
  pg_conn* conn_;
};

// CREATE DATABASE wk_test_<random> on a server; dropped (WITH FORCE) on destruction,
// so tests can run in parallel without seeing each other's rows.
class scratch_database {
 public:
  scratch_database();  // on the server of WK_TEST_DATABASE_URL
  explicit scratch_database(std::string server);
  ~scratch_database();
  scratch_database(const scratch_database&) = delete;
  scratch_database& operator=(const scratch_database&) = delete;

  const std::string& name() const { return name_; }
  const std::string& url() const { return url_; }  // connection string for the scratch database
  // Runs one statement in the scratch database on a fresh connection.
  std::vector<std::vector<std::string>> query(const std::string& sql) const;
  std::string scalar(const std::string& sql) const;
  // Ends every other session connected to the scratch database (a server-side disconnect).
  void terminate_other_sessions() const;

 private:
  std::string server_;
  std::string name_;
  std::string url_;
};

}  // namespace wk::persistence::test
