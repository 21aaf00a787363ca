#include "notify/template.hpp"

#include <cctype>

namespace wk::notify {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())))
    s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
    s.remove_suffix(1);
  return s;
}

std::string lookup(const std::map<std::string, std::string>& m, std::string_view key) {
  auto it = m.find(std::string(key));
  return it == m.end() ? std::string() : it->second;
}

// The value of field ("Title", "CommonLabels.team", ...) or nullopt when it is not a field.
std::optional<std::string> field_value(std::string_view field, const notification& n) {
  struct map_field {
    std::string_view prefix;
    const std::map<std::string, std::string>& values;
  };
  const map_field maps[] = {{"CommonLabels.", n.common_labels},
                            {"CommonAnnotations.", n.common_annotations},
                            {"GroupLabels.", n.group_labels}};
  for (const auto& m : maps)
    if (field.rfind(m.prefix, 0) == 0 && field.size() > m.prefix.size())
      return lookup(m.values, field.substr(m.prefix.size()));
  if (field == "Title")
    return n.title;
  if (field == "IncidentID")
    return n.incident_id;
  if (field == "IncidentURL")
    return incident_url(n);
  if (field == "Service")
    return n.service;
  if (field == "Severity")
    return n.severity;
  if (field == "Transition")
    return n.transition;
  if (field == "Status")
    return n.status;
  if (field == "Receiver")
    return n.receiver;
  if (field == "ExternalURL")
    return n.external_url;
  if (field == "GroupKey")
    return n.group_key;
  if (field == "AcknowledgedBy")
    return n.acknowledged_by;
  if (field == "ResolvedBy")
    return n.resolved_by;
  if (field == "Note")
    return n.note;
  if (field == "AlertCount")
    return std::to_string(n.alerts.size());
  if (field == "Tag")
    return transition_tag(n);
  return std::nullopt;
}

// Walks text, calling on_placeholder(inner, raw) for each "{{ ... }}" and on_text for the rest.
template <typename Text, typename Placeholder>
bool walk(std::string_view text, Text on_text, Placeholder on_placeholder) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t open = text.find("{{", pos);
    if (open == std::string_view::npos)
      break;
    std::size_t close = text.find("}}", open + 2);
    if (close == std::string_view::npos)
      break;
    on_text(text.substr(pos, open - pos));
    if (!on_placeholder(trim(text.substr(open + 2, close - open - 2)),
                        text.substr(open, close + 2 - open)))
      return false;
    pos = close + 2;
  }
  on_text(text.substr(pos));
  return true;
}

const notification& empty_notification() {
  static const notification n;
  return n;
}

}  // namespace

std::optional<std::string> validate_template(std::string_view text) {
  std::optional<std::string> error;
  walk(
      text, [](std::string_view) {},
      [&](std::string_view inner, std::string_view raw) {
        if (inner.size() < 2 || inner.front() != '.' ||
            !field_value(inner.substr(1), empty_notification())) {
          error = "unknown template placeholder " + std::string(raw);
          return false;
        }
        return true;
      });
  if (!error && text.find("{{") != std::string_view::npos) {
    // walk stops at an unclosed "{{": report it rather than send it literally.
    std::size_t last_open = text.rfind("{{");
    if (text.find("}}", last_open) == std::string_view::npos)
      error = "unclosed template placeholder at offset " + std::to_string(last_open);
  }
  return error;
}

std::string expand_template(std::string_view text, const notification& n) {
  std::string out;
  walk(
      text, [&](std::string_view t) { out += t; },
      [&](std::string_view inner, std::string_view raw) {
        std::optional<std::string> value;
        if (inner.size() >= 2 && inner.front() == '.')
          value = field_value(inner.substr(1), n);
        out += value ? std::string_view(*value) : raw;
        return true;
      });
  return out;
}

}  // namespace wk::notify
