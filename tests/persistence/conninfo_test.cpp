#include "persistence/conninfo.hpp"
#include "persistence/database.hpp"
#include "persistence/error.hpp"

#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>

namespace wp = wk::persistence;

namespace {

// A TCP socket on 127.0.0.1 with a kernel-chosen port; listening when asked.
class local_socket {
 public:
  explicit local_socket(bool listening) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    REQUIRE(fd_ >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    socklen_t len = sizeof addr;
    REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    port_ = ntohs(addr.sin_port);
    if (listening) REQUIRE(::listen(fd_, 16) == 0);
  }
  ~local_socket() { ::close(fd_); }
  int port() const { return port_; }

 private:
  int fd_;
  int port_ = 0;
};

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

TEST_CASE("parse_conninfo fills defaults, keeps explicit options and hides the password") {
  const auto info =
      wp::parse_conninfo("postgresql://wk:s3cr%27t@db.example:6543/metrics?connect_timeout=9",
                         wp::default_connection_options());
  CHECK(info.display == "wk@db.example:6543/metrics");
  CHECK_FALSE(contains(info.display, "s3cr"));
  CHECK(contains(info.connect_string, "password='s3cr\\'t'"));
  CHECK(contains(info.connect_string, "connect_timeout='9'"));
  CHECK_FALSE(contains(info.connect_string, "connect_timeout='5'"));
  CHECK(contains(info.connect_string, "application_name='watchkeeper'"));
  CHECK(contains(info.connect_string, "keepalives='1'"));

  const auto overridden =
      wp::parse_conninfo("postgresql://h/db?connect_timeout=9", wp::default_connection_options(),
                         {{"connect_timeout", "2"}});
  CHECK(contains(overridden.connect_string, "connect_timeout='2'"));
  CHECK_FALSE(contains(overridden.connect_string, "connect_timeout='9'"));
}

TEST_CASE("parse_conninfo accepts key=value strings and URLs without a database") {
  const auto kv = wp::parse_conninfo("host=127.0.0.1 port=5433 user=postgres dbname=wk", {});
  CHECK(kv.display == "postgres@127.0.0.1:5433/wk");

  // libpq's rule, as in psql: no database name means the user's name.
  const auto no_db = wp::parse_conninfo("postgresql://postgres@127.0.0.1:5433", {});
  CHECK(no_db.display == "postgres@127.0.0.1:5433/postgres");
  CHECK_FALSE(contains(no_db.connect_string, "dbname"));
  CHECK(wp::parse_conninfo("postgresql://127.0.0.1:5433/", {}).display == "127.0.0.1:5433/");
}

TEST_CASE("with_database swaps the database and keeps everything else") {
  const std::string url = "postgresql://wk:pw@10.0.0.1:5433/watchkeeper?sslmode=disable";
  const std::string other = wp::with_database(url, "wk_test_1");
  CHECK(wp::describe(other) == "wk@10.0.0.1:5433/wk_test_1");
  CHECK(contains(other, "sslmode='disable'"));
  CHECK(contains(other, "password='pw'"));
  CHECK(wp::describe(wp::with_database("postgresql://u@h:1", "x")) == "u@h:1/x");
  CHECK(wp::describe(wp::with_database("host=h user=u", "it's")) == "u@h/it's");
}

TEST_CASE("malformed URLs are rejected with a clear error") {
  CHECK_THROWS_WITH_AS(wp::parse_conninfo("postgresql://h/db?no_such_option=1", {}),
                       doctest::Contains("invalid database URL"), wp::error);
  CHECK_THROWS_WITH_AS(wp::parse_conninfo("host=h bogus", {}),
                       doctest::Contains("invalid database URL"), wp::error);
  CHECK_THROWS_WITH_AS(wp::parse_conninfo("host=h", {{"no_such_option", "1"}}),
                       doctest::Contains("unknown connection option \"no_such_option\""),
                       wp::error);
  CHECK(wp::describe("host=h bogus") == "(invalid database URL)");
}

TEST_CASE("ping fails fast and says why when nothing listens") {
  int port = 0;
  {
    const local_socket probe(false);
    port = probe.port();
  }
  const std::string url = "postgresql://wk:s3cret@127.0.0.1:" + std::to_string(port) + "/db";
  std::string error;
  const auto start = std::chrono::steady_clock::now();
  CHECK_FALSE(wp::ping(url, &error));
  CHECK(seconds_since(start) < 2.5);
  CHECK(contains(error, "cannot reach wk@127.0.0.1:" + std::to_string(port) + "/db"));
  CHECK(contains(error, "refused"));
  CHECK_FALSE(contains(error, "s3cret"));
  CHECK_FALSE(wp::ping(url));  // the error pointer is optional
}

TEST_CASE("ping gives up after 2 s on a server that accepts and never answers") {
  const local_socket silent(true);
  std::string error;
  const auto start = std::chrono::steady_clock::now();
  CHECK_FALSE(
      wp::ping("postgresql://postgres@127.0.0.1:" + std::to_string(silent.port()) + "/db", &error));
  const double took = seconds_since(start);
  CHECK(took >= 1.9);
  CHECK(took < 3.0);
  CHECK(contains(error, "timed out"));
}

TEST_CASE("ping reports a malformed URL instead of throwing") {
  std::string error;
  CHECK_FALSE(wp::ping("host=h bogus", &error));
  CHECK(contains(error, "invalid database URL"));
}
