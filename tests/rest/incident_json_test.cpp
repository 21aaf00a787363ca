#include <doctest/doctest.h>

#include <cmath>
#include <set>
#include <sstream>

#include <rapidjson/document.h>

#include "protocol/http/uri.hpp"
#include "protocol/rest/incident_json.hpp"

using namespace wk;
using namespace wk::rest;

namespace {

// Strict: the output must be valid JSON in valid UTF-8.
rapidjson::Document parse(const std::string& text) {
  rapidjson::Document d;
  d.Parse<rapidjson::kParseValidateEncodingFlag>(text.data(), text.size());
  CAPTURE(text);
  REQUIRE_FALSE(d.HasParseError());
  return d;
}

std::set<std::string> keys(const rapidjson::Value& object) {
  std::set<std::string> out;
  for (const auto& m : object.GetObject())
    out.emplace(m.name.GetString(), m.name.GetStringLength());
  return out;
}

std::string text(const rapidjson::Value& v) {
  return std::string(v.GetString(), v.GetStringLength());
}

incidents::incident full_incident() {
  incidents::incident i;
  i.id = 7;
  i.group_key = "api/{region=\"eu\"}";
  i.service = "api";
  i.title = "api is down";
  i.severity = "critical";
  i.state = incidents::status::acknowledged;
  i.group_labels = {{"region", "eu"}};
  i.opened_at_ms = 1767225600000;
  i.updated_at_ms = 1767225660000;
  i.acknowledged_at_ms = 1767225630000;
  i.acknowledged_by = "alice";
  i.assignee = "bob";
  i.escalation_policy = "default";
  i.escalated = {{0, 0}, {1, 0}};
  i.reopen_count = 2;
  i.related_to = 3;
  i.notified_receivers = {"ops-slack", "pd"};
  incidents::incident_alert a;
  a.fingerprint = "f1";
  a.alertname = "Down";
  a.service = "api";
  a.labels = {{"alertname", "Down"}, {"service", "api"}};
  a.annotations = {{"summary", "api down"}};
  a.value = 1.5;
  a.starts_at_ms = 1767225600000;
  i.alerts.push_back(a);
  a.fingerprint = "f2";
  a.firing = false;
  a.ends_at_ms = 1767225650000;
  a.related = true;
  a.value = std::nan("");
  i.alerts.push_back(a);
  i.version = 12;
  return i;
}

// The space-separated words of text, as a set of keys.
std::set<std::string> words(const std::string& text) {
  std::istringstream in(text);
  std::set<std::string> out;
  for (std::string w; in >> w;)
    out.insert(w);
  return out;
}

const std::set<std::string> incident_keys = words(
    "id title service severity status group_key group_labels opened_at_ms updated_at_ms "
    "acknowledged_at_ms acknowledged_by resolved_at_ms resolved_by assignee created_by "
    "escalation_policy escalated reopen_count related_to notified_receivers alerts version");

incidents::timeline_entry entry(std::int64_t at_ms, std::string kind, std::string actor,
                                std::string text, std::map<std::string, std::string> detail = {}) {
  incidents::timeline_entry e;
  e.incident_id = 7;
  e.at_ms = at_ms;
  e.kind = std::move(kind);
  e.actor = std::move(actor);
  e.text = std::move(text);
  e.detail = std::move(detail);
  return e;
}

std::string detail_of_create(std::string_view body) {
  std::string detail;
  CHECK_FALSE(parse_create_request(body, &detail));
  return detail;
}

std::string detail_of_filter(std::string_view raw_query) {
  std::string detail;
  CHECK_FALSE(parse_incident_filter(http::parse_query(raw_query), &detail));
  return detail;
}

}  // namespace

