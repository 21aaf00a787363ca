#include "notify/receiver_config.hpp"

#include <doctest/doctest.h>
#include <yaml-cpp/yaml.h>

#include <chrono>
#include <map>

#include "tests/notify/sample.hpp"

using namespace wk::notify;

namespace {

const std::map<std::string, std::string> test_env = {{"SMTP_PASSWORD", "smtp-pass"},
                                                     {"SLACK_TOKEN", "xoxb-secret"},
                                                     {"PD_KEY", "pd-routing-key"},
                                                     {"EMPTY_KEY", ""},
                                                     {"HOOK_TOKEN", ""},
                                                     {"SPACED", "has space"}};

std::optional<std::string> lookup(const std::string& name) {
  auto it = test_env.find(name);
  if (it == test_env.end())
    return std::nullopt;
  return it->second;
}

notifications_config parse_text(const std::string& yaml, std::vector<std::string>& errors,
                                std::string_view external_url = "https://wk.example.com/") {
  YAML::Node doc = YAML::Load(yaml);
  return parse_notifications(doc["notifications"], errors, "wk.yml", lookup, external_url);
}

notifications_config parse_fixture(const std::string& name, std::vector<std::string>& errors) {
  YAML::Node doc = YAML::LoadFile(testing::fixture_path(name));
  return parse_notifications(doc["notifications"], errors, name, lookup,
                             "https://wk.example.com:8443/base");
}

std::string joined(const std::vector<std::string>& errors) {
  std::string out;
  for (const auto& e : errors)
    out += e + "\n";
  return out;
}

const std::string one_hook =
    "notifications:\n"
    "  receivers: [{name: a, webhook: {url: 'http://127.0.0.1:1/x'}}]\n";

}  // namespace

