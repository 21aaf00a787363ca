#include <doctest/doctest.h>

#include <yaml-cpp/yaml.h>

#include "incidents/dispatch.hpp"
#include "incidents/engine.hpp"
#include "notify/matcher.hpp"

using namespace wk;
using namespace wk::incidents;

namespace {

const char* config_yaml = R"(
notifications:
  smtp: {url: "smtp://127.0.0.1:2525", from: "Watchkeeper <wk@example.com>"}
  receivers:
    - name: ops-slack
      slack: {url: "http://127.0.0.1:9/slack"}
    - name: pd
      pagerduty: {routing_key: "R0UTING", url: "http://127.0.0.1:9/pd"}
    - name: hook
      webhook: {url: "http://127.0.0.1:9/hook", secret: s3cret}
    - name: mail
      email: {to: ["ops@example.com", "Lead <lead@example.com>"]}
  route:
    receiver: ops-slack
    routes:
      - matchers: ['severity="critical"']
        receiver: pd
        continue: true
      - matchers: ['service="db"']
        receiver: hook
users:
  - id: alice
    name: Alice
    contacts: [{type: email, address: alice@example.com}, {type: webhook, address: "http://127.0.0.1:9/alice"}]
  - id: bob
    name: Bob
    contacts: [{type: email, address: bob@example.com}]
schedules:
  - name: primary
    layers:
      - name: daily
        users: [alice, bob]
        start: 2026-01-01T00:00:00Z
        rotation: daily
        time_zone: UTC
escalation_policies:
  - name: default
    levels:
      - delay: 5m
        targets: [{schedule: primary}]
      - delay: 5m
        targets: [{user: bob}, {channel: mail}]
)";

struct fixture {
  notify::notifications_config notifications;
  oncall::oncall_config oncall;
  fixture() {
    std::vector<std::string> errors;
    auto root = YAML::Load(config_yaml);
    notifications = notify::parse_notifications(root["notifications"], errors, "", nullptr,
                                                "http://wk.example.com:3006");
    oncall = oncall::parse_oncall(root, errors, "");
    for (const auto& e : errors) FAIL_CHECK(e);
  }
  directory dir() const { return directory{&notifications, &oncall, "http://wk.example.com:3006"}; }
};

incident incident_for(const std::string& service, const std::string& severity) {
  settings s;
  alert_event e;
  e.fingerprint = "fp1";
  e.alertname = "Down";
  e.service = service;
  e.labels = {{"alertname", "Down"}, {"service", service}, {"severity", severity}};
  e.annotations = {{"summary", service + " is down"}};
  e.at_ms = e.starts_at_ms = 1'767'225'600'000;  // 2026-01-01T00:00:00Z
  change c;
  auto i = open_for_alert(42, s, e, "default", c);
  i.version = 1;
  return i;
}

}  // namespace

TEST_CASE("the route tree picks receivers, continue lets several match") {
  fixture f;
  CHECK(route_receivers(incident_for("api", "warning"), f.notifications) ==
        std::vector<std::string>{"ops-slack"});
  // As in Alertmanager: the root's receiver is the fallback only when no child matches.
  CHECK(route_receivers(incident_for("api", "critical"), f.notifications) ==
        std::vector<std::string>{"pd"});
  CHECK(route_receivers(incident_for("db", "critical"), f.notifications) ==
        std::vector<std::string>{"pd", "hook"});
  notify::notifications_config none;
  CHECK(route_receivers(incident_for("api", "critical"), none).empty());
}

TEST_CASE("escalation levels reach schedules' on-call users, users and channels") {
  fixture f;
  const auto& policy = f.oncall.escalation_policies.at(0);
  const std::int64_t day0 = 1'767'225'600'000 + 3600'000;  // alice's turn
  std::vector<std::string> unreached;
  CHECK(level_receivers(policy.levels[0], f.oncall, day0, &unreached) ==
        std::vector<std::string>{"user:alice:0", "user:alice:1"});
  CHECK(level_receivers(policy.levels[0], f.oncall, day0 + 86'400'000, &unreached) ==
        std::vector<std::string>{"user:bob:0"});
  CHECK(unreached.empty());
  CHECK(level_receivers(policy.levels[1], f.oncall, day0, &unreached) ==
        std::vector<std::string>{"user:bob:0", "mail"});
  // Before the rotation starts nobody is on call: reported, not silently dropped.
  CHECK(level_receivers(policy.levels[0], f.oncall, 0, &unreached).empty());
  REQUIRE(unreached.size() == 1);
  CHECK(unreached[0] == "nobody is on call for schedule primary");
}

