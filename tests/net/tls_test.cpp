#include <doctest/doctest.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <string>

#include "net/http_fetcher.hpp"
#include "tests/net/target_process.hpp"

namespace {

using namespace std::chrono_literals;
using wk::net::fetch_request;
using wk::net::fetch_result;
using wk::net::http_fetcher;
using wk::net::test::fetch_sync;
using wk::net::test::target_process;
using wk::net::test::temp_dir;

constexpr std::int64_t thirty_days = 30 * 86400;

// A self-signed certificate for 127.0.0.1 valid for 30 days from now.
void make_certificate(const std::string& cert, const std::string& key) {
  const std::string command =
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30"
      " -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -keyout '" +
      key + "' -out '" + cert + "' >/dev/null 2>&1";
  REQUIRE(std::system(command.c_str()) == 0);
}

fetch_request tls_request(const target_process& target, bool verify, bool want_info) {
  fetch_request request;
  request.url = target.url("/health");
  request.verify_tls = verify;
  request.want_tls_info = want_info;
  return request;
}

}  // namespace

TEST_CASE("TLS expiry of a self-signed certificate is reported about 30 days ahead") {
  temp_dir dir;
  const std::string cert = dir.path() + "/cert.pem";
  const std::string key = dir.path() + "/key.pem";
  make_certificate(cert, key);
  const std::int64_t now = std::time(nullptr);
  target_process target(cert, key);
  http_fetcher fetcher;

  // Twice: the second fetch must not lose the certificate to a reused connection or session.
  for (int round = 0; round < 2; ++round) {
    CAPTURE(round);
    const fetch_result result = fetch_sync(fetcher, tls_request(target, false, true));
    REQUIRE(result.transport_ok);
    CHECK(result.status == 200);
    CHECK(result.body == "ok");
    REQUIRE(result.tls_not_after_unix.has_value());
    const std::int64_t ahead = *result.tls_not_after_unix - now;
    CHECK(ahead > thirty_days - 120);
    CHECK(ahead < thirty_days + 120);
  }

  const fetch_result without_info = fetch_sync(fetcher, tls_request(target, false, false));
  CHECK(without_info.transport_ok);
  CHECK_FALSE(without_info.tls_not_after_unix.has_value());
}

TEST_CASE("a self-signed certificate fails verification as a TLS failure") {
  temp_dir dir;
  const std::string cert = dir.path() + "/cert.pem";
  const std::string key = dir.path() + "/key.pem";
  make_certificate(cert, key);
  target_process target(cert, key);
  http_fetcher fetcher;
  const fetch_result result = fetch_sync(fetcher, tls_request(target, true, true));
  CHECK_FALSE(result.transport_ok);
  CHECK(result.failure_kind == fetch_result::failure::tls);
  CHECK(result.error.find("TLS handshake failed: ") == 0);
  CHECK(result.error.find("self-signed") != std::string::npos);
}

TEST_CASE("plain HTTP to a TLS port fails without hanging") {
  temp_dir dir;
  const std::string cert = dir.path() + "/cert.pem";
  const std::string key = dir.path() + "/key.pem";
  make_certificate(cert, key);
  target_process target(cert, key);
  http_fetcher fetcher;
  fetch_request request;
  request.url = "http://127.0.0.1:" + std::to_string(target.port()) + "/health";
  request.timeout = 5000ms;
  const fetch_result result = fetch_sync(fetcher, request);
  CHECK_FALSE(result.transport_ok);
  CHECK_FALSE(result.error.empty());
}
