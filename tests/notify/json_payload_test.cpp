#include <doctest/doctest.h>

#include <rapidjson/document.h>

#include "notify/pagerduty.hpp"
#include "notify/slack.hpp"
#include "notify/text.hpp"
#include "notify/webhook.hpp"
#include "tests/notify/sample.hpp"

using namespace wk::notify;
using namespace wk::notify::testing;

namespace {

rapidjson::Document parse(const std::string& body) {
  rapidjson::Document d;
  d.Parse<rapidjson::kParseValidateEncodingFlag>(body.data(), body.size());
  REQUIRE_MESSAGE(!d.HasParseError(), "invalid JSON: ", body.substr(0, 200));
  REQUIRE(d.IsObject());
  return d;
}

std::string str(const rapidjson::Value& v, const char* key) {
  REQUIRE_MESSAGE(v.HasMember(key), "missing ", key);
  REQUIRE_MESSAGE(v[key].IsString(), key, " is not a string");
  return std::string(v[key].GetString(), v[key].GetStringLength());
}

std::string huge_annotation() {
  std::string s;
  s.reserve(2 << 20);
  while (s.size() < (2u << 20))
    s += "Łódź é ";
  return s;
}

}  // namespace

TEST_CASE("text: RFC 3339 formatting") {
  CHECK(format_rfc3339(0) == "1970-01-01T00:00:00Z");
  CHECK(format_rfc3339(t0_ms) == "2026-03-29T07:00:00Z");
  CHECK(format_rfc3339(t0_ms + 250) == "2026-03-29T07:00:00.25Z");
  CHECK(format_rfc3339(t0_ms + 7) == "2026-03-29T07:00:00.007Z");
  CHECK(format_rfc3339(951782400000) == "2000-02-29T00:00:00Z");
  CHECK(format_rfc3339(-1) == "1969-12-31T23:59:59.999Z");
  CHECK(format_rfc3339(INT64_MAX) == "9999-12-31T23:59:59.999Z");
  CHECK(format_rfc3339(INT64_MIN) == "0001-01-01T00:00:00Z");
}

TEST_CASE("text: clipping huge input reads only what it needs and still marks the cut") {
  std::string four_byte;
  for (int i = 0; i < 100; ++i)
    four_byte += "🔥";
  std::string clipped = clip_utf8(four_byte, 20);
  CHECK(utf8_length(clipped) == 20);
  CHECK(clipped.find(truncation_marker) != std::string::npos);
  CHECK(clip_utf8("short\xff", 20) == "short\xEF\xBF\xBD");
  CHECK(clip_utf8(four_byte.substr(0, 80), 20) == four_byte.substr(0, 80));
}