TEST_CASE("incident_json: every field of the contract with its JSON type") {
  auto d = parse(incident_json(full_incident()));
  CHECK(keys(d) == incident_keys);
  CHECK(d["id"].GetInt64() == 7);
  CHECK(text(d["title"]) == "api is down");
  CHECK(text(d["service"]) == "api");
  CHECK(text(d["severity"]) == "critical");
  CHECK(text(d["status"]) == "acknowledged");
  CHECK(text(d["group_key"]) == "api/{region=\"eu\"}");
  CHECK(text(d["group_labels"]["region"]) == "eu");
  CHECK(d["opened_at_ms"].GetInt64() == 1767225600000);
  CHECK(d["updated_at_ms"].GetInt64() == 1767225660000);
  CHECK(d["acknowledged_at_ms"].GetInt64() == 1767225630000);
  CHECK(text(d["acknowledged_by"]) == "alice");
  CHECK(d["resolved_at_ms"].IsNull());
  CHECK(text(d["resolved_by"]).empty());
  CHECK(text(d["assignee"]) == "bob");
  CHECK(d["created_by"].IsString());
  CHECK(text(d["escalation_policy"]) == "default");
  REQUIRE(d["escalated"].IsArray());
  REQUIRE(d["escalated"].Size() == 2);
  CHECK(d["escalated"][1][0].GetInt() == 1);
  CHECK(d["escalated"][1][1].GetInt() == 0);
  CHECK(d["reopen_count"].GetInt() == 2);
  CHECK(d["related_to"].GetInt64() == 3);
  REQUIRE(d["notified_receivers"].Size() == 2);
  CHECK(text(d["notified_receivers"][1]) == "pd");
  CHECK(d["version"].GetInt64() == 12);

  REQUIRE(d["alerts"].Size() == 2);
  const auto& firing = d["alerts"][0];
  CHECK(keys(firing) == std::set<std::string>{"fingerprint", "alertname", "service", "labels",
                                              "annotations", "firing", "value", "starts_at_ms",
                                              "ends_at_ms", "related"});
  CHECK(text(firing["fingerprint"]) == "f1");
  CHECK(text(firing["alertname"]) == "Down");
  CHECK(text(firing["labels"]["service"]) == "api");
  CHECK(text(firing["annotations"]["summary"]) == "api down");
  CHECK(firing["firing"].IsTrue());
  CHECK(firing["value"].GetDouble() == 1.5);
  CHECK(firing["starts_at_ms"].GetInt64() == 1767225600000);
  CHECK(firing["ends_at_ms"].IsNull());
  CHECK(firing["related"].IsFalse());
  const auto& resolved = d["alerts"][1];
  CHECK(resolved["firing"].IsFalse());
  CHECK(resolved["value"].IsNull());  // NaN has no JSON form
  CHECK(resolved["ends_at_ms"].GetInt64() == 1767225650000);
  CHECK(resolved["related"].IsTrue());
}

TEST_CASE("incident_json: unset timestamps and related_to are null, set ones numbers") {
  incidents::incident i;
  i.id = 1;
  auto d = parse(incident_json(i));
  CHECK(keys(d) == incident_keys);
  CHECK(text(d["status"]) == "triggered");
  CHECK(text(d["severity"]) == "error");
  CHECK(d["acknowledged_at_ms"].IsNull());
  CHECK(d["resolved_at_ms"].IsNull());
  CHECK(d["related_to"].IsNull());
  CHECK(d["opened_at_ms"].IsInt64());  // never null: every incident has opened
  CHECK(d["escalated"].IsArray());
  CHECK(d["escalated"].Empty());
  CHECK(d["alerts"].Empty());
  CHECK(d["group_labels"].ObjectEmpty());

  i.state = incidents::status::resolved;
  i.resolved_at_ms = 5;
  i.resolved_by = "system";
  d = parse(incident_json(i));
  CHECK(text(d["status"]) == "resolved");
  CHECK(d["resolved_at_ms"].GetInt64() == 5);
  CHECK(text(d["resolved_by"]) == "system");
}

TEST_CASE("incident_json: hostile strings stay valid JSON; invalid UTF-8 becomes U+FFFD") {
  incidents::incident i;
  i.title = "say \"hi\" \\ \n\t\x01 end";
  i.service = "caf\xc3\xa9 \xe2\x82\xac";        // valid: "café €"
  i.assignee = "bad\xff byte and cut \xe2\x82";  // invalid lead byte, truncated sequence
  i.created_by = std::string("nul\0inside", 10);
  i.group_labels = {{"k\"\xfe", "v\x1f"}};  // hostile key too
  i.notified_receivers = {"\xc0\xaf"};      // overlong '/'
  const auto body = incident_json(i);
  auto d = parse(body);
  CHECK(text(d["title"]) == "say \"hi\" \\ \n\t\x01 end");
  CHECK(body.find(R"(say \"hi\" \\ \n\t\u0001 end)") != std::string::npos);
  CHECK(text(d["service"]) == "caf\xc3\xa9 \xe2\x82\xac");
  CHECK(text(d["assignee"]) == "bad\xef\xbf\xbd byte and cut \xef\xbf\xbd\xef\xbf\xbd");
  CHECK(text(d["created_by"]) == std::string("nul\0inside", 10));
  CHECK(text(d["group_labels"]["k\"\xef\xbf\xbd"]) == "v\x1f");
  CHECK(text(d["notified_receivers"][0]) == "\xef\xbf\xbd\xef\xbf\xbd");
}