TEST_CASE("receivers: the contract's full example parses with every value") {
  std::vector<std::string> errors;
  notifications_config cfg = parse_fixture("receivers.good.yml", errors);
  INFO(joined(errors));
  REQUIRE(errors.empty());

  CHECK(cfg.smtp.configured);
  CHECK(cfg.smtp.url == "smtp://127.0.0.1:2525");
  CHECK(cfg.smtp.from == "Watchkeeper <wk@example.com>");
  CHECK(cfg.smtp.username == "wk");
  CHECK(cfg.smtp.password == "smtp-pass");
  CHECK(cfg.smtp.domain == "wk.example.com");  // host of external_url, port dropped
  CHECK(cfg.smtp.timeout_ms == 15000);
  CHECK(cfg.smtp.require_tls);  // a username makes TLS mandatory unless said otherwise

  REQUIRE(cfg.receivers.size() == 4);
  const receiver& slack = cfg.receivers[0];
  CHECK(slack.name == "ops-slack");
  CHECK(slack.type == receiver::kind::slack);
  CHECK(slack.url == "https://hooks.slack.com/services/T0/B0/xoxb-secret");
  CHECK(slack.slack.channel == "#ops");
  CHECK(slack.slack.username == "watchkeeper");
  CHECK(slack.slack.icon_emoji == ":rotating_light:");
  CHECK(slack.slack.title_template == "{{ .Tag }} {{ .Title }}");
  CHECK(slack.slack.text_template.empty());

  const receiver& pd = cfg.receivers[1];
  CHECK(pd.type == receiver::kind::pagerduty);
  CHECK(pd.routing_key == "pd-routing-key");
  CHECK(pd.url == "https://events.pagerduty.com/v2/enqueue");

  const receiver& hook = cfg.receivers[2];
  CHECK(hook.type == receiver::kind::webhook);
  CHECK(hook.url == "http://127.0.0.1:9999/hook");
  CHECK(hook.secret == "fallback-secret");
  CHECK(hook.max_alerts == 20);
  using header = std::pair<std::string, std::string>;
  CHECK(hook.headers == std::vector<header>{{"X-A", "b"}, {"Authorization", "Bearer none"}});

  const receiver& mail = cfg.receivers[3];
  CHECK(mail.type == receiver::kind::email);
  CHECK(mail.to == std::vector<std::string>{"ops@example.com", "Pager Duty <pager@example.com>"});
  CHECK(mail.subject_template == "[{{ .Tag }}] {{ .Service }}: {{ .Title }}");
  CHECK(mail.text_template == "{{ .Title }}\n{{ .IncidentURL }}\n");

  REQUIRE(cfg.root);
  const route& root = *cfg.root;
  CHECK(root.receiver == "ops-slack");
  CHECK(root.group_wait_ms == 0);  // omitted: notify at once
  CHECK(root.group_interval_ms == default_group_interval_ms);
  CHECK(root.group_by == std::vector<std::string>{"alertname", "service"});
  REQUIRE(root.routes.size() == 2);
  CHECK(root.routes[0].receiver == "pd");
  CHECK(root.routes[0].continue_);
  CHECK(root.routes[0].group_wait_ms == 0);  // inherited from the root
  REQUIRE(root.routes[0].routes.size() == 1);
  CHECK(root.routes[0].routes[0].receiver == "mail");
  CHECK(root.routes[0].routes[0].group_wait_ms == 0);
  CHECK(root.routes[1].group_wait_ms == 2000);
  auto receivers_for = [&](const std::map<std::string, std::string>& labels) {
    std::vector<std::string> out;
    for (const route* r : match_routes(root, labels))
      out.push_back(r->receiver);
    return out;
  };
  CHECK(receivers_for({{"severity", "critical"}, {"team", "db"}}) ==
        std::vector<std::string>{"mail"});
  CHECK(receivers_for({{"severity", "critical"}, {"team", "api"}}) ==
        std::vector<std::string>{"pd", "hook"});
  CHECK(receivers_for({{"severity", "info"}}) == std::vector<std::string>{"ops-slack"});

  CHECK(cfg.delivery.timeout_ms == 5000);
  CHECK(cfg.delivery.initial_backoff_ms == 500);
  CHECK(cfg.delivery.max_backoff_ms == 120000);
  CHECK(cfg.delivery.give_up_after_ms == 12 * 3600000);

  CHECK(cfg.find("hook") == &cfg.receivers[2]);
  CHECK(cfg.find("nope") == nullptr);
  CHECK(to_string(receiver::kind::slack) == "slack");
  CHECK(to_string(receiver::kind::pagerduty) == "pagerduty");
  CHECK(to_string(receiver::kind::webhook) == "webhook");
  CHECK(to_string(receiver::kind::email) == "email");
}

