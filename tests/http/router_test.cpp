#include <doctest/doctest.h>

#include <optional>
#include <stdexcept>
#include <string>

#include <rapidjson/document.h>

#include "protocol/http/router.hpp"
#include "protocol/http/uri.hpp"

using namespace wk::http;

namespace {

http_request request(std::string method, std::string path) {
  http_request r;
  r.method = std::move(method);
  r.path = std::move(path);
  return r;
}

// Dispatches and returns the single response; fails the test if the responder is not called
// exactly once.
http_response call(const router& rt, const http_request& req) {
  int calls = 0;
  http_response got;
  rt.dispatch(req, [&](http_response r) {
    ++calls;
    got = std::move(r);
  });
  REQUIRE(calls == 1);
  return got;
}

std::string header_of(const http_response& r, const std::string& name) {
  for (const auto& h : r.headers)
    if (h.name == name)
      return h.value;
  return "<absent>";
}

// A handler that answers with "<tag> <method> name=value ..." so tests see which route ran.
route_handler tagged(std::string tag) {
  return [tag](const http_request& req, const route_params& params, responder respond) {
    std::string body = tag + " " + req.method;
    for (const auto& [k, v] : params)
      body += " " + k + "=" + v;
    respond(json_response(200, body));
  };
}

router sample_router() {
  router rt;
  rt.add("GET", "/", tagged("root"));
  rt.add("GET", "/api/services", tagged("list"));
  rt.add("POST", "/api/services", tagged("create"));
  rt.add("GET", "/api/services/{name}", tagged("show"));
  rt.add("DELETE", "/api/services/{name}", tagged("delete"));
  rt.add("GET", "/api/incidents/{id}", tagged("incident"));
  rt.add("GET", "/api/incidents/stats", tagged("stats"));
  rt.add("GET", "/api/services/{name}/checks/{check}", tagged("check"));
  return rt;
}

}  // namespace

TEST_CASE("router matches literal paths and extracts parameters") {
  auto rt = sample_router();
  CHECK(call(rt, request("GET", "/")).body == "root GET");
  CHECK(call(rt, request("GET", "/api/services")).body == "list GET");
  CHECK(call(rt, request("POST", "/api/services")).body == "create POST");
  CHECK(call(rt, request("GET", "/api/services/db")).body == "show GET name=db");
  CHECK(call(rt, request("DELETE", "/api/services/db")).body == "delete DELETE name=db");
  CHECK(call(rt, request("GET", "/api/services/db/checks/http")).body ==
        "check GET check=http name=db");
}

TEST_CASE("router passes percent-decoded path segments through as parameters") {
  auto rt = sample_router();
  auto decoded = percent_decode("/api/services/payments%20eu%3Fx");
  REQUIRE(decoded.has_value());
  CHECK(call(rt, request("GET", *decoded)).body == "show GET name=payments eu?x");
}

TEST_CASE("router prefers literal segments over parameters regardless of order") {
  auto rt = sample_router();
  CHECK(call(rt, request("GET", "/api/incidents/stats")).body == "stats GET");
  CHECK(call(rt, request("GET", "/api/incidents/42")).body == "incident GET id=42");
}

TEST_CASE("router ignores one trailing slash but not empty segments") {
  auto rt = sample_router();
  CHECK(call(rt, request("GET", "/api/services/")).body == "list GET");
  CHECK(call(rt, request("GET", "/api/services/db/")).body == "show GET name=db");
  CHECK(call(rt, request("GET", "/api//services")).status == 404);
  CHECK(call(rt, request("GET", "/api/services//")).status == 404);
}

TEST_CASE("router answers 404 with a problem body for unknown paths") {
  auto rt = sample_router();
  auto r = call(rt, request("GET", "/nope/\"quoted\""));
  CHECK(r.status == 404);
  CHECK(r.content_type == "application/problem+json");
  rapidjson::Document doc;
  doc.Parse(r.body.c_str());
  REQUIRE_FALSE(doc.HasParseError());
  CHECK(doc["status"].GetInt() == 404);
  CHECK(std::string(doc["title"].GetString()) == "Not Found");
  CHECK(std::string(doc["detail"].GetString()).find("/nope/\"quoted\"") != std::string::npos);
  CHECK(call(rt, request("GET", "relative")).status == 404);
}

