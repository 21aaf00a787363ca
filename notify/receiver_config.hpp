#pragma once

// The `notifications:` part of the configuration: the SMTP relay, the receivers (each exactly
// one of slack, pagerduty, webhook, email), the route tree and the delivery timing.
//
//   notifications:
//     smtp: {url: smtp://127.0.0.1:2525, from: "Watchkeeper <wk@example.com>", username: "",
//            password: "${SMTP_PASSWORD}", domain: "", timeout: 10s, require_tls: false}
//     receivers:
//       - {name: ops-slack, slack: {url: "https://hooks.slack.com/...", channel: "#ops"}}
//       - {name: pd, pagerduty: {routing_key: "${PD_KEY}"}}
//       - {name: hook, webhook: {url: "http://...", secret: "${HOOK_SECRET}", max_alerts: 0,
//                                headers: {X-A: b}}}
//       - {name: mail, email: {to: ["ops@example.com"], subject_template: "", text_template: ""}}
//     route: {receiver: ops-slack, routes: [...]}      # notify::parse_route
//     delivery: {timeout: 10s, initial_backoff: 1s, max_backoff: 5m, give_up_after: 24h}
//
// Every string value goes through ${VAR} / ${VAR:-default} expansion ("$$" is a literal "$").
// Messages about values that may carry a secret (URLs, addresses, routing keys, passwords,
// header values) quote them as written in the file, never expanded.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "notify/route_tree.hpp"
#include "notify/slack.hpp"

namespace YAML {
class Node;
}

namespace wk::notify {

inline constexpr std::string_view default_pagerduty_url = "https://events.pagerduty.com/v2/enqueue";

struct smtp_settings {
  std::string url, from, username, password, domain;
  std::int64_t timeout_ms = 10000;
  bool configured = false;  // the `smtp` mapping is present
  // STARTTLS must succeed before anything is sent (smtp:// only; smtps:// is TLS anyway).
  // Defaults to true when a username is set, so a password never crosses the wire in clear.
  bool require_tls = false;
};

struct receiver {
  std::string name;
  enum class kind { slack, pagerduty, webhook, email } type = kind::webhook;
  std::string url;  // slack/pagerduty/webhook endpoint
  slack_options slack;
  std::string routing_key;  // pagerduty
  std::string secret;       // webhook HMAC secret ("" = unsigned)
  std::size_t max_alerts = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // webhook extra headers
  std::vector<std::string> to;                               // email
  std::string subject_template, text_template;               // email
};

struct delivery_settings {
  std::int64_t timeout_ms = 10000, initial_backoff_ms = 1000, max_backoff_ms = 300000,
               give_up_after_ms = 86400000;
};

struct notifications_config {
  smtp_settings smtp;
  std::vector<receiver> receivers;
  std::optional<route> root;  // absent when no route is configured
  delivery_settings delivery;
  // nullptr when no receiver has that name.
  const receiver* find(std::string_view name) const;
};

using env_lookup_fn = std::function<std::optional<std::string>(const std::string&)>;

// node: the `notifications` mapping (null or undefined: an empty configuration). external_url
// (server.external_url) gives the default SMTP domain, its host; without one the domain of
// smtp.from is used. Errors read "<file>:<line>:<column>: notifications.<path>: <message>"
// and are appended for every problem found; the result is only meaningful when none were.
notifications_config parse_notifications(const YAML::Node& node, std::vector<std::string>& errors,
                                         std::string_view file, const env_lookup_fn& env,
                                         std::string_view external_url);

std::string_view to_string(receiver::kind k);

// The address part of "Name <addr>" or a bare "addr" when it is a plausible mailbox
// (local@domain, printable, at most 254 bytes), else nullopt.
std::optional<std::string> mail_address(std::string_view text);

}  // namespace wk::notify