TEST_CASE("receivers: every mistake in the bad fixture is reported with file, line and key") {
  std::vector<std::string> errors;
  parse_fixture("receivers.bad.yml", errors);
  const std::string f = "receivers.bad.yml:";
  const std::vector<std::string> expected = {
      f + "4:10: notifications.smtp.url: must be an smtp:// or smtps:// URL",
      f + "5:11: notifications.smtp.from: not a mail address (\"Name <user@example.com>\" or "
          "\"user@example.com\"): \"not an address\"",
      f + "7:14: notifications.smtp.timeout: must be at most 24h",
      f + "8:5: notifications.smtp.tls: unknown key (known: url, from, username, password, domain, "
          "timeout, require_tls)",
      f + "6:15: notifications.smtp.password: set without a username",
      f + "11:20: notifications.receivers[0].slack.url: must be an http:// or https:// URL",
      f + "11:49: notifications.receivers[0].slack.chanel: unknown key (known: url, channel, "
          "username, icon_emoji, title_template, text_template)",
      f + "13:32: notifications.receivers[1].pagerduty.routing_key: must not be empty "
          "(\"${EMPTY_KEY:-}\" after environment expansion)",
      f + "15:59: notifications.receivers[2].webhook.max_alerts: must be a whole number from 0 (no "
          "limit) to 100000",
      f + "15:73: notifications.receivers[2].webhook.headers.X-Watchkeeper-Signature: set by "
          "Watchkeeper itself; it cannot be overridden",
      f + "15:106: notifications.receivers[2].webhook.headers.bad header: not a valid header name: "
          "\"bad header\"",
      f + "16:19: notifications.receivers[2].email.to: needs at least one recipient",
      f + "14:7: notifications.receivers[2]: has several channels (webhook, email); a receiver has "
          "exactly one",
      f + "17:7: notifications.receivers[3]: needs one of slack, pagerduty, webhook or email",
      f + "18:39: notifications.receivers[4].email.to[1]: not a mail address (\"Name "
          "<user@example.com>\" or \"user@example.com\"): \"no-at-sign\"",
      f + "18:72: notifications.receivers[4].email.subject_template: unknown template placeholder "
          "{{ .Nope }}",
      f + "18:7: notifications.receivers[4].name: missing",
      f + "19:13: notifications.receivers[5].name: environment variable \"UNSET_VAR\" is not set "
          "(write ${UNSET_VAR:-default} to give a default)",
      f + "20:22: notifications.receivers[5].webhook.url: has an invalid port \"99999\" (1-65535)",
      f + "28:14: notifications.delivery.timeout: must be greater than zero",
      f + "31:5: notifications.delivery.extra: unknown key (known: timeout, initial_backoff, "
          "max_backoff, give_up_after)",
      f + "30:18: notifications.delivery.max_backoff: must not be shorter than initial_backoff",
      f + "12:13: notifications.receivers[1].name: another receiver already has the name \"dup\"",
      f + "25:19: notifications.route.routes[0].receiver: unknown receiver \"ghost\"",
      f + "26:29: notifications.route.routes[0].routes[0].receiver: unknown receiver \"phantom\"",
      f + "23:17: notifications.route.group_wait: invalid duration \"soon\" (use e.g. 500ms, 30s, "
          "4h)",
  };
  INFO(joined(errors));
  CHECK(errors == expected);
}

TEST_CASE("receivers: an absent or empty section is an empty configuration") {
  std::vector<std::string> errors;
  notifications_config cfg = parse_text("server: {}\n", errors);
  CHECK(errors.empty());
  CHECK(cfg.receivers.empty());
  CHECK_FALSE(cfg.root);
  CHECK_FALSE(cfg.smtp.configured);
  CHECK(cfg.delivery.timeout_ms == 10000);
  CHECK(cfg.delivery.give_up_after_ms == 86400000);

  cfg = parse_text("notifications:\n", errors);
  CHECK(errors.empty());
  cfg = parse_text("notifications: {receivers: [], smtp: , delivery: }\n", errors);
  CHECK(errors.empty());
  CHECK_FALSE(cfg.smtp.configured);

  parse_text("notifications: [a]\n", errors);
  CHECK(errors == std::vector<std::string>{"wk.yml:1:16: notifications: must be a mapping"});
}

TEST_CASE("receivers: environment expansion follows the config loader's rules") {
  std::vector<std::string> errors;
  notifications_config cfg = parse_text(
      one_hook +
          "  smtp: {url: 'smtp://h:25', from: 'a@b.example', username: 'u$$er', password: "
          "'${SMTP_PASSWORD}x$y${EMPTY_KEY:-d}'}\n"
          "  route: {receiver: '${RECV:-a}'}\n",
      errors);
  INFO(joined(errors));
  REQUIRE(errors.empty());
  CHECK(cfg.smtp.username == "u$er");
  CHECK(cfg.smtp.password == "smtp-passx$yd");
  REQUIRE(cfg.root);
  CHECK(cfg.root->receiver == "a");
  CHECK(cfg.root->group_wait_ms == 0);

  // Errors in an expanded route tree still point into the file.
  errors.clear();
  parse_text(one_hook +
                 "  route:\n"
                 "    receiver: '${RECV:-a}'\n"
                 "    group_wait: soon\n"
                 "    routes: [{receiver: '${RECV:-ghost}x'}]\n",
             errors);
  CHECK(errors ==
        std::vector<std::string>{
            "wk.yml:6:25: notifications.route.routes[0].receiver: unknown receiver \"ghostx\"",
            "wk.yml:5:17: notifications.route.group_wait: invalid duration \"soon\" (use "
            "e.g. 500ms, 30s, 4h)"});

  // A secret that makes a value invalid is not repeated in the message.
  errors.clear();
  parse_text(
      "notifications:\n"
      "  receivers: [{name: p, pagerduty: {routing_key: '${SPACED}'}}]\n"
      "  route: {receiver: p}\n",
      errors);
  REQUIRE(errors.size() == 1);
  CHECK(errors[0] ==
        "wk.yml:2:50: notifications.receivers[0].pagerduty.routing_key: must not contain spaces "
        "(\"${SPACED}\" after environment expansion)");
  CHECK(errors[0].find("has space") == std::string::npos);

  errors.clear();
  parse_text(
      one_hook +
          "  route: {receiver: a, routes: [{receiver: '${NOPE}', matchers: ['x=\"${A'] }]}\n",
      errors);
  CHECK(errors == std::vector<std::string>{
                      "wk.yml:3:44: notifications.route.routes[0].receiver: environment variable "
                      "\"NOPE\" is not set (write ${NOPE:-default} to give a default)",
                      "wk.yml:3:66: notifications.route.routes[0].matchers[0]: \"${\" without a "
                      "closing \"}\" (write \"$$\" for a literal \"$\")"});
}