TEST_CASE("incident_list_json: the page with total, limit and offset") {
  auto first = full_incident();
  auto second = full_incident();
  second.id = 8;
  auto d = parse(incident_list_json({first, second}, 57, 2, 10));
  CHECK(keys(d) == std::set<std::string>{"incidents", "total", "limit", "offset"});
  REQUIRE(d["incidents"].Size() == 2);
  CHECK(keys(d["incidents"][0]) == incident_keys);
  CHECK(d["incidents"][1]["id"].GetInt64() == 8);
  CHECK(d["total"].GetUint64() == 57);
  CHECK(d["limit"].GetUint64() == 2);
  CHECK(d["offset"].GetUint64() == 10);

  d = parse(incident_list_json({}, 0, 100, 0));
  CHECK(d["incidents"].IsArray());
  CHECK(d["incidents"].Empty());
  CHECK(d["total"].GetUint64() == 0);
}

TEST_CASE("incident_detail_json: the incident plus timeline and notifications") {
  const auto opened =
      entry(1767225600000, "opened", "system", "opened by Down", {{"alert", "Down"}});
  const auto acked = entry(1767225630000, "acknowledged", "alice", "acknowledged by alice");
  outbox_view pending;
  pending.receiver = "pd";
  pending.channel = "pagerduty";
  pending.transition = "triggered";
  pending.state = "pending";
  pending.attempts = 3;
  pending.last_status = 503;
  pending.last_error = "HTTP 503 \"busy\"";
  pending.created_ms = 1767225600000;
  pending.next_attempt_ms = 1767225608000;
  outbox_view delivered;
  delivered.receiver = "ops-slack";
  delivered.channel = "slack";
  delivered.transition = "triggered";
  delivered.state = "delivered";
  delivered.attempts = 1;
  delivered.last_status = 200;
  delivered.created_ms = 1767225600000;
  delivered.delivered_ms = 1767225600300;

  auto d = parse(incident_detail_json(full_incident(), {opened, acked}, {pending, delivered}));
  auto expected = incident_keys;
  expected.insert({"timeline", "notifications"});
  CHECK(keys(d) == expected);
  CHECK(d["id"].GetInt64() == 7);

  REQUIRE(d["timeline"].Size() == 2);
  const auto& t = d["timeline"][0];
  CHECK(keys(t) == std::set<std::string>{"at_ms", "kind", "actor", "text", "detail"});
  CHECK(t["at_ms"].GetInt64() == 1767225600000);
  CHECK(text(t["kind"]) == "opened");
  CHECK(text(t["actor"]) == "system");
  CHECK(text(t["text"]) == "opened by Down");
  CHECK(text(t["detail"]["alert"]) == "Down");
  CHECK(d["timeline"][1]["detail"].IsObject());
  CHECK(d["timeline"][1]["detail"].ObjectEmpty());

  REQUIRE(d["notifications"].Size() == 2);
  const auto& p = d["notifications"][0];
  CHECK(keys(p) == std::set<std::string>{"receiver", "channel", "transition", "state", "attempts",
                                         "last_status", "last_error", "created_ms",
                                         "next_attempt_ms", "delivered_ms"});
  CHECK(text(p["receiver"]) == "pd");
  CHECK(text(p["channel"]) == "pagerduty");
  CHECK(text(p["transition"]) == "triggered");
  CHECK(text(p["state"]) == "pending");
  CHECK(p["attempts"].GetInt() == 3);
  CHECK(p["last_status"].GetInt() == 503);
  CHECK(text(p["last_error"]) == "HTTP 503 \"busy\"");
  CHECK(p["created_ms"].GetInt64() == 1767225600000);
  CHECK(p["next_attempt_ms"].GetInt64() == 1767225608000);
  CHECK(p["delivered_ms"].IsNull());
  const auto& s = d["notifications"][1];
  CHECK(s["next_attempt_ms"].IsNull());
  CHECK(s["delivered_ms"].GetInt64() == 1767225600300);
  CHECK(text(s["last_error"]).empty());

  d = parse(incident_detail_json(incidents::incident{}, {}, {}));
  CHECK(d["timeline"].Empty());
  CHECK(d["notifications"].Empty());
}

