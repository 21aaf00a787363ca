#include <doctest/doctest.h>

#include "watch/check_evaluation.hpp"

using namespace wk;

namespace {

config::health_check_spec http_check() {
  config::health_check_spec s;
  s.name = "http";
  s.type = config::health_check_spec::kind::http;
  s.url = "http://x/health";
  s.expected_status = {{200, 299}};
  return s;
}

watch::check_observation seen(int status, std::string body, double latency = 0.01) {
  watch::check_observation o;
  o.transport_ok = true;
  o.status = status;
  o.body = std::move(body);
  o.latency_seconds = latency;
  return o;
}

}  // namespace

TEST_CASE("transport errors fail with their text") {
  watch::check_rules rules(http_check());
  watch::check_observation o;
  o.transport_error = "connection refused";
  auto v = rules.evaluate(o, 0);
  CHECK_FALSE(v.ok);
  CHECK(v.reason == "connection refused");
}

TEST_CASE("status set, latency, body substring and regex each decide") {
  auto spec = http_check();
  spec.max_latency = std::chrono::milliseconds(100);
  spec.body_contains = "ok";
  spec.body_regex = "\"status\":\\s*\"up\"";
  watch::check_rules rules(spec);
  CHECK(rules.evaluate(seen(200, "ok {\"status\": \"up\"}"), 0).ok);
  auto wrong_status = rules.evaluate(seen(503, "ok {\"status\": \"up\"}"), 0);
  CHECK_FALSE(wrong_status.ok);
  CHECK(wrong_status.reason == "unexpected HTTP status 503");
  auto slow = rules.evaluate(seen(200, "ok {\"status\": \"up\"}", 0.25), 0);
  CHECK_FALSE(slow.ok);
  CHECK(slow.reason.find("slow: 250 ms") == 0);
  CHECK_FALSE(rules.evaluate(seen(200, "{\"status\": \"up\"}"), 0).ok);
  auto no_match = rules.evaluate(seen(200, "ok {\"status\": \"down\"}"), 0);
  CHECK_FALSE(no_match.ok);
  CHECK(no_match.reason.find("does not match") != std::string::npos);
}

TEST_CASE("a certificate closer to expiry than tls_min_days fails") {
  auto spec = http_check();
  spec.tls_min_days = 14;
  watch::check_rules rules(spec);
  auto o = seen(200, "");
  std::int64_t now = 1'700'000'000;
  o.tls_not_after_unix = now + 10 * 86400;
  auto v = rules.evaluate(o, now);
  CHECK_FALSE(v.ok);
  REQUIRE(v.tls_days_left);
  CHECK(*v.tls_days_left == doctest::Approx(10));
  o.tls_not_after_unix = now + 30 * 86400;
  CHECK(rules.evaluate(o, now).ok);
}

TEST_CASE("a huge body does not blow the regex up") {
  auto spec = http_check();
  spec.body_regex = "(a|b)*c";
  watch::check_rules rules(spec);
  auto v = rules.evaluate(seen(200, std::string(5'000'000, 'a')), 0);
  CHECK_FALSE(v.ok);
}

TEST_CASE("tcp checks pass on connect") {
  config::health_check_spec spec;
  spec.type = config::health_check_spec::kind::tcp;
  spec.address = {"db", 5432};
  watch::check_rules rules(spec);
  watch::check_observation o;
  o.transport_ok = true;
  o.latency_seconds = 0.003;
  auto v = rules.evaluate(o, 0);
  CHECK(v.ok);
  CHECK(v.reason == "connected in 3 ms");
}