TEST_CASE("render gives each channel its payload, target and stable keys") {
  fixture f;
  auto i = incident_for("db", "critical");
  std::string error;
  auto pd = render(i, "pd", "triggered", "", f.dir(), 1000, &error);
  REQUIRE(pd);
  CHECK(pd->channel == "pagerduty");
  CHECK(pd->target == "http://127.0.0.1:9/pd");
  CHECK(pd->dedup_key == "42:pd:triggered:0");
  CHECK(pd->body.find("\"dedup_key\":\"watchkeeper/42\"") != std::string::npos);
  CHECK(pd->body.find("\"routing_key\":\"R0UTING\"") != std::string::npos);
  CHECK(pd->body.find("\"event_action\":\"trigger\"") != std::string::npos);

  auto hook = render(i, "hook", "triggered", "", f.dir(), 1000, &error);
  REQUIRE(hook);
  CHECK(hook->channel == "webhook");
  CHECK(hook->delivery_key == "42:triggered:0");
  CHECK(hook->body.find("\"version\":\"4\"") != std::string::npos);
  CHECK(hook->body.find("\"status\":\"firing\"") != std::string::npos);

  auto mail = render(i, "mail", "triggered", "", f.dir(), 1000, &error);
  REQUIRE(mail);
  CHECK(mail->channel == "email");
  CHECK(mail->target == "ops@example.com,Lead <lead@example.com>");
  CHECK(mail->body.find("Message-ID: <incident-42@") != std::string::npos);

  auto slack = render(i, "ops-slack", "acknowledged", "on it", f.dir(), 1000, &error);
  REQUIRE(slack);
  CHECK(slack->channel == "slack");
  CHECK(slack->body.find("\"blocks\"") != std::string::npos);
  CHECK(slack->dedup_key == "42:ops-slack:acknowledged:0");

  auto contact = render(i, "user:alice:1", "escalated", "", f.dir(), 1000, &error);
  REQUIRE(contact);
  CHECK(contact->channel == "webhook");
  CHECK(contact->target == "http://127.0.0.1:9/alice");
  auto email_contact = render(i, "user:alice:0", "triggered", "", f.dir(), 1000, &error);
  REQUIRE(email_contact);
  CHECK(email_contact->channel == "email");
  CHECK(email_contact->target == "alice@example.com");

  // Rendering again gives the same bytes and keys; a reopened incident's trigger another key,
  // and each escalation step its own.
  auto again = render(i, "pd", "triggered", "", f.dir(), 1000, &error);
  CHECK(again->body == pd->body);
  CHECK(again->dedup_key == pd->dedup_key);
  i.reopen_count = 2;
  CHECK(render(i, "pd", "triggered", "", f.dir(), 1000, &error)->dedup_key == "42:pd:triggered:2");
  i.escalated = {{0, 0}, {1, 0}};
  CHECK(render(i, "pd", "escalated", "", f.dir(), 1000, &error)->dedup_key == "42:pd:escalated:2002");
  auto reminder = render(i, "pd", "reminder", "", f.dir(), 1000, &error, 3);
  CHECK(reminder->dedup_key == "42:pd:reminder:2000003");
  CHECK(reminder->body.find("\"event_action\":\"trigger\"") != std::string::npos);  // PagerDuty folds it by dedup_key

  CHECK_FALSE(render(i, "gone", "triggered", "", f.dir(), 1000, &error));
  CHECK(error == "receiver gone is no longer configured");
  CHECK_FALSE(render(i, "user:alice:7", "triggered", "", f.dir(), 1000, &error));
  CHECK_FALSE(render(i, "user:nobody:0", "triggered", "", f.dir(), 1000, &error));
}

TEST_CASE("route timers come from the first matching route, defaults without one") {
  fixture f;
  CHECK(group_wait_ms(incident_for("api", "warning"), f.notifications) == 0);
  CHECK(repeat_interval_ms(incident_for("api", "warning"), f.notifications) ==
        notify::default_repeat_interval_ms);
  notify::notifications_config none;
  CHECK(group_wait_ms(incident_for("api", "warning"), none) == 0);
}

TEST_CASE("notifications carry the incident's alerts and the labels they share") {
  settings s;
  auto i = incident_for("api", "warning");
  alert_event second;
  second.fingerprint = "fp2";
  second.alertname = "Slow";
  second.service = "api";
  second.labels = {{"alertname", "Slow"}, {"service", "api"}, {"severity", "warning"}};
  second.at_ms = 2000;
  apply_alert(i, s, second, false);
  auto n = to_notification(i, "triggered", "ops-slack", "", "http://wk", 5000);
  CHECK(n.incident_id == "42");
  CHECK(n.alerts.size() == 2);
  CHECK(n.common_labels == std::map<std::string, std::string>{{"service", "api"}, {"severity", "warning"}});
  CHECK(n.group_key == "api");
  CHECK(n.status == "triggered");
}

TEST_CASE("silences and maintenance windows hold notifications back only while they match") {
  auto i = incident_for("db", "critical");
  std::vector<silences::silence> sil(1);
  sil[0].id = "s1";
  REQUIRE_FALSE(notify::parse_matchers("service=\"db\"", sil[0].matchers));
  sil[0].starts_at_ms = 1000;
  sil[0].ends_at_ms = 2000;
  std::vector<silences::maintenance_window> windows;
  CHECK(suppression(i, sil, windows, 1500) == std::optional<std::string>("silenced by s1"));
  CHECK_FALSE(suppression(i, sil, windows, 2000));
  CHECK_FALSE(suppression(incident_for("api", "critical"), sil, windows, 1500));

  windows.resize(1);
  windows[0].name = "patch";
  windows[0].start_ms = 1000;
  windows[0].duration_ms = 5000;
  CHECK(suppression(i, sil, windows, 1500) ==
        std::optional<std::string>("silenced by s1; in maintenance patch"));
  CHECK(suppression(i, {}, windows, 3000) == std::optional<std::string>("in maintenance patch"));

  // One unmuted alert is enough to page.
  settings s;
  alert_event other;
  other.fingerprint = "fp9";
  other.alertname = "Other";
  other.service = "cache";
  other.labels = {{"service", "cache"}};
  other.at_ms = 1200;
  apply_alert(i, s, other, false);
  CHECK_FALSE(suppression(i, sil, {}, 1500));
}