TEST_CASE("timeline_json and audit_json") {
  const auto note = entry(42, "note", "alice", "line1\nline2", {{"k", "v"}});
  auto d = parse(timeline_json({note}));
  CHECK(keys(d) == std::set<std::string>{"timeline"});
  REQUIRE(d["timeline"].Size() == 1);
  CHECK(text(d["timeline"][0]["text"]) == "line1\nline2");
  CHECK(parse(timeline_json({}))["timeline"].Empty());

  audit_view a;
  a.at_ms = 1767225600000;
  a.actor = "ci-token";
  a.role = "responder";
  a.action = "incident.acknowledge";
  a.target = "incident/7";
  a.detail = {{"note", "on it \xff"}};
  d = parse(audit_json({a, a}, 120));
  CHECK(keys(d) == std::set<std::string>{"entries", "total"});
  CHECK(d["total"].GetUint64() == 120);
  REQUIRE(d["entries"].Size() == 2);
  const auto& e = d["entries"][0];
  CHECK(keys(e) == std::set<std::string>{"at_ms", "actor", "role", "action", "target", "detail"});
  CHECK(e["at_ms"].GetInt64() == 1767225600000);
  CHECK(text(e["actor"]) == "ci-token");
  CHECK(text(e["role"]) == "responder");
  CHECK(text(e["action"]) == "incident.acknowledge");
  CHECK(text(e["target"]) == "incident/7");
  CHECK(text(e["detail"]["note"]) == "on it \xef\xbf\xbd");
}

TEST_CASE("parse_incident_filter: defaults and every parameter") {
  std::string detail;
  auto f = parse_incident_filter({}, &detail);
  REQUIRE(f);
  CHECK(f->statuses.empty());
  CHECK(f->service.empty());
  CHECK(f->severity.empty());
  CHECK(f->since_ms == 0);
  CHECK(f->until_ms == 0);
  CHECK(f->limit == 100);
  CHECK(f->offset == 0);

  f = parse_incident_filter(
      http::parse_query("status=triggered,acknowledged&service=api&severity=CRITICAL"
                        "&since=1767225600000&until=2026-01-02T00:00:00Z&limit=1000&offset=30"),
      &detail);
  REQUIRE(f);
  CHECK(f->statuses == std::vector<std::string>{"triggered", "acknowledged"});
  CHECK(f->service == "api");
  CHECK(f->severity == "critical");
  CHECK(f->since_ms == 1767225600000);
  CHECK(f->until_ms == 1767312000000);
  CHECK(f->limit == 1000);
  CHECK(f->offset == 30);
}

TEST_CASE("parse_incident_filter: status lists") {
  std::string detail;
  // Case-insensitive, spaces around items ignored, repeats folded.
  auto f =
      parse_incident_filter(http::parse_query("status=Resolved,+triggered+,resolved"), &detail);
  REQUIRE(f);
  CHECK(f->statuses == std::vector<std::string>{"resolved", "triggered"});
  // An empty value is a form's "any".
  f = parse_incident_filter(http::parse_query("status=&service=&severity="), &detail);
  REQUIRE(f);
  CHECK(f->statuses.empty());
  CHECK(f->service.empty());
  CHECK(f->severity.empty());

  CHECK(detail_of_filter("status=triggered,open") ==
        "unknown status \"open\" (known: triggered, acknowledged, resolved)");
  CHECK(detail_of_filter("status=triggered,,resolved") ==
        "unknown status \"\" (known: triggered, acknowledged, resolved)");
  CHECK(detail_of_filter("status=triggered,") ==
        "unknown status \"\" (known: triggered, acknowledged, resolved)");
  CHECK(detail_of_filter("status=" + std::string(100, 'x')) ==
        "unknown status \"" + std::string(64, 'x') +
            "...\" (known: triggered, acknowledged, resolved)");
}

TEST_CASE("parse_incident_filter: pagination bounds") {
  std::string detail;
  auto f = parse_incident_filter(http::parse_query("limit=1&offset=100000000"), &detail);
  REQUIRE(f);
  CHECK(f->limit == 1);
  CHECK(f->offset == 100000000);
  CHECK(detail_of_filter("limit=0") == "limit must be a whole number from 1 to 1000 (got \"0\")");
  CHECK(detail_of_filter("limit=1001") ==
        "limit must be a whole number from 1 to 1000 (got \"1001\")");
  CHECK(detail_of_filter("limit=-5") == "limit must be a whole number from 1 to 1000 (got \"-5\")");
  CHECK(detail_of_filter("limit=99999999999999999999999") ==
        "limit must be a whole number from 1 to 1000 (got \"99999999999999999999999\")");
  CHECK(detail_of_filter("limit=1e3") ==
        "limit must be a whole number from 1 to 1000 (got \"1e3\")");
  CHECK(detail_of_filter("offset=100000001") ==
        "offset must be a whole number from 0 to 100000000 (got \"100000001\")");
  CHECK(detail_of_filter("offset=x") ==
        "offset must be a whole number from 0 to 100000000 (got \"x\")");
}