TEST_CASE("text: UTF-8 repair and truncation never split a code point") {
  CHECK(sanitize_utf8("ok é 🔥") == "ok é 🔥");
  CHECK(sanitize_utf8("a\xff"
                      "b") ==
        "a\xEF\xBF\xBD"
        "b");
  CHECK(sanitize_utf8("\xC0\xAF") == "\xEF\xBF\xBD\xEF\xBF\xBD");                  // overlong '/'
  CHECK(sanitize_utf8("\xED\xA0\x80") == "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate
  CHECK(sanitize_utf8("\xE2\x82") == "\xEF\xBF\xBD\xEF\xBF\xBD");                  // cut short
  CHECK(truncate_utf8("short", 10) == "short");
  std::string cut = truncate_utf8("ééééééééééééééééééééé", 15);
  CHECK(utf8_length(cut) == 15);
  CHECK(cut == "ééé" + std::string(truncation_marker));
  CHECK(sanitize_utf8(cut) == cut);
}

TEST_CASE("slack: golden payload with every block") {
  slack_options o;
  o.channel = "#payments-oncall";
  o.username = "Watchkeeper";
  o.icon_emoji = ":rotating_light:";
  std::string body = slack_payload(sample(), o);
  CHECK(body == golden("slack_trigger.good.json", body));
  auto d = parse(body);
  CHECK(str(d, "text") == "[TRIGGERED] checkout is down");
  CHECK(str(d, "channel") == "#payments-oncall");
  const auto& blocks = d["blocks"];
  REQUIRE(blocks.IsArray());
  REQUIRE(blocks.Size() == 4);
  CHECK(str(blocks[0], "type") == "header");
  CHECK(str(blocks[0]["text"], "type") == "plain_text");
  CHECK(str(blocks[1], "type") == "section");
  CHECK(str(blocks[1]["text"], "type") == "mrkdwn");
  CHECK(blocks[1]["fields"].Size() == 4);
  CHECK(str(blocks[2], "type") == "context");
  CHECK(str(blocks[3], "type") == "actions");
  CHECK(str(blocks[3]["elements"][0], "url") == "https://wk.example.com/incidents/inc-42");
}

TEST_CASE("slack: no options, templates, escaping and a non-http external URL") {
  auto n = sample();
  n.title = "disk <full> & \"hot\"";
  n.external_url = "javascript:alert(1)";
  slack_options o;
  o.text_template = "{{ .Service }} on fire: {{.CommonLabels.team}} {{ .Nope }}";
  auto d = parse(slack_payload(n, o));
  CHECK_FALSE(d.HasMember("channel"));
  CHECK_FALSE(d.HasMember("username"));
  CHECK(str(d, "text") == "[TRIGGERED] disk &lt;full&gt; &amp; \"hot\"");
  CHECK(str(d["blocks"][0]["text"], "text") == "[TRIGGERED] disk <full> & \"hot\"");
  CHECK(str(d["blocks"][1]["text"], "text") == "checkout on fire: payments {{ .Nope }}");
  CHECK(d["blocks"].Size() == 3);  // no button for a non-http URL
}

TEST_CASE("slack: a bare notification still has non-empty texts and no empty fields") {
  notification n;
  n.incident_id = "inc-1";
  auto d = parse(slack_payload(n, {}));
  CHECK(str(d, "text") == "[NOTIFICATION] ");
  CHECK(str(d["blocks"][1]["text"], "text") == "Incident inc-1");
  CHECK_FALSE(d["blocks"][1].HasMember("fields"));
  CHECK(d["blocks"].Size() == 3);
}

TEST_CASE("slack: a 2 MB annotation and a long title stay within block limits") {
  auto n = sample();
  n.common_annotations["summary"] = huge_annotation();
  n.title = std::string(400, 'T');
  std::string body = slack_payload(n, {});
  CHECK(body.size() < 20000);
  auto d = parse(body);
  std::string header = str(d["blocks"][0]["text"], "text");
  CHECK(utf8_length(header) == 150);
  CHECK(header.find(truncation_marker) != std::string::npos);
  std::string section = str(d["blocks"][1]["text"], "text");
  CHECK(utf8_length(section) <= 3000);
  CHECK(section.size() >= 2900);
  CHECK(section.find(truncation_marker) != std::string::npos);
  CHECK(utf8_length(str(d, "text")) <= 3000);
}

TEST_CASE("slack: escaping cannot push a section over its limit") {
  auto n = sample();
  n.common_annotations["summary"] = std::string(5000, '<');
  auto d = parse(slack_payload(n, {}));
  std::string section = str(d["blocks"][1]["text"], "text");
  CHECK(utf8_length(section) <= 3000);
  CHECK(section.rfind("&lt;", 0) == 0);
  CHECK(section.find("&l" + std::string(truncation_marker)) == std::string::npos);
}

TEST_CASE("pagerduty: golden trigger with every field") {
  std::string body = pagerduty_payload(sample(), "0123456789abcdef0123456789abcdef");
  CHECK(body == golden("pagerduty_trigger.good.json", body));
  auto d = parse(body);
  CHECK(str(d, "routing_key") == "0123456789abcdef0123456789abcdef");
  CHECK(str(d, "event_action") == "trigger");
  CHECK(str(d, "dedup_key") == "watchkeeper/inc-42");
  const auto& p = d["payload"];
  CHECK(str(p, "summary") == "checkout is down");
  CHECK(str(p, "source") == "checkout");
  CHECK(str(p, "severity") == "critical");
  CHECK(str(p, "timestamp") == "2026-03-29T07:00:01.5Z");
  CHECK(str(p, "component") == "checkout");
  CHECK(str(p, "group") == "payments");
  CHECK(str(p, "class") == "ServiceDown");
  REQUIRE(p["custom_details"].IsObject());
  CHECK(p["custom_details"]["alerts"].Size() == 2);
  CHECK(str(d, "client") == "Watchkeeper");
  CHECK(str(d, "client_url") == "https://wk.example.com/incidents/inc-42");
  REQUIRE(d["links"].IsArray());
  CHECK(str(d["links"][0], "href") == "https://wk.example.com/incidents/inc-42");
  CHECK(str(d["links"][1], "href") == "https://wk.example.com/graph?g0.expr=up%3D%3D0");
}

TEST_CASE("pagerduty: acknowledge and resolve carry the same dedup_key and nothing else") {
  auto n = sample();
  n.transition = n.status = "acknowledged";
  std::string ack = pagerduty_payload(n, "rk");
  CHECK(ack ==
        R"({"routing_key":"rk","event_action":"acknowledge","dedup_key":"watchkeeper/inc-42"})");
  n.transition = n.status = "resolved";
  CHECK(pagerduty_payload(n, "rk") ==
        R"({"routing_key":"rk","event_action":"resolve","dedup_key":"watchkeeper/inc-42"})");
  n.transition = "escalated";
  n.status = "triggered";
  CHECK(str(parse(pagerduty_payload(n, "rk")), "event_action") == "trigger");
}

TEST_CASE("pagerduty: severity mapping and dedup key limits") {
  CHECK(pagerduty_severity("CRITICAL") == "critical");
  CHECK(pagerduty_severity("warning") == "warning");
  CHECK(pagerduty_severity("info") == "info");
  CHECK(pagerduty_severity("page") == "critical");
  CHECK(pagerduty_severity("minor") == "warning");
  CHECK(pagerduty_severity("") == "error");
  CHECK(pagerduty_severity("bogus") == "error");
  std::string long_id(300, 'x');
  std::string key = pagerduty_dedup_key(long_id);
  CHECK(key.size() <= 255);
  CHECK(key.rfind("watchkeeper/sha256:", 0) == 0);
  CHECK(key == pagerduty_dedup_key(long_id));
  CHECK(key != pagerduty_dedup_key(long_id + "y"));
}

TEST_CASE("pagerduty: a 2 MB annotation and many alerts stay under 512 KB") {
  auto n = sample();
  n.title = huge_annotation();
  n.common_annotations["description"] = huge_annotation();
  n.alerts.resize(5000, n.alerts[0]);
  for (std::size_t i = 0; i < 3; ++i)
    n.alerts[i].annotations["runbook"] = huge_annotation();
  for (std::size_t i = 0; i < n.alerts.size(); ++i)
    n.alerts[i].labels["instance"] = std::string(200, 'i') + std::to_string(i);
  std::string body = pagerduty_payload(n, "rk");
  CHECK(body.size() <= 512000);
  auto d = parse(body);
  std::string summary = str(d["payload"], "summary");
  CHECK(utf8_length(summary) == 1024);
  CHECK(summary.find(truncation_marker) != std::string::npos);
  const auto& details = d["payload"]["custom_details"];
  CHECK(details["alerts"].Size() == 20);
  CHECK(details["alerts_not_listed"].GetInt64() == 4980);
  std::string desc = str(details["common_annotations"], "description");
  CHECK(utf8_length(desc) <= 8192);
  CHECK(desc.find(truncation_marker) != std::string::npos);
  std::string runbook = str(details["alerts"][0]["annotations"], "runbook");
  CHECK(utf8_length(runbook) <= 8192);
  CHECK(runbook.find(truncation_marker) != std::string::npos);
}

TEST_CASE("webhook: golden Alertmanager v4 body") {
  std::string body = webhook_payload(sample());
  CHECK(body == golden("webhook_v4.good.json", body));
  auto d = parse(body);
  CHECK(str(d, "version") == "4");
  CHECK(str(d, "groupKey") == sample().group_key);
  CHECK(d["truncatedAlerts"].GetInt() == 0);
  CHECK(str(d, "status") == "firing");
  CHECK(str(d, "receiver") == "team-payments");
  CHECK(d["groupLabels"].IsObject());
  CHECK(d["commonLabels"].IsObject());
  CHECK(d["commonAnnotations"].IsObject());
  CHECK(str(d, "externalURL") == "https://wk.example.com/");
  const auto& alerts = d["alerts"];
  REQUIRE(alerts.Size() == 2);
  CHECK(str(alerts[0], "status") == "firing");
  CHECK(str(alerts[0], "startsAt") == "2026-03-29T06:59:00Z");
  CHECK(str(alerts[0], "endsAt") == "0001-01-01T00:00:00Z");
  CHECK(str(alerts[1], "endsAt") == "2026-03-29T06:59:29.75Z");
  CHECK(str(alerts[0], "generatorURL") == "https://wk.example.com/graph?g0.expr=up%3D%3D0");
  CHECK(str(alerts[0], "fingerprint") == "5f3c8a1e2b4d6f70");
  CHECK(alerts[0]["labels"].IsObject());
  CHECK(alerts[0]["annotations"].IsObject());
}

TEST_CASE("webhook: max_alerts truncation and resolved status") {
  auto n = sample();
  auto d = parse(webhook_payload(n, 1));
  CHECK(d["alerts"].Size() == 1);
  CHECK(d["truncatedAlerts"].GetInt() == 1);
  CHECK(parse(webhook_payload(n, 5))["truncatedAlerts"].GetInt() == 0);
  n.alerts[0].status = "resolved";
  CHECK(str(parse(webhook_payload(n)), "status") == "resolved");
  n.alerts.clear();
  n.status = "triggered";
  CHECK(str(parse(webhook_payload(n)), "status") == "firing");
  n.status = "resolved";
  CHECK(str(parse(webhook_payload(n)), "status") == "resolved");
}

TEST_CASE("webhook: unicode, quotes, control characters and broken UTF-8 stay valid JSON") {
  auto n = sample();
  n.alerts.resize(1);
  n.alerts[0].labels = {{"msg", "line1\nline2\t\"q\" \\ \x01 🔥 Zürich"}, {"bad\xff", "v\xc3"}};
  std::string body = webhook_payload(n);
  CHECK(body.find(R"("msg":"line1\nline2\t\"q\" \\ \u0001 🔥 Zürich")") != std::string::npos);
  auto d = parse(body);
  CHECK(str(d["alerts"][0]["labels"], "bad\xEF\xBF\xBD") == "v\xEF\xBF\xBD");
}

TEST_CASE("webhook: HMAC-SHA256 signatures against openssl dgst") {
  // The contract: HMAC of the raw body (RFC 4231 test case 2).
  // printf '%s' 'what do ya want for nothing?' | openssl dgst -sha256 -hmac Jefe
  CHECK(webhook_signature("Jefe", "what do ya want for nothing?") ==
        "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  // printf '%s' '{"version":"4"}' | openssl dgst -sha256 -hmac s3cr3t
  CHECK(webhook_signature("s3cr3t", R"({"version":"4"})") ==
        "sha256=9c80cdd55918d7e48dd29c737c894f490dcb05fb36a72dc3664172eef0f54e5a");
  // printf '%s' '1700000000.what do ya want for nothing?' | openssl dgst -sha256 -hmac Jefe
  CHECK(webhook_timestamp_signature("Jefe", 1700000000, "what do ya want for nothing?") ==
        "sha256=1cdd0650c8be1cb0974b1788d458b1e781206cfef59b85faafc582d2e182c57e");
  // printf '%s' '1700000000.{"version":"4"}' | openssl dgst -sha256 -hmac s3cr3t
  CHECK(webhook_timestamp_signature("s3cr3t", 1700000000, R"({"version":"4"})") ==
        "sha256=f8f5a6838a9c2ab362672eaa3668037c0e3a9185620ecca355a931ac39f52fc4");
  CHECK(webhook_timestamp_signature("s3cr3t", 1700000001, R"({"version":"4"})") !=
        webhook_timestamp_signature("s3cr3t", 1700000000, R"({"version":"4"})"));
  CHECK(idempotency_key("inc-42", "triggered", 3) == "inc-42:triggered:3");
}