TEST_CASE("receivers: a YAML alias is expanded once, however often it is used") {
  std::vector<std::string> errors;
  notifications_config cfg =
      parse_text(one_hook +
                     "  route:\n"
                     "    receiver: a\n"
                     "    routes:\n"
                     "      - {matchers: &m ['price=\"$${X}\"'], receiver: a}\n"
                     "      - {matchers: *m, receiver: a}\n",
                 errors);
  INFO(joined(errors));
  REQUIRE(errors.empty());
  REQUIRE(cfg.root);
  REQUIRE(cfg.root->routes.size() == 2);
  for (const auto& child : cfg.root->routes) {
    REQUIRE(child.matchers.size() == 1);
    CHECK(child.matchers[0].value() == "${X}");
  }
}

TEST_CASE("receivers: group_wait is 0 unless the route sets it, and children inherit it") {
  std::vector<std::string> errors;
  notifications_config cfg = parse_text(
      one_hook +
          "  route: {receiver: a, group_wait: 5s, routes: [{receiver: a, matchers: ['x=y']}]}\n",
      errors);
  REQUIRE(errors.empty());
  CHECK(cfg.root->group_wait_ms == 5000);
  CHECK(cfg.root->routes[0].group_wait_ms == 5000);

  cfg = parse_text(one_hook + "  route: {receiver: a, routes: [{receiver: a, group_wait: 3s}]}\n",
                   errors);
  REQUIRE(errors.empty());
  CHECK(cfg.root->group_wait_ms == 0);
  CHECK(cfg.root->routes[0].group_wait_ms == 3000);
}

TEST_CASE("receivers: receivers need a route, routes need receivers, email needs smtp") {
  std::vector<std::string> errors;
  INFO(joined(errors));
  parse_text(one_hook, errors);
  CHECK(errors == std::vector<std::string>{
                      "wk.yml:2:3: notifications.route: missing: receivers are configured but no "
                      "route sends alerts to them"});

  errors.clear();
  parse_text("notifications:\n  route: {receiver: a}\n", errors);
  CHECK(errors == std::vector<std::string>{
                      "wk.yml:2:21: notifications.route.receiver: unknown receiver \"a\" (no "
                      "receivers are configured)"});

  errors.clear();
  parse_text(
      "notifications:\n"
      "  receivers: [{name: m, email: {to: ops@example.com}}]\n"
      "  route: {receiver: m}\n",
      errors);
  CHECK(errors ==
        std::vector<std::string>{"wk.yml:2:32: notifications.receivers[0].email: email needs "
                                 "notifications.smtp (url and from of the mail relay)"});

  errors.clear();
  parse_text("notifications:\n  smtp: {username: u}\n", errors);
  CHECK(errors ==
        std::vector<std::string>{
            "wk.yml:2:9: notifications.smtp.url: missing (smtp://host:port or smtps://host:port)",
            "wk.yml:2:9: notifications.smtp.from: missing (the sender address, e.g. \"Watchkeeper "
            "<wk@example.com>\")"});

  errors.clear();
  parse_text("notifications:\n  route: {receiver: a}\n  receivers: [{name: a, slack: {}}]\n",
             errors);
  CHECK(errors == std::vector<std::string>{"wk.yml:3:32: notifications.receivers[0].slack.url: "
                                           "missing (the Slack incoming-webhook URL)"});
}