TEST_CASE("parse_incident_filter: since and until as unix ms or RFC 3339") {
  std::string detail;
  auto f = parse_incident_filter(
      http::parse_query("since=2026-01-01T01:00:00%2B01:00&until=2026-01-01T00:00:01.5Z"), &detail);
  REQUIRE(f);
  CHECK(f->since_ms == 1767225600000);
  CHECK(f->until_ms == 1767225601500);
  // An unencoded '+' decodes to a space; the offset is still understood.
  f = parse_incident_filter(http::parse_query("since=2026-01-01T01:00:00+01:00"), &detail);
  REQUIRE(f);
  CHECK(f->since_ms == 1767225600000);
  f = parse_incident_filter(http::parse_query("since=5&until=5"), &detail);
  REQUIRE(f);
  CHECK(f->since_ms == 5);

  const std::string hint =
      " must be unix milliseconds or an RFC 3339 time such as "
      "2026-01-05T09:00:00Z (got ";
  CHECK(detail_of_filter("since=yesterday") == "since" + hint + "\"yesterday\")");
  CHECK(detail_of_filter("until=2026-13-01T00:00:00Z") ==
        "until" + hint + "\"2026-13-01T00:00:00Z\")");
  CHECK(detail_of_filter("until=2026-01-01T00:00:00") ==
        "until" + hint + "\"2026-01-01T00:00:00\")");
  CHECK(detail_of_filter("since=1969-12-31T23:59:59Z") ==
        "since" + hint + "\"1969-12-31T23:59:59Z\")");
  CHECK(detail_of_filter("since=-1") == "since" + hint + "\"-1\")");
  CHECK(detail_of_filter("since=1234567890123456") == "since" + hint + "\"1234567890123456\")");
  CHECK(detail_of_filter("since=2000&until=1000") == "since (2000) is after until (1000)");
}

TEST_CASE("parse_incident_filter: unknown parameters, severities and long services") {
  CHECK(detail_of_filter("state=open") ==
        "unknown query parameter \"state\" (known: status, service, severity, since, until, "
        "limit, offset)");
  CHECK(detail_of_filter("severity=fatal") ==
        "severity must be one of critical, error, warning, info (got \"fatal\")");
  CHECK(detail_of_filter("service=" + std::string(201, 'a')) ==
        "service is longer than 200 characters");
  std::string detail;
  // 200 two-byte characters are 200 characters, not 400.
  std::string accented;
  for (int k = 0; k < 200; ++k)
    accented += "%C3%A9";
  auto f = parse_incident_filter(http::parse_query("service=" + accented), &detail);
  REQUIRE(f);
  CHECK(f->service.size() == 400);
}

TEST_CASE("matches: the filter's meaning over one incident") {
  auto i = full_incident();  // acknowledged, api, critical, opened at 1767225600000
  incident_filter f;
  CHECK(matches(f, i));
  f.statuses = {"triggered", "acknowledged"};
  CHECK(matches(f, i));
  f.statuses = {"resolved"};
  CHECK_FALSE(matches(f, i));
  f = {};
  f.service = "db";
  CHECK_FALSE(matches(f, i));
  f.service = "api";
  f.severity = "warning";
  CHECK_FALSE(matches(f, i));
  f.severity = "critical";
  f.since_ms = i.opened_at_ms;
  f.until_ms = i.opened_at_ms + 1;
  CHECK(matches(f, i));
  f.until_ms = i.opened_at_ms;  // until is exclusive
  CHECK_FALSE(matches(f, i));
  f.until_ms = 0;
  f.since_ms = i.opened_at_ms + 1;
  CHECK_FALSE(matches(f, i));
}

