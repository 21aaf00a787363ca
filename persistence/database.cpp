#include "persistence/database.hpp"

#include "persistence/conninfo.hpp"
#include "persistence/detail/message.hpp"
#include "persistence/error.hpp"

#include <libpq-fe.h>
#include <poll.h>

#include <cerrno>
#include <chrono>
#include <memory>

namespace wk::persistence {
namespace {

using clock = std::chrono::steady_clock;
constexpr std::chrono::milliseconds ping_budget{2000};

struct conn_deleter {
  void operator()(PGconn* conn) const { PQfinish(conn); }
};
struct result_deleter {
  void operator()(PGresult* result) const { PQclear(result); }
};

std::string libpq_message(const PGconn* conn) { return detail::one_line(PQerrorMessage(conn)); }

// Waits until the connection's socket is ready for `events` or the deadline passes.
bool wait_socket(const PGconn* conn, short events, clock::time_point deadline) {
  pollfd fd{PQsocket(conn), events, 0};
  if (fd.fd < 0) throw error("connection has no socket");
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now()).count();
    if (left <= 0) return false;
    const int ready = ::poll(&fd, 1, static_cast<int>(left));
    if (ready > 0) return true;
    if (ready < 0 && errno != EINTR) throw error("poll failed");
  }
}

// libpq's non-blocking API, so the whole probe honours one deadline even against a server
// that accepts TCP connections and then never answers.
void probe(const conninfo& info) {
  const auto deadline = clock::now() + ping_budget;
  const std::unique_ptr<PGconn, conn_deleter> conn(PQconnectStart(info.connect_string.c_str()));
  if (!conn) throw error("out of memory");
  if (PQstatus(conn.get()) == CONNECTION_BAD) throw error(libpq_message(conn.get()));

  for (PostgresPollingStatusType state = PGRES_POLLING_WRITING; state != PGRES_POLLING_OK;) {
    if (state == PGRES_POLLING_FAILED) throw error(libpq_message(conn.get()));
    const short events = state == PGRES_POLLING_READING ? POLLIN : POLLOUT;
    if (!wait_socket(conn.get(), events, deadline)) throw error("timed out connecting");
    state = PQconnectPoll(conn.get());
  }

  if (PQsetnonblocking(conn.get(), 1) != 0 || PQsendQuery(conn.get(), "select 1") == 0) {
    throw error(libpq_message(conn.get()));
  }
  for (int pending = PQflush(conn.get()); pending != 0; pending = PQflush(conn.get())) {
    if (pending < 0) throw error(libpq_message(conn.get()));
    if (!wait_socket(conn.get(), POLLOUT, deadline)) throw error("timed out sending the query");
  }

  bool answered = false;
  for (;;) {
    if (PQconsumeInput(conn.get()) == 0) throw error(libpq_message(conn.get()));
    if (PQisBusy(conn.get())) {
      if (!wait_socket(conn.get(), POLLIN, deadline)) throw error("timed out waiting for select 1");
      continue;
    }
    const std::unique_ptr<PGresult, result_deleter> result(PQgetResult(conn.get()));
    if (!result) break;
    if (PQresultStatus(result.get()) != PGRES_TUPLES_OK) {
      throw error(detail::one_line(PQresultErrorMessage(result.get())));
    }
    answered = PQntuples(result.get()) == 1 && std::string(PQgetvalue(result.get(), 0, 0)) == "1";
  }
  if (!answered) throw error("select 1 returned an unexpected result");
}

}  // namespace

bool ping(const std::string& url, std::string* error_message) {
  std::string target = "database";
  try {
    const conninfo info =
        parse_conninfo(url, default_connection_options(), {{"connect_timeout", "2"}});
    target = info.display;
    probe(info);
    return true;
  } catch (const std::exception& e) {
    if (error_message) *error_message = "cannot reach " + target + ": " + e.what();
  } catch (...) {
    if (error_message) *error_message = "cannot reach " + target + ": unknown failure";
  }
  return false;
}

}  // namespace wk::persistence
