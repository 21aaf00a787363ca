#include "config/address.hpp"

#include <doctest/doctest.h>

using wk::config::parse_host_port;
using wk::config::parse_http_url;

TEST_CASE("parse_host_port reads host:port and bracketed IPv6") {
  std::string why;
  auto parsed = parse_host_port("0.0.0.0:3006", false, false, &why);
  REQUIRE(parsed);
  CHECK(parsed->host == "0.0.0.0");
  CHECK(parsed->port == 3006);
  CHECK(parsed->to_string() == "0.0.0.0:3006");

  parsed = parse_host_port("[::1]:5432", true, true, &why);
  REQUIRE(parsed);
  CHECK(parsed->host == "::1");
  CHECK(parsed->port == 5432);
  CHECK(parsed->to_string() == "[::1]:5432");

  parsed = parse_host_port(":0", false, false, &why);
  REQUIRE(parsed);
  CHECK(parsed->host.empty());
  CHECK(parsed->port == 0);

  parsed = parse_host_port("db_1.internal:65535", true, true, &why);
  REQUIRE(parsed);
  CHECK(parsed->port == 65535);
}

TEST_CASE("parse_host_port rejects bad endpoints with a reason") {
  const auto rejects = [](std::string_view text, bool host_required, bool port_required,
                          std::string_view reason) {
    std::string why;
    CAPTURE(text);
    CHECK_FALSE(parse_host_port(text, host_required, port_required, &why).has_value());
    CHECK(why.find(reason) != std::string::npos);
  };
  rejects("localhost", false, false, "expected host:port");
  rejects("localhost:65536", false, false, "0..65535");
  rejects("localhost:-1", false, false, "0..65535");
  rejects("localhost:http", false, false, "0..65535");
  rejects("localhost:", false, false, "0..65535");
  rejects(":5432", true, true, "host is empty");
  rejects("db:0", true, true, "1..65535");
  rejects("::1:5432", true, true, "brackets");
  rejects("[::1:5432", true, true, "closing");
  rejects("[db]:5432", true, true, "IPv6");
  rejects("[::1]5432", true, true, "\":port\"");
  rejects("d b:5432", true, true, "invalid character");
  rejects("db/x:5432", true, true, "invalid character");
  rejects(std::string(300, 'a') + ":1", true, true, "253");
}

TEST_CASE("parse_http_url splits http and https URLs") {
  std::string why;
  auto url = parse_http_url("http://127.0.0.1:3006/metrics", &why);
  REQUIRE(url);
  CHECK_FALSE(url->https);
  CHECK(url->host == "127.0.0.1");
  CHECK(url->port == 3006);
  CHECK(url->target == "/metrics");

  url = parse_http_url("HTTPS://api.example/healthz?full=1#frag", &why);
  REQUIRE(url);
  CHECK(url->https);
  CHECK(url->port == 443);
  CHECK(url->target == "/healthz?full=1");

  url = parse_http_url("http://user:pa%40ss@[::1]:8080", &why);
  REQUIRE(url);
  CHECK(url->host == "::1");
  CHECK(url->port == 8080);
  CHECK(url->target == "/");

  url = parse_http_url("http://host?x=1", &why);
  REQUIRE(url);
  CHECK(url->port == 80);
  CHECK(url->target == "/?x=1");
}

TEST_CASE("parse_http_url rejects other schemes, empty hosts and junk") {
  const auto rejects = [](std::string_view text, std::string_view reason) {
    std::string why;
    CAPTURE(text);
    CHECK_FALSE(parse_http_url(text, &why).has_value());
    CHECK(why.find(reason) != std::string::npos);
  };
  rejects("ftp://host/x", "scheme must be http or https");
  rejects("file:///etc/passwd", "scheme must be http or https");
  rejects("http:///metrics", "empty host");
  rejects("http://:80/metrics", "empty host");
  rejects("http://user@/x", "empty host");
  rejects("127.0.0.1:9100/metrics", "absolute URL");
  rejects("/metrics", "absolute URL");
  rejects("http://host:0/", "1..65535");
  rejects("http://host:99999/", "1..65535");
  rejects("http://host:/", "1..65535");
  rejects("http://ho st/", "space");
  rejects("http://host/a b", "space");
  rejects("http://host/\r\nX-Injected: 1", "control");
  rejects("http://host/" + std::string(9000, 'a'), "8192");
}