TEST_CASE("parse_create_request: a full body, defaults and severity case") {
  std::string detail;
  auto r = parse_create_request(
      R"({"title":"Checkout slow","service":"api","severity":"WARNING","description":"p99 > 2s",)"
      R"("escalation_policy":"default"})",
      &detail);
  REQUIRE(r);
  CHECK(r->title == "Checkout slow");
  CHECK(r->service == "api");
  CHECK(r->severity == "warning");
  CHECK(r->description == "p99 > 2s");
  CHECK(r->escalation_policy == "default");

  // Strings are kept as sent, surrounding spaces included.
  r = parse_create_request(" \n{\"title\":\"  padded \\u00e9 \"}\n", &detail);
  REQUIRE(r);
  CHECK(r->title == "  padded \xc3\xa9 ");
  CHECK(r->severity == "error");
  CHECK(r->service.empty());
  CHECK(r->description.empty());
  CHECK(r->escalation_policy.empty());
}

TEST_CASE("parse_create_request: every error with its detail") {
  CHECK(detail_of_create("") == "the body is empty; expected a JSON object with \"title\"");
  CHECK(detail_of_create(" \r\n\t") == "the body is empty; expected a JSON object with \"title\"");
  CHECK(detail_of_create("{\"title\":") == "invalid JSON at offset 9: Invalid value.");
  CHECK(detail_of_create("{\"title\":\"x\",}") ==
        "invalid JSON at offset 13: Missing a name for object member.");
  CHECK(detail_of_create("{\"title\":\"x\"} {}") ==
        "invalid JSON at offset 14: The document root must not be followed by other values.");
  CHECK(detail_of_create("{\"title\":\"bad \xff\"}") ==
        "invalid JSON at offset 14: Invalid encoding in string.");
  CHECK(detail_of_create("[]") == "the body must be a JSON object, not an array");
  CHECK(detail_of_create("\"title\"") == "the body must be a JSON object, not a string");
  CHECK(detail_of_create("null") == "the body must be a JSON object, not null");
  CHECK(detail_of_create(R"({"title":"x","colour":"red"})") ==
        "unknown field \"colour\" (known: title, service, severity, description, "
        "escalation_policy)");
  CHECK(detail_of_create(R"({"a":1,"title":"x","b":2})") ==
        "unknown fields \"a\", \"b\" (known: title, service, severity, description, "
        "escalation_policy)");
  CHECK(detail_of_create(R"({"a":1,"b":1,"c":1,"d":1,"e":1,"f":1,"g":1})") ==
        "unknown fields \"a\", \"b\", \"c\", \"d\", \"e\" and 2 more (known: title, service, "
        "severity, description, escalation_policy)");
  CHECK(detail_of_create(R"({"title":"x","title":"y"})") == "duplicate field \"title\"");
  CHECK(detail_of_create(R"({"title":7})") == "\"title\" must be a string, not a number");
  CHECK(detail_of_create(R"({"title":null})") == "\"title\" must be a string, not null");
  CHECK(detail_of_create(R"({"title":true})") == "\"title\" must be a string, not a boolean");
  CHECK(detail_of_create(R"({"title":"x","service":["api"]})") ==
        "\"service\" must be a string, not an array");
  CHECK(detail_of_create(R"({"title":"x","description":{}})") ==
        "\"description\" must be a string, not an object");
  CHECK(detail_of_create(R"({"title":"a\u0000b"})") == "\"title\" must not contain NUL characters");
  CHECK(detail_of_create(R"({"service":"api"})") == "missing field \"title\"");
  CHECK(detail_of_create(R"({"title":" \t\n"})") == "\"title\" must not be blank");
  CHECK(detail_of_create(R"({"title":"x","severity":"fatal"})") ==
        "\"severity\" must be one of critical, error, warning, info (got \"fatal\")");
  CHECK(detail_of_create(R"({"title":"x","severity":""})") ==
        "\"severity\" must be one of critical, error, warning, info (got \"\")");
}

TEST_CASE("parse_create_request: length limits count characters") {
  std::string detail;
  std::string accented;
  for (int k = 0; k < 200; ++k)
    accented += "\xc3\xa9";
  CHECK(parse_create_request("{\"title\":\"" + accented + "\"}", &detail));
  CHECK(detail_of_create("{\"title\":\"" + accented + "e\"}") ==
        "\"title\" is longer than 200 characters");
  CHECK(detail_of_create("{\"title\":\"x\",\"service\":\"" + std::string(201, 's') + "\"}") ==
        "\"service\" is longer than 200 characters");
  CHECK(detail_of_create("{\"title\":\"x\",\"escalation_policy\":\"" + std::string(201, 'p') +
                         "\"}") == "\"escalation_policy\" is longer than 200 characters");
  CHECK(parse_create_request(
      "{\"title\":\"x\",\"description\":\"" + std::string(10000, 'd') + "\"}", &detail));
  CHECK(detail_of_create("{\"title\":\"x\",\"description\":\"" + std::string(10001, 'd') + "\"}") ==
        "\"description\" is longer than 10000 characters");
}