TEST_CASE("router answers 405 with an Allow header for a known path and wrong method") {
  auto rt = sample_router();
  auto r = call(rt, request("PUT", "/api/services"));
  CHECK(r.status == 405);
  CHECK(r.content_type == "application/problem+json");
  CHECK(header_of(r, "allow") == "GET, HEAD, POST, OPTIONS");
  rapidjson::Document doc;
  doc.Parse(r.body.c_str());
  REQUIRE_FALSE(doc.HasParseError());
  CHECK(doc["status"].GetInt() == 405);
  CHECK(std::string(doc["detail"].GetString()).find("PUT") != std::string::npos);

  auto d = call(rt, request("POST", "/api/services/db"));
  CHECK(d.status == 405);
  CHECK(header_of(d, "allow") == "GET, HEAD, DELETE, OPTIONS");
}

TEST_CASE("router lets HEAD use the GET route and keeps the method visible") {
  auto rt = sample_router();
  CHECK(call(rt, request("HEAD", "/api/services/db")).body == "show HEAD name=db");
  rt.add("HEAD", "/api/services", tagged("head-list"));
  CHECK(call(rt, request("HEAD", "/api/services")).body == "head-list HEAD");
}

TEST_CASE("router answers OPTIONS itself unless a route handles it") {
  auto rt = sample_router();
  auto r = call(rt, request("OPTIONS", "/api/services/db"));
  CHECK(r.status == 204);
  CHECK(r.body.empty());
  CHECK(r.content_type.empty());
  CHECK(header_of(r, "allow") == "GET, HEAD, DELETE, OPTIONS");
  CHECK(call(rt, request("OPTIONS", "/missing")).status == 404);

  rt.add("OPTIONS", "/api/services", tagged("preflight"));
  CHECK(call(rt, request("OPTIONS", "/api/services")).body == "preflight OPTIONS");
}

TEST_CASE("router hands the responder over so handlers can answer later") {
  router rt;
  responder saved;
  rt.add("GET", "/later", [&](const http_request&, const route_params&, responder respond) {
    saved = std::move(respond);
  });
  std::optional<int> status;
  rt.dispatch(request("GET", "/later"), [&](http_response r) { status = r.status; });
  CHECK_FALSE(status.has_value());
  REQUIRE(saved);
  saved(json_response(202, "{}"));
  CHECK(status == 202);
}

TEST_CASE("router rejects malformed and conflicting patterns") {
  router rt;
  auto h = tagged("x");
  CHECK_THROWS_AS(rt.add("GET", "api", h), std::invalid_argument);
  CHECK_THROWS_AS(rt.add("get", "/api", h), std::invalid_argument);
  CHECK_THROWS_AS(rt.add("GET", "/a//b", h), std::invalid_argument);
  CHECK_THROWS_AS(rt.add("GET", "/a/{}", h), std::invalid_argument);
  CHECK_THROWS_AS(rt.add("GET", "/a/{x", h), std::invalid_argument);
  CHECK_THROWS_AS(rt.add("GET", "/a/x{y}", h), std::invalid_argument);
  CHECK_THROWS_AS(rt.add("GET", "/a/{x-y}", h), std::invalid_argument);
  CHECK_THROWS_AS(rt.add("GET", "/a/{x}/{x}", h), std::invalid_argument);
  CHECK_THROWS_AS(rt.add("GET", "/a", route_handler{}), std::invalid_argument);
  rt.add("GET", "/a/{x}", h);
  CHECK_THROWS_AS(rt.add("GET", "/a/{y}", h), std::invalid_argument);
  CHECK_THROWS_AS(rt.add("GET", "/a/{y}/", h), std::invalid_argument);
  CHECK_NOTHROW(rt.add("PUT", "/a/{y}", h));
  CHECK_NOTHROW(rt.add("GET", "/a/literal", h));
}