TEST_CASE("receivers: SMTP domain and TLS defaults") {
  std::vector<std::string> errors;
  INFO(joined(errors));
  const std::string smtp = "notifications:\n  smtp: {url: 'smtps://mail.example.com', from: ";
  notifications_config cfg =
      parse_text(smtp + "'WK <wk@Alerts.Example.org>'}\n", errors, "https://user@[::1]:3006/x");
  REQUIRE(errors.empty());
  CHECK(cfg.smtp.domain == "[::1]");
  CHECK_FALSE(cfg.smtp.require_tls);
  CHECK(cfg.smtp.timeout_ms == 10000);

  cfg = parse_text(smtp + "'WK <wk@Alerts.Example.org>'}\n", errors, "");
  CHECK(cfg.smtp.domain == "alerts.example.org");
  cfg =
      parse_text(smtp + "x@y.example, domain: mail.example.net, username: u, require_tls: false}\n",
                 errors, "");
  CHECK(cfg.smtp.domain == "mail.example.net");
  CHECK_FALSE(cfg.smtp.require_tls);
  CHECK(errors.empty());

  parse_text(smtp + "x@y.example, domain: 'a b', require_tls: maybe}\n", errors);
  CHECK(errors == std::vector<std::string>{
                      "wk.yml:2:70: notifications.smtp.domain: not a domain name: \"a b\"",
                      "wk.yml:2:90: notifications.smtp.require_tls: must be true or false"});
}

TEST_CASE("receivers: names, lists and values have limits") {
  std::vector<std::string> errors;
  INFO(joined(errors));
  parse_text("notifications:\n  receivers: [{name: '" + std::string(200, 'n') +
                 "', webhook: {url: 'http://h/'}}]\n  route: {receiver: x}\n",
             errors);
  REQUIRE(errors.size() == 2);
  CHECK(errors[0] == "wk.yml:2:22: notifications.receivers[0].name: longer than 128 bytes");

  errors.clear();
  parse_text(one_hook + "  route: {receiver: a}\n  smtp: {url: smtp://h, from: a@b.c, password: '" +
                 std::string(70000, 'p') + "'}\n",
             errors);
  CHECK(errors == std::vector<std::string>{
                      "wk.yml:4:48: notifications.smtp.password: longer than 65536 bytes"});

  errors.clear();
  std::string headers;
  for (int i = 0; i < 101; ++i)
    headers += (i ? ", H" : "H") + std::to_string(i) + ": v";
  parse_text("notifications:\n  receivers: [{name: a, webhook: {url: 'http://h/', headers: {" +
                 headers + "}}}]\n  route: {receiver: a}\n",
             errors);
  CHECK(errors ==
        std::vector<std::string>{
            "wk.yml:2:62: notifications.receivers[0].webhook.headers: more than 100 headers"});
}

TEST_CASE("receivers: an alias bomb in the route tree is refused quickly") {
  // Six levels of ten aliases each: a million routes from a few hundred bytes.
  std::string yaml = "anchors:\n  - &r0 {receiver: a}\n";
  for (int level = 1; level <= 6; ++level) {
    yaml += "  - &r" + std::to_string(level) + " {receiver: a, routes: [";
    for (int i = 0; i < 10; ++i)
      yaml += (i ? ", *r" : "*r") + std::to_string(level - 1);
    yaml += "]}\n";
  }
  yaml += one_hook + "  route: {receiver: a, routes: [*r6]}\n";
  std::vector<std::string> errors;
  const auto start = std::chrono::steady_clock::now();
  notifications_config cfg = parse_text(yaml, errors);
  const auto took = std::chrono::steady_clock::now() - start;
  INFO(joined(errors));
  CHECK(took < std::chrono::seconds(2));
  REQUIRE(errors.size() == 1);
  CHECK(errors[0] ==
        "wk.yml:2:5: notifications.route.routes[0].routes[0].routes[0].routes[8].routes[9]."
        "routes[9].routes[7]: more than 10000 routes (aliases counted)");
  CHECK_FALSE(cfg.root);
}