TEST_CASE("parse_create_request: hostile sizes and nesting") {
  const std::string huge = "{\"title\":\"" + std::string(max_request_body_bytes, 'x') + "\"}";
  CHECK(detail_of_create(huge) ==
        "the body is " + std::to_string(huge.size()) + " bytes; at most 1048576 are accepted");
  // Deep nesting is parsed without recursion, then refused by type.
  const std::string deep =
      "{\"title\":" + std::string(100000, '[') + std::string(100000, ']') + "}";
  CHECK(detail_of_create(deep) == "\"title\" must be a string, not an array");
  const std::string unclosed = std::string(500000, '[');
  CHECK(detail_of_create(unclosed).rfind("invalid JSON at offset 500000: ", 0) == 0);
  // A hostile unknown field name is shown cut short.
  const std::string long_name(1000, 'n');
  CHECK(detail_of_create("{\"" + long_name + "\":1}") ==
        "unknown field \"" + std::string(64, 'n') +
            "...\" (known: title, service, severity, description, escalation_policy)");
  // The cut never splits a UTF-8 character: 63 ASCII bytes then a two-byte character.
  const std::string split_name = std::string(63, 'n') + "\xc3\xa9" + "tail";
  CHECK(detail_of_create("{\"" + split_name + "\":1}") ==
        "unknown field \"" + std::string(63, 'n') +
            "...\" (known: title, service, severity, description, escalation_policy)");
}

TEST_CASE("parse_note_request: text required and non-blank") {
  std::string detail;
  auto r = parse_note_request(R"({"text":"restarted the pod"})", &detail);
  REQUIRE(r);
  CHECK(r->text == "restarted the pod");
  CHECK_FALSE(parse_note_request("", &detail));
  CHECK(detail == "the body is empty; expected a JSON object with \"text\"");
  CHECK_FALSE(parse_note_request("{}", &detail));
  CHECK(detail == "missing field \"text\"");
  CHECK_FALSE(parse_note_request(R"({"text":"   "})", &detail));
  CHECK(detail == "\"text\" must not be blank");
  CHECK_FALSE(parse_note_request(R"({"text":1})", &detail));
  CHECK(detail == "\"text\" must be a string, not a number");
  CHECK_FALSE(parse_note_request(R"({"note":"x"})", &detail));
  CHECK(detail == "unknown field \"note\" (known: text)");
  CHECK(parse_note_request("{\"text\":\"" + std::string(10000, 't') + "\"}", &detail));
  CHECK_FALSE(parse_note_request("{\"text\":\"" + std::string(10001, 't') + "\"}", &detail));
  CHECK(detail == "\"text\" is longer than 10000 characters");
}

TEST_CASE("parse_transition_request: the note is optional and so is the body") {
  std::string detail;
  auto r = parse_transition_request("", &detail);
  REQUIRE(r);
  CHECK(r->note.empty());
  r = parse_transition_request("  \n", &detail);
  REQUIRE(r);
  r = parse_transition_request("{}", &detail);
  REQUIRE(r);
  CHECK(r->note.empty());
  r = parse_transition_request(R"({"note":"looking"})", &detail);
  REQUIRE(r);
  CHECK(r->note == "looking");
  CHECK_FALSE(parse_transition_request(R"({"note":false})", &detail));
  CHECK(detail == "\"note\" must be a string, not a boolean");
  CHECK_FALSE(parse_transition_request(R"({"text":"x"})", &detail));
  CHECK(detail == "unknown field \"text\" (known: note)");
  CHECK_FALSE(parse_transition_request("nope", &detail));
  CHECK(detail == "invalid JSON at offset 1: Invalid value.");
  CHECK_FALSE(parse_transition_request("{\"note\":\"" + std::string(10001, 'n') + "\"}", &detail));
  CHECK(detail == "\"note\" is longer than 10000 characters");
}

