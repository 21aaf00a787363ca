#include <doctest/doctest.h>

#include <rapidjson/document.h>

#include "protocol/rest/service_json.hpp"

using namespace wk;

namespace {

watch::service_status svc(std::string name, std::string source, watch::health_state check) {
  watch::service_status s;
  s.name = std::move(name);
  s.source = std::move(source);
  s.labels["team"] = s.name == "b" ? "pay" : "ops";
  watch::check_status c;
  c.name = "http";
  c.state = check;
  s.checks.push_back(c);
  return s;
}

rapidjson::Document parse(const std::string& text) {
  rapidjson::Document d;
  d.Parse(text.c_str());
  REQUIRE_FALSE(d.HasParseError());
  return d;
}

std::vector<watch::service_status> fleet() {
  return {svc("c", "config", watch::health_state::up), svc("a", "api", watch::health_state::down),
          svc("b", "config", watch::health_state::up), svc("d", "api", watch::health_state::unknown)};
}

std::vector<std::string> names(const rapidjson::Document& d) {
  std::vector<std::string> out;
  for (const auto& s : d["services"].GetArray())
    out.emplace_back(s["name"].GetString());
  return out;
}

}  // namespace

TEST_CASE("services are listed sorted by name with the total") {
  auto d = parse(rest::services_json(fleet()));
  CHECK(names(d) == std::vector<std::string>{"a", "b", "c", "d"});
  CHECK(d["total"].GetUint64() == 4);
  CHECK(std::string(d["services"][0]["state"].GetString()) == "down");
  CHECK(d["services"][0]["scrape"].IsNull());
}

TEST_CASE("filters by state, source and label; pages with limit and offset") {
  auto f = rest::parse_service_filter({{"state", "up"}});
  REQUIRE(f.error.empty());
  CHECK(names(parse(rest::services_json(fleet(), f))) == std::vector<std::string>{"b", "c"});
  f = rest::parse_service_filter({{"source", "api"}});
  CHECK(names(parse(rest::services_json(fleet(), f))) == std::vector<std::string>{"a", "d"});
  f = rest::parse_service_filter({{"label", "team:pay"}});
  CHECK(names(parse(rest::services_json(fleet(), f))) == std::vector<std::string>{"b"});
  f = rest::parse_service_filter({{"limit", "2"}, {"offset", "1"}});
  auto d = parse(rest::services_json(fleet(), f));
  CHECK(names(d) == std::vector<std::string>{"b", "c"});
  CHECK(d["total"].GetUint64() == 4);
  f = rest::parse_service_filter({{"offset", "10"}});
  CHECK(names(parse(rest::services_json(fleet(), f))).empty());
}

TEST_CASE("invalid queries say what is wrong") {
  CHECK(rest::parse_service_filter({{"state", "sideways"}}).error.find("state") == 0);
  CHECK(rest::parse_service_filter({{"limit", "-1"}}).error.find("limit") == 0);
  CHECK(rest::parse_service_filter({{"limit", "99999999999999999999"}}).error.find("limit") == 0);
  CHECK(rest::parse_service_filter({{"offset", ""}}).error.find("offset") == 0);
  CHECK(rest::parse_service_filter({{"label", "novalue"}}).error.find("label") == 0);
  CHECK(rest::parse_service_filter({{"colour", "red"}}).error.find("unknown query parameter") == 0);
}
