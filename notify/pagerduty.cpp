#include "notify/pagerduty.hpp"

#include <algorithm>
#include <cctype>

#include <openssl/sha.h>

#include "notify/json_out.hpp"
#include "notify/text.hpp"

namespace wk::notify {
namespace {

constexpr std::size_t summary_limit = 1024;
constexpr std::size_t detail_value_limit = 8192;
constexpr std::size_t detail_alerts = 20;
constexpr std::size_t max_body = 512 * 1000;

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::map<std::string, std::string> cut_values(const std::map<std::string, std::string>& m,
                                              std::size_t limit) {
  std::map<std::string, std::string> out;
  for (const auto& [k, v] : m)
    out.emplace(clip_utf8(k, limit), clip_utf8(v, limit));
  return out;
}

std::string label(const std::map<std::string, std::string>& m, const char* key) {
  auto it = m.find(key);
  return it == m.end() ? std::string() : it->second;
}

std::string render(const notification& n, const std::string& routing_key, std::size_t value_limit,
                   std::size_t alerts_listed) {
  std::string action = n.status == "resolved"       ? "resolve"
                       : n.status == "acknowledged" ? "acknowledge"
                                                    : "trigger";
  json_out j;
  j.start_object();
  j.member("routing_key", routing_key);
  j.member("event_action", action);
  j.member("dedup_key", pagerduty_dedup_key(n.incident_id));
  if (action != "trigger") {
    j.end_object();
    return j.str();
  }
  j.key("payload");
  j.start_object();
  std::string summary = n.title.empty() ? "Incident " + n.incident_id : n.title;
  if (!n.service.empty() && summary.find(n.service) == std::string::npos)
    summary = n.service + ": " + summary;
  j.member("summary", clip_utf8(summary, summary_limit));
  j.member("source", clip_utf8(n.service.empty() ? "watchkeeper" : n.service, summary_limit));
  j.member("severity", pagerduty_severity(n.severity));
  j.member("timestamp", format_rfc3339(n.at_ms));
  if (!n.service.empty())
    j.member("component", clip_utf8(n.service, summary_limit));
  std::string group = label(n.common_labels, "team");
  if (group.empty())
    group = label(n.common_labels, "job");
  if (!group.empty())
    j.member("group", clip_utf8(group, summary_limit));
  std::string alertname = label(n.common_labels, "alertname");
  if (!alertname.empty())
    j.member("class", clip_utf8(alertname, summary_limit));

  j.key("custom_details");
  j.start_object();
  j.member("incident_id", n.incident_id);
  j.member("transition", n.transition);
  if (!n.note.empty())
    j.member("note", clip_utf8(n.note, value_limit));
  std::size_t firing = 0;
  for (const auto& a : n.alerts)
    firing += a.status == "firing";
  j.member("firing", static_cast<std::int64_t>(firing));
  j.member("resolved", static_cast<std::int64_t>(n.alerts.size() - firing));
  j.object("common_labels", cut_values(n.common_labels, value_limit));
  j.object("common_annotations", cut_values(n.common_annotations, value_limit));
  j.key("alerts");
  j.start_array();
  for (std::size_t i = 0; i < n.alerts.size() && i < alerts_listed; ++i) {
    const auto& a = n.alerts[i];
    j.start_object();
    j.member("status", a.status);
    j.object("labels", cut_values(a.labels, value_limit));
    j.object("annotations", cut_values(a.annotations, value_limit));
    j.member("starts_at", a.starts_at_ms ? format_rfc3339(a.starts_at_ms) : std::string(zero_time));
    j.end_object();
  }
  j.end_array();
  if (n.alerts.size() > alerts_listed)
    j.member("alerts_not_listed", static_cast<std::int64_t>(n.alerts.size() - alerts_listed));
  j.end_object();
  j.end_object();

  j.member("client", "Watchkeeper");
  std::string url = incident_url(n);
  if (!url.empty()) {
    j.member("client_url", url);
    j.key("links");
    j.start_array();
    j.start_object();
    j.member("href", url);
    j.member("text", "Watchkeeper incident");
    j.end_object();
    if (!n.alerts.empty() && !n.alerts.front().generator_url.empty()) {
      j.start_object();
      j.member("href", n.alerts.front().generator_url);
      j.member("text", "Source");
      j.end_object();
    }
    j.end_array();
  }
  j.end_object();
  return j.str();
}

}  // namespace

std::string pagerduty_dedup_key(const std::string& incident_id) {
  std::string key = "watchkeeper/" + incident_id;
  if (key.size() <= 255 && sanitize_utf8(key) == key)
    return key;
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(incident_id.data()), incident_id.size(), digest);
  static constexpr char hex[] = "0123456789abcdef";
  key = "watchkeeper/sha256:";
  for (unsigned char b : digest) {
    key += hex[b >> 4];
    key += hex[b & 15];
  }
  return key;
}

std::string pagerduty_severity(const std::string& severity) {
  std::string s = lower(severity);
  if (s == "critical" || s == "error" || s == "warning" || s == "info")
    return s;
  if (s == "page" || s == "fatal")
    return "critical";
  if (s == "warn" || s == "minor")
    return "warning";
  if (s == "none" || s == "debug")
    return "info";
  return "error";
}

std::string pagerduty_payload(const notification& n, const std::string& routing_key) {
  // Shrink the details step by step until the body fits; the last step lists no alerts and
  // cuts every value to 256 code points, which only a hostile label count can still overflow.
  const std::pair<std::size_t, std::size_t> steps[] = {
      {detail_value_limit, detail_alerts}, {1024, detail_alerts}, {256, 0}};
  std::string body;
  for (const auto& [value_limit, alerts] : steps) {
    body = render(n, routing_key, value_limit, alerts);
    if (body.size() <= max_body)
      break;
  }
  return body;
}

}  // namespace wk::notify