TEST_CASE("parse_reassign_request: assignee required and bounded") {
  std::string detail;
  auto r = parse_reassign_request(R"({"assignee":"bob"})", &detail);
  REQUIRE(r);
  CHECK(r->assignee == "bob");
  CHECK_FALSE(parse_reassign_request("", &detail));
  CHECK(detail == "the body is empty; expected a JSON object with \"assignee\"");
  CHECK_FALSE(parse_reassign_request("{}", &detail));
  CHECK(detail == "missing field \"assignee\"");
  CHECK_FALSE(parse_reassign_request(R"({"assignee":""})", &detail));
  CHECK(detail == "\"assignee\" must not be blank");
  CHECK_FALSE(parse_reassign_request(R"({"assignee":["bob"]})", &detail));
  CHECK(detail == "\"assignee\" must be a string, not an array");
  CHECK(parse_reassign_request("{\"assignee\":\"" + std::string(200, 'a') + "\"}", &detail));
  CHECK_FALSE(parse_reassign_request("{\"assignee\":\"" + std::string(201, 'a') + "\"}", &detail));
  CHECK(detail == "\"assignee\" is longer than 200 characters");
}

TEST_CASE("parse_severity_request: one of the severities, lowercase out") {
  std::string detail;
  for (const auto s : incidents::severities) {
    auto r = parse_severity_request("{\"severity\":\"" + std::string(s) + "\"}", &detail);
    REQUIRE(r);
    CHECK(r->severity == s);
  }
  auto r = parse_severity_request(R"({"severity":"CrItIcAl"})", &detail);
  REQUIRE(r);
  CHECK(r->severity == "critical");
  CHECK_FALSE(parse_severity_request("", &detail));
  CHECK(detail == "the body is empty; expected a JSON object with \"severity\"");
  CHECK_FALSE(parse_severity_request("{}", &detail));
  CHECK(detail == "missing field \"severity\"");
  CHECK_FALSE(parse_severity_request(R"({"severity":"sev1"})", &detail));
  CHECK(detail == "\"severity\" must be one of critical, error, warning, info (got \"sev1\")");
  CHECK_FALSE(parse_severity_request(R"({"severity":" critical"})", &detail));
  CHECK(detail == "\"severity\" must be one of critical, error, warning, info (got \" critical\")");
  CHECK_FALSE(parse_severity_request(R"({"severity":2})", &detail));
  CHECK(detail == "\"severity\" must be a string, not a number");
}

TEST_CASE("parse_audit_query: pagination only") {
  std::string detail;
  auto q = parse_audit_query({}, &detail);
  REQUIRE(q);
  CHECK(q->limit == 100);
  CHECK(q->offset == 0);
  q = parse_audit_query(http::parse_query("limit=1000&offset=5"), &detail);
  REQUIRE(q);
  CHECK(q->limit == 1000);
  CHECK(q->offset == 5);
  CHECK_FALSE(parse_audit_query(http::parse_query("limit=0"), &detail));
  CHECK(detail == "limit must be a whole number from 1 to 1000 (got \"0\")");
  CHECK_FALSE(parse_audit_query(http::parse_query("limit=1001"), &detail));
  CHECK(detail == "limit must be a whole number from 1 to 1000 (got \"1001\")");
  CHECK_FALSE(parse_audit_query(http::parse_query("actor=x"), &detail));
  CHECK(detail == "unknown query parameter \"actor\" (known: limit, offset)");
}

TEST_CASE("parse_time_ms: unix ms, RFC 3339 and the decoded '+'") {
  CHECK(parse_time_ms("0") == 0);
  CHECK(parse_time_ms("1767225600000") == 1767225600000);
  CHECK(parse_time_ms("2026-01-01T00:00:00Z") == 1767225600000);
  CHECK(parse_time_ms("2026-01-01T00:00:00.250Z") == 1767225600250);
  CHECK(parse_time_ms("2026-01-01T02:00:00+02:00") == 1767225600000);
  CHECK(parse_time_ms("2026-01-01T02:00:00 02:00") == 1767225600000);
  CHECK(parse_time_ms("2025-12-31T22:00:00-02:00") == 1767225600000);
  CHECK_FALSE(parse_time_ms(""));
  CHECK_FALSE(parse_time_ms(" 5"));
  CHECK_FALSE(parse_time_ms("5.5"));
  CHECK_FALSE(parse_time_ms("2026-01-01"));
  CHECK_FALSE(parse_time_ms("2026-01-01T00:00:00 "));
  CHECK_FALSE(parse_time_ms("2026-01-01T00:00:00Z 02:00"));
  CHECK(parse_time_ms(std::string(15, '9')) == 999999999999999);
  CHECK_FALSE(parse_time_ms(std::string(16, '9')));
}