TEST_CASE("receivers: route nesting beyond parse_route's limit keeps the notifications path") {
  std::string route = "{receiver: a}";
  for (int i = 0; i < 40; ++i)
    route = "{receiver: a, routes: [" + route + "]}";
  std::vector<std::string> errors;
  parse_text(one_hook + "  route: " + route + "\n", errors);
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].rfind("wk.yml:3:", 0) == 0);
  CHECK(errors[0].find(": notifications.route.routes[0].routes[0]") != std::string::npos);
  CHECK(errors[0].find("routes nested deeper than 32 levels") != std::string::npos);
}

TEST_CASE("receivers: mail_address accepts mailboxes and rejects the rest") {
  CHECK(mail_address("ops@example.com") == std::optional<std::string>("ops@example.com"));
  CHECK(mail_address("  Ops Team <ops@example.com> ") ==
        std::optional<std::string>("ops@example.com"));
  CHECK(mail_address("\"Doe, J <x>\" <j.doe+wk@mail.example.com>") ==
        std::optional<std::string>("j.doe+wk@mail.example.com"));
  CHECK(mail_address("ops@[127.0.0.1]") == std::optional<std::string>("ops@[127.0.0.1]"));
  CHECK_FALSE(mail_address(""));
  CHECK_FALSE(mail_address("ops"));
  CHECK_FALSE(mail_address("@example.com"));
  CHECK_FALSE(mail_address("ops@"));
  CHECK_FALSE(mail_address("a@b@example.com"));
  CHECK_FALSE(mail_address("ops @example.com"));
  CHECK_FALSE(mail_address("ops@example..com"));
  CHECK_FALSE(mail_address("Ops <ops@example.com"));
  CHECK_FALSE(mail_address("Ops\r\nBcc: x@evil.example <ops@example.com>"));
  CHECK_FALSE(mail_address(std::string(65, 'a') + "@example.com"));
  CHECK_FALSE(mail_address("a@" + std::string(260, 'b')));
}

TEST_CASE("receivers: values of the wrong shape are errors, never crashes") {
  const char* documents[] = {
      "notifications: {smtp: 5, receivers: {a: b}, route: [], delivery: [1]}\n",
      "notifications: {receivers: [1, [], ~, {name: [a]}, {name: a, slack: [x]}], route: x}\n",
      "notifications: {receivers: [{name: b, webhook: {url: 'http://h/', headers: [a], max_alerts: "
      "[1], secret: {a: b}}}], route: {receiver: b, routes: {a: b}}}\n",
      "notifications: {receivers: [{name: c, email: {to: [[x]], subject_template: {a: b}}}], "
      "smtp: {url: [x], from: ~, timeout: ~, require_tls: [true]}, route: {receiver: c}}\n",
      "notifications: {receivers: [{name: d, pagerduty: ~}], route: {receiver: [d], routes: [1, "
      "~, [x], {receiver: {a: b}}]}}\n",
      "notifications: {? [a, b] : c, receivers: [{? {x: y} : z, name: e, webhook: {url: "
      "'https://[::1'}}]}\n",
  };
  for (const char* doc : documents) {
    CAPTURE(doc);
    std::vector<std::string> errors;
    parse_text(doc, errors);
    CHECK_FALSE(errors.empty());
    for (const auto& e : errors) {
      CAPTURE(e);
      CHECK(e.rfind("wk.yml:1:", 0) == 0);
      CHECK(e.find(": notifications") != std::string::npos);
    }
  }
}
