#include "notify/slack.hpp"

#include "notify/json_out.hpp"
#include "notify/template.hpp"
#include "notify/text.hpp"

namespace wk::notify {
namespace {

constexpr std::size_t header_limit = 150;
constexpr std::size_t section_limit = 3000;
constexpr std::size_t field_limit = 2000;
constexpr std::size_t listed_alerts = 10;

std::string escape_mrkdwn(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      default: out += c;
    }
  }
  return out;
}

// Escaped mrkdwn of raw within limit code points: cut first so an escape is never split, then
// cut further while escaping pushed it over.
std::string mrkdwn_fit(std::string_view raw, std::size_t limit) {
  std::string clean = sanitize_utf8(raw);
  std::size_t cut = limit;
  for (;;) {
    std::string s = escape_mrkdwn(truncate_utf8(clean, cut));
    std::size_t len = utf8_length(s);
    if (len <= limit || cut <= utf8_length(truncation_marker))
      return s;
    // Shrink in proportion to the overshoot: markup-heavy text expands up to 5x.
    cut = std::max(utf8_length(truncation_marker), std::min(cut - 1, cut * limit / len));
  }
}

std::string value_or(const std::map<std::string, std::string>& m, const char* key) {
  auto it = m.find(key);
  return it == m.end() ? std::string() : it->second;
}

std::string default_body(const notification& n) {
  std::string body;
  std::string summary = value_or(n.common_annotations, "summary");
  if (summary.empty())
    summary = value_or(n.common_annotations, "description");
  if (summary.empty() && !n.alerts.empty())
    summary = value_or(n.alerts.front().annotations, "summary");
  if (!summary.empty())
    body += summary + "\n";
  if (n.transition == "acknowledged" && !n.acknowledged_by.empty())
    body += "Acknowledged by " + n.acknowledged_by + "\n";
  if (n.transition == "resolved" && !n.resolved_by.empty())
    body += "Resolved by " + n.resolved_by + "\n";
  if (!n.note.empty())
    body += "Note: " + n.note + "\n";
  std::size_t shown = 0;
  for (const auto& a : n.alerts) {
    if (shown == listed_alerts) {
      body += "… and " + std::to_string(n.alerts.size() - shown) + " more\n";
      break;
    }
    std::string name = value_or(a.labels, "alertname");
    std::string line = "• " + a.status + ": " + (name.empty() ? "alert" : name);
    std::string alert_summary = value_or(a.annotations, "summary");
    if (!alert_summary.empty())
      line += " — " + alert_summary;
    // One long annotation must not crowd out the rest of the list.
    body += truncate_utf8(line, 300) + "\n";
    ++shown;
  }
  if (!body.empty() && body.back() == '\n')
    body.pop_back();
  // Slack rejects a section with empty text.
  if (body.empty())
    body = n.title.empty() ? "Incident " + n.incident_id : n.title;
  return body;
}

void text_object(json_out& j, const char* type, std::string_view text) {
  j.key("text");
  j.start_object();
  j.member("type", type);
  j.member("text", text);
  j.end_object();
}

}  // namespace

std::string slack_payload(const notification& n, const slack_options& o) {
  std::string title = o.title_template.empty() ? n.title : expand_template(o.title_template, n);
  std::string headline = "[" + transition_tag(n) + "] " + title;
  std::string body =
      o.text_template.empty() ? default_body(n) : expand_template(o.text_template, n);

  json_out j;
  j.start_object();
  if (!o.channel.empty())
    j.member("channel", o.channel);
  if (!o.username.empty())
    j.member("username", o.username);
  if (!o.icon_emoji.empty())
    j.member("icon_emoji", o.icon_emoji);
  j.member("text", mrkdwn_fit(headline, section_limit));
  j.key("blocks");
  j.start_array();

  j.start_object();
  j.member("type", "header");
  text_object(j, "plain_text", clip_utf8(headline, header_limit));
  j.end_object();

  j.start_object();
  j.member("type", "section");
  text_object(j, "mrkdwn", mrkdwn_fit(body, section_limit));
  std::size_t firing = 0;
  for (const auto& a : n.alerts)
    firing += a.status == "firing";
  const std::pair<const char*, std::string> fields[] = {
      {"Service", n.service},
      {"Severity", n.severity},
      {"Status", n.status},
      {"Alerts", n.alerts.empty() ? std::string()
                                  : std::to_string(firing) + " firing, " +
                                        std::to_string(n.alerts.size() - firing) + " resolved"}};
  // Slack rejects an empty fields array: leave it out when there is nothing to show.
  bool any_field = false;
  for (const auto& [name, value] : fields) {
    if (value.empty())
      continue;
    if (!any_field) {
      j.key("fields");
      j.start_array();
      any_field = true;
    }
    j.start_object();
    j.member("type", "mrkdwn");
    j.member("text", mrkdwn_fit("*" + std::string(name) + "*\n" + value, field_limit));
    j.end_object();
  }
  if (any_field)
    j.end_array();
  j.end_object();

  std::string context = "Incident " + n.incident_id;
  if (!n.receiver.empty())
    context += " · " + n.receiver;
  context += " · " + format_rfc3339(n.at_ms);
  j.start_object();
  j.member("type", "context");
  j.key("elements");
  j.start_array();
  j.start_object();
  j.member("type", "mrkdwn");
  j.member("text", mrkdwn_fit(context, section_limit));
  j.end_object();
  j.end_array();
  j.end_object();

  std::string url = incident_url(n);
  if (!url.empty() && url.size() <= section_limit) {
    j.start_object();
    j.member("type", "actions");
    j.key("elements");
    j.start_array();
    j.start_object();
    j.member("type", "button");
    text_object(j, "plain_text", "Open incident");
    j.member("url", url);
    j.end_object();
    j.end_array();
    j.end_object();
  }

  j.end_array();
  j.end_object();
  return j.str();
}

}  // namespace wk::notify
