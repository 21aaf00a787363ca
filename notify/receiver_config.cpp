#include "notify/receiver_config.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <initializer_list>
#include <set>

#include "config/env_expand.hpp"
#include "notify/template.hpp"

namespace wk::notify {
namespace {

constexpr std::size_t max_items = 10000;
// Across the whole section: YAML aliases can make a small file expand into a huge tree.
constexpr std::size_t max_entries_read = 200000;
constexpr std::size_t max_routes = 10000;
constexpr std::size_t max_value_bytes = 64 * 1024;
constexpr std::size_t max_name_bytes = 128;
constexpr std::size_t max_webhook_alerts = 100000;
// The HTTP fetcher refuses longer timeouts, so a longer one could never deliver anything.
constexpr std::int64_t max_timeout_ms = 24LL * 3600 * 1000;
// parse_route's own nesting limit, plus one so it reports the excess itself.
constexpr int max_route_depth = 33;

char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + ('a' - 'A')) : c; }

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), ascii_lower);
  return out;
}

bool has_control(std::string_view text) {
  return std::any_of(text.begin(), text.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return byte < 0x20 || byte == 0x7f;
  });
}

// A value as written in the file, for messages: quoted, control characters escaped, cut.
std::string describe(std::string_view raw) {
  constexpr std::size_t max_shown = 80;
  std::string out = "\"";
  for (char c : raw.substr(0, max_shown)) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (byte < 0x20 || byte == 0x7f) {
      static constexpr char hex[] = "0123456789abcdef";
      out += "\\x";
      out += hex[byte >> 4];
      out += hex[byte & 15];
    } else {
      out += c;
    }
  }
  if (raw.size() > max_shown)
    out += "...";
  return out + "\"";
}

struct url_parts {
  std::string scheme;  // lower case
  std::string host;
};

// scheme://[userinfo@]host[:port][/...]; a message when the text is no such URL.
std::optional<std::string> split_url(std::string_view url, url_parts& out) {
  if (url.empty())
    return "must not be empty";
  if (std::any_of(url.begin(), url.end(), [](char c) {
        const auto byte = static_cast<unsigned char>(c);
        return byte <= 0x20 || byte == 0x7f;
      }))
    return "must not contain spaces or control characters";
  const auto sep = url.find("://");
  if (sep == std::string_view::npos || sep == 0)
    return "is not an absolute URL (scheme://host...)";
  out.scheme = lower(url.substr(0, sep));
  std::string_view authority = url.substr(sep + 3);
  authority = authority.substr(0, authority.find_first_of("/?#"));
  if (const auto at = authority.rfind('@'); at != std::string_view::npos)
    authority.remove_prefix(at + 1);
  std::string_view host = authority, port;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos)
      return "has an unclosed IPv6 address";
    host = authority.substr(0, close + 1);
    std::string_view rest = authority.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':')
        return "has text after the IPv6 address";
      port = rest.substr(1);
    }
  } else if (const auto colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty() || host == "[]")
    return "has no host";
  if (authority.size() != host.size()) {
    const bool digits =
        !port.empty() && port.size() <= 5 &&
        std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (!digits || std::stoi(std::string(port)) < 1 || std::stoi(std::string(port)) > 65535)
      return "has an invalid port " + describe(port) + " (1-65535)";
  }
  out.host = lower(host);
  return std::nullopt;
}

bool is_token_char(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
    return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool valid_domain(std::string_view domain) {
  if (domain.empty() || domain.size() > 253 || domain.front() == '.' || domain.back() == '.' ||
      domain.find("..") != std::string_view::npos)
    return false;
  return std::all_of(domain.begin(), domain.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || byte >= 0x80;
  });
}

// A Message-ID right-hand side: a domain, or an address literal such as [::1].
bool valid_message_id_domain(std::string_view domain) {
  if (domain.size() > 2 && domain.front() == '[' && domain.back() == ']')
    return std::all_of(domain.begin() + 1, domain.end() - 1, [](char c) {
      return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
             c == ':' || c == '.';
    });
  return valid_domain(domain);
}

// Set by Watchkeeper on every webhook request; an extra header must not replace them.
bool reserved_header(std::string_view name) {
  const std::string n = lower(name);
  static constexpr std::string_view reserved[] = {"content-type",      "content-length", "host",
                                                  "transfer-encoding", "connection",     "expect"};
  return std::find(std::begin(reserved), std::end(reserved), n) != std::end(reserved) ||
         n.rfind("x-watchkeeper-", 0) == 0;
}

class parser {
 public:
  parser(std::vector<std::string>& errors, std::string_view file, const env_lookup_fn& env)
      : errors_(errors), file_(file), env_(env) {}

  void error(const YAML::Node& node, const std::string& path, const std::string& message) {
    errors_.push_back(where(node) + path + ": " + message);
  }

  // "<file>:<line>:<column>: " as far as known.
  std::string where(const YAML::Node& node) const {
    std::string out;
    if (!file_.empty())
      out += std::string(file_) + ":";
    const YAML::Mark mark = node.Mark();
    if (!mark.is_null())
      out += std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1) + ": ";
    else if (!out.empty())
      out += " ";
    return out;
  }

  // Calls f(key, value, path) for each entry of a mapping; unknown and repeated keys are
  // reported and skipped.
  template <typename F>
  bool each_key(const YAML::Node& node, const std::string& path,
                std::initializer_list<std::string_view> allowed, F f) {
    if (!node.IsMap()) {
      error(node, path, "must be a mapping");
      return false;
    }
    if (!spend(node, path, node.size()))
      return false;
    std::set<std::string> seen;
    for (const auto& kv : node) {
      if (!kv.first.IsScalar()) {
        error(kv.first, path, "keys must be plain names");
        continue;
      }
      const std::string key = kv.first.Scalar();
      const std::string at = path + "." + key;
      if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
        std::string known;
        for (auto k : allowed)
          known += (known.empty() ? "" : ", ") + std::string(k);
        error(kv.first, at, "unknown key (known: " + known + ")");
        continue;
      }
      if (!seen.insert(key).second) {
        error(kv.first, at, "repeated key");
        continue;
      }
      f(key, kv.second, at);
    }
    return true;
  }

  template <typename F>
  void each_item(const YAML::Node& node, const std::string& path, F f) {
    if (!node.IsSequence()) {
      error(node, path, "must be a list");
      return;
    }
    if (node.size() > max_items) {
      error(node, path, "more than " + std::to_string(max_items) + " entries");
      return;
    }
    if (!spend(node, path, node.size()))
      return;
    for (std::size_t i = 0; i < node.size(); ++i)
      f(node[i], path + "[" + std::to_string(i) + "]");
  }

  // The expanded text of a scalar; null reads as "" (an optional value left out).
  // multiline: line breaks and tabs are allowed (templates), other control characters never.
  std::optional<std::string> text(const YAML::Node& node, const std::string& path,
                                  bool multiline = false) {
    if (node.IsNull())
      return std::string();
    if (!node.IsScalar()) {
      error(node, path, "must be a single value");
      return std::nullopt;
    }
    const std::string& raw = node.Scalar();
    if (raw.size() > max_value_bytes) {
      error(node, path, "longer than " + std::to_string(max_value_bytes) + " bytes");
      return std::nullopt;
    }
    const auto e = config::expand_env(raw, [this](const std::string& name) {
      return env_ ? env_(name) : std::nullopt;
    });
    if (!e.error.empty()) {
      error(node, path, e.error);
      return std::nullopt;
    }
    if (e.text.size() > max_value_bytes) {
      error(node, path,
            "longer than " + std::to_string(max_value_bytes) + " bytes after expansion");
      return std::nullopt;
    }
    const bool bad = std::any_of(e.text.begin(), e.text.end(), [&](char c) {
      const auto byte = static_cast<unsigned char>(c);
      if (multiline && (c == '\n' || c == '\r' || c == '\t'))
        return false;
      return byte < 0x20 || byte == 0x7f;
    });
    if (bad) {
      error(node, path,
            multiline ? "contains a control character" + expanded_note(raw)
                      : "must be one line without control characters" + expanded_note(raw));
      return std::nullopt;
    }
    return std::move(e.text);
  }

  std::optional<std::string> required(const YAML::Node& node, const std::string& path) {
    auto s = text(node, path);
    if (s && s->empty()) {
      error(
          node, path,
          node.IsNull() ? "must not be empty" : "must not be empty" + expanded_note(node.Scalar()));
      return std::nullopt;
    }
    return s;
  }

  std::optional<std::int64_t> duration(const YAML::Node& node, const std::string& path,
                                       std::int64_t max_ms) {
    auto s = required(node, path);
    if (!s)
      return std::nullopt;
    auto ms = parse_duration_ms(*s);
    if (!ms) {
      error(node, path,
            "invalid duration " + describe(node.Scalar()) + " (e.g. 500ms, 30s, 5m, 24h)");
      return std::nullopt;
    }
    if (*ms <= 0) {
      error(node, path, "must be greater than zero");
      return std::nullopt;
    }
    if (*ms > max_ms) {
      error(node, path, "must be at most " + std::to_string(max_ms / 3600000) + "h");
      return std::nullopt;
    }
    return ms;
  }

  std::optional<bool> boolean(const YAML::Node& node, const std::string& path) {
    auto s = required(node, path);
    if (!s)
      return std::nullopt;
    const std::string v = lower(*s);
    if (v == "true")
      return true;
    if (v == "false")
      return false;
    error(node, path, "must be true or false");
    return std::nullopt;
  }

  std::optional<std::string> http_url(const YAML::Node& node, const std::string& path) {
    auto s = required(node, path);
    if (!s)
      return std::nullopt;
    url_parts parts;
    auto problem = split_url(*s, parts);
    if (!problem && parts.scheme != "http" && parts.scheme != "https")
      problem = "must be an http:// or https:// URL";
    if (problem) {
      error(node, path, *problem + expanded_note(node.Scalar()));
      return std::nullopt;
    }
    return s;
  }

  void check_template(const YAML::Node& node, const std::string& path, const std::string& text) {
    if (auto problem = validate_template(text))
      error(node, path, *problem);
  }

  smtp_settings parse_smtp(const YAML::Node& node, const std::string& path,
                           std::string_view external_url) {
    smtp_settings s;
    s.configured = true;
    bool has_url = false, has_from = false;
    std::optional<bool> require_tls;
    YAML::Node password_node;
    each_key(node, path,
             {"url", "from", "username", "password", "domain", "timeout", "require_tls"},
             [&](const std::string& key, const YAML::Node& v, const std::string& at) {
               if (key == "url") {
                 has_url = true;
                 auto u = required(v, at);
                 if (!u)
                   return;
                 url_parts parts;
                 auto problem = split_url(*u, parts);
                 if (!problem && parts.scheme != "smtp" && parts.scheme != "smtps")
                   problem = "must be an smtp:// or smtps:// URL";
                 if (problem)
                   error(v, at, *problem + expanded_note(v.Scalar()));
                 else
                   s.url = *u;
               } else if (key == "from") {
                 has_from = true;
                 auto f = required(v, at);
                 if (!f)
                   return;
                 if (!mail_address(*f))
                   error(v, at,
                         "not a mail address (\"Name <user@example.com>\" or "
                         "\"user@example.com\"): " +
                             describe(v.Scalar()));
                 else
                   s.from = *f;
               } else if (key == "username") {
                 if (auto u = text(v, at))
                   s.username = *u;
               } else if (key == "password") {
                 password_node.reset(v);
                 if (auto p = text(v, at))
                   s.password = *p;
               } else if (key == "domain") {
                 auto d = text(v, at);
                 if (!d || d->empty())
                   return;
                 if (!valid_message_id_domain(*d))
                   error(v, at, "not a domain name: " + describe(v.Scalar()));
                 else
                   s.domain = *d;
               } else if (key == "timeout") {
                 if (auto ms = duration(v, at, max_timeout_ms))
                   s.timeout_ms = *ms;
               } else {
                 require_tls = boolean(v, at);
               }
             });
    if (!node.IsMap())
      return s;
    if (!has_url)
      error(node, path + ".url", "missing (smtp://host:port or smtps://host:port)");
    if (!has_from)
      error(node, path + ".from",
            "missing (the sender address, e.g. \"Watchkeeper <wk@example.com>\")");
    if (!s.password.empty() && s.username.empty())
      error(password_node, path + ".password", "set without a username");
    s.require_tls = require_tls.value_or(!s.username.empty());
    if (s.domain.empty())
      s.domain = default_domain(external_url, s.from);
    return s;
  }

  static std::string default_domain(std::string_view external_url, const std::string& from) {
    url_parts parts;
    if (!split_url(external_url, parts) && valid_message_id_domain(parts.host))
      return parts.host;
    if (auto address = mail_address(from))
      return lower(address->substr(address->rfind('@') + 1));
    return "localhost";
  }

  void parse_slack(const YAML::Node& node, const std::string& path, receiver& r) {
    bool has_url = false;
    each_key(node, path,
             {"url", "channel", "username", "icon_emoji", "title_template", "text_template"},
             [&](const std::string& key, const YAML::Node& v, const std::string& at) {
               if (key == "url") {
                 has_url = true;
                 if (auto u = http_url(v, at))
                   r.url = *u;
                 return;
               }
               const bool is_template = key == "title_template" || key == "text_template";
               auto s = text(v, at, key == "text_template");
               if (!s)
                 return;
               if (is_template)
                 check_template(v, at, *s);
               (key == "channel"          ? r.slack.channel
                : key == "username"       ? r.slack.username
                : key == "icon_emoji"     ? r.slack.icon_emoji
                : key == "title_template" ? r.slack.title_template
                                          : r.slack.text_template) = *s;
             });
    if (node.IsMap() && !has_url)
      error(node, path + ".url", "missing (the Slack incoming-webhook URL)");
  }

  void parse_pagerduty(const YAML::Node& node, const std::string& path, receiver& r) {
    bool has_key = false;
    r.url = std::string(default_pagerduty_url);
    each_key(node, path, {"routing_key", "url"},
             [&](const std::string& key, const YAML::Node& v, const std::string& at) {
               if (key == "url") {
                 if (auto u = http_url(v, at))
                   r.url = *u;
                 return;
               }
               has_key = true;
               auto k = required(v, at);
               if (!k)
                 return;
               if (k->find(' ') != std::string::npos)
                 error(v, at, "must not contain spaces" + expanded_note(v.Scalar()));
               else
                 r.routing_key = *k;
             });
    if (node.IsMap() && !has_key)
      error(node, path + ".routing_key", "missing (the integration key of a PagerDuty service)");
  }

  void parse_webhook(const YAML::Node& node, const std::string& path, receiver& r) {
    bool has_url = false;
    each_key(node, path, {"url", "secret", "max_alerts", "headers"},
             [&](const std::string& key, const YAML::Node& v, const std::string& at) {
               if (key == "url") {
                 has_url = true;
                 if (auto u = http_url(v, at))
                   r.url = *u;
               } else if (key == "secret") {
                 if (auto s = text(v, at))
                   r.secret = *s;
               } else if (key == "max_alerts") {
                 parse_max_alerts(v, at, r);
               } else {
                 parse_headers(v, at, r);
               }
             });
    if (node.IsMap() && !has_url)
      error(node, path + ".url", "missing (http:// or https:// URL)");
  }

  void parse_max_alerts(const YAML::Node& node, const std::string& path, receiver& r) {
    auto s = required(node, path);
    if (!s)
      return;
    const bool digits =
        !s->empty() && s->size() <= 9 &&
        std::all_of(s->begin(), s->end(), [](char c) { return c >= '0' && c <= '9'; });
    const std::size_t n = digits ? std::stoul(*s) : 0;
    if (!digits || n > max_webhook_alerts) {
      error(node, path,
            "must be a whole number from 0 (no limit) to " + std::to_string(max_webhook_alerts));
      return;
    }
    r.max_alerts = n;
  }

  void parse_headers(const YAML::Node& node, const std::string& path, receiver& r) {
    if (!node.IsMap()) {
      error(node, path, "must be a mapping of header name to value");
      return;
    }
    if (node.size() > 100) {
      error(node, path, "more than 100 headers");
      return;
    }
    std::set<std::string> seen;
    for (const auto& kv : node) {
      const std::string name = kv.first.IsScalar() ? kv.first.Scalar() : std::string();
      const std::string at = path + "." + name;
      if (name.empty() || !std::all_of(name.begin(), name.end(), is_token_char)) {
        error(kv.first, at, "not a valid header name: " + describe(name));
        continue;
      }
      if (reserved_header(name)) {
        error(kv.first, at, "set by Watchkeeper itself; it cannot be overridden");
        continue;
      }
      if (!seen.insert(lower(name)).second) {
        error(kv.first, at, "repeated header (names are case-insensitive)");
        continue;
      }
      if (auto value = text(kv.second, at))
        r.headers.emplace_back(name, *value);
    }
  }

  void parse_email(const YAML::Node& node, const std::string& path, receiver& r) {
    bool has_to = false;
    each_key(node, path, {"to", "subject_template", "text_template"},
             [&](const std::string& key, const YAML::Node& v, const std::string& at) {
               if (key == "to") {
                 has_to = true;
                 parse_recipients(v, at, r);
                 return;
               }
               auto s = text(v, at, key == "text_template");
               if (!s)
                 return;
               check_template(v, at, *s);
               (key == "subject_template" ? r.subject_template : r.text_template) = *s;
             });
    if (node.IsMap() && !has_to)
      error(node, path + ".to", "missing (a list of recipient addresses)");
  }

  void parse_recipients(const YAML::Node& node, const std::string& path, receiver& r) {
    auto add = [&](const YAML::Node& item, const std::string& at) {
      auto s = required(item, at);
      if (!s)
        return;
      if (!mail_address(*s))
        error(item, at,
              "not a mail address (\"Name <user@example.com>\" or \"user@example.com\"): " +
                  describe(item.Scalar()));
      else
        r.to.push_back(*s);
    };
    if (node.IsScalar()) {
      add(node, path);
      return;
    }
    each_item(node, path, add);
    if (node.IsSequence() && node.size() == 0)
      error(node, path, "needs at least one recipient");
  }

  receiver parse_receiver(const YAML::Node& node, const std::string& path) {
    receiver r;
    std::vector<std::string> channels;
    bool has_name = false;
    each_key(node, path, {"name", "slack", "pagerduty", "webhook", "email"},
             [&](const std::string& key, const YAML::Node& v, const std::string& at) {
               if (key == "name") {
                 has_name = true;
                 auto name = required(v, at);
                 if (name && name->size() > max_name_bytes)
                   error(v, at, "longer than " + std::to_string(max_name_bytes) + " bytes");
                 else if (name)
                   r.name = *name;
                 return;
               }
               channels.push_back(key);
               if (key == "slack") {
                 r.type = receiver::kind::slack;
                 parse_slack(v, at, r);
               } else if (key == "pagerduty") {
                 r.type = receiver::kind::pagerduty;
                 parse_pagerduty(v, at, r);
               } else if (key == "webhook") {
                 r.type = receiver::kind::webhook;
                 parse_webhook(v, at, r);
               } else {
                 r.type = receiver::kind::email;
                 parse_email(v, at, r);
               }
             });
    if (!node.IsMap())
      return r;
    if (!has_name)
      error(node, path + ".name", "missing");
    if (channels.empty()) {
      error(node, path, "needs one of slack, pagerduty, webhook or email");
    } else if (channels.size() > 1) {
      std::string list;
      for (const auto& c : channels)
        list += (list.empty() ? "" : ", ") + c;
      error(node, path, "has several channels (" + list + "); a receiver has exactly one");
    }
    return r;
  }

  delivery_settings parse_delivery(const YAML::Node& node, const std::string& path) {
    delivery_settings d;
    std::optional<YAML::Node> max_node;
    each_key(node, path, {"timeout", "initial_backoff", "max_backoff", "give_up_after"},
             [&](const std::string& key, const YAML::Node& v, const std::string& at) {
               const std::int64_t limit =
                   key == "timeout" ? max_timeout_ms : std::int64_t{10} * 366 * 86400000;
               auto ms = duration(v, at, limit);
               if (!ms)
                 return;
               if (key == "timeout") {
                 d.timeout_ms = *ms;
               } else if (key == "initial_backoff") {
                 d.initial_backoff_ms = *ms;
               } else if (key == "max_backoff") {
                 d.max_backoff_ms = *ms;
                 max_node.emplace(v);
               } else {
                 d.give_up_after_ms = *ms;
               }
             });
    if (d.max_backoff_ms < d.initial_backoff_ms)
      error(max_node ? *max_node : node, path + ".max_backoff",
            "must not be shorter than initial_backoff");
    return d;
  }

  // A copy of the tree with ${VAR} expanded in every scalar value, for parse_route. Each use
  // of a YAML alias is copied and expanded from the text as written, so "$$" is never expanded
  // twice; the entry budget bounds what aliases can multiply. The copy has no positions:
  // adopt_route_errors finds them in the original.
  YAML::Node expanded_copy(const YAML::Node& node, const std::string& path, int depth) {
    if (depth > max_route_depth * 4) {
      error(node, path, "nested too deeply");
      return YAML::Node();
    }
    if (!spend(node, path, 1))
      return YAML::Node();
    if (node.IsScalar()) {
      auto s = text(node, path, true);
      return YAML::Node(s ? *s : node.Scalar());
    }
    if (node.IsMap()) {
      YAML::Node out(YAML::NodeType::Map);
      for (const auto& kv : node) {
        const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : std::string("?");
        out.force_insert(kv.first.IsScalar() ? YAML::Node(key) : YAML::Node(YAML::NodeType::Null),
                         expanded_copy(kv.second, path + "." + key, depth + 1));
      }
      return out;
    }
    if (node.IsSequence()) {
      YAML::Node out(YAML::NodeType::Sequence);
      for (std::size_t i = 0; i < node.size(); ++i)
        out.push_back(expanded_copy(node[i], path + "[" + std::to_string(i) + "]", depth + 1));
      return out;
    }
    return YAML::Node(YAML::NodeType::Null);
  }

  // Counts the routes of the tree as written, aliases multiplied, before anything copies it.
  bool count_routes(const YAML::Node& node, const std::string& path, int depth,
                    std::size_t& routes) {
    if (!node.IsMap() || depth > max_route_depth)
      return true;
    if (++routes > max_routes) {
      error(node, path, "more than " + std::to_string(max_routes) + " routes (aliases counted)");
      return false;
    }
    if (const YAML::Node children = node["routes"]; children && children.IsSequence())
      for (std::size_t i = 0; i < children.size(); ++i)
        if (!count_routes(children[i], path + ".routes[" + std::to_string(i) + "]", depth + 1,
                          routes))
          return false;
    return true;
  }

  // Every `receiver:` of the expanded tree must name a configured receiver; positions come
  // from the original.
  void check_route_receivers(const YAML::Node& node, const YAML::Node& original,
                             const std::string& path, int depth,
                             const std::set<std::string>& names) {
    if (!node.IsMap() || depth > max_route_depth)
      return;
    if (const YAML::Node r = node["receiver"]; r && r.IsScalar() && !names.count(r.Scalar()))
      error(locate(original, path + ".receiver"), "notifications." + path + ".receiver",
            "unknown receiver " + describe(r.Scalar()) +
                (names.empty() ? " (no receivers are configured)" : ""));
    if (const YAML::Node children = node["routes"]; children && children.IsSequence())
      for (std::size_t i = 0; i < children.size(); ++i)
        check_route_receivers(children[i], original, path + ".routes[" + std::to_string(i) + "]",
                              depth + 1, names);
  }

  // parse_route's messages ("[<line>:<col>: ]route.routes[0].group_wait: ...") with this
  // file's name and "notifications." before the path. Messages about the position-less
  // expanded copy get the position of their path in the original.
  void adopt_route_errors(const std::vector<std::string>& route_errors,
                          const YAML::Node& original) {
    for (const auto& e : route_errors) {
      std::string_view rest = e;
      std::string_view location;
      if (rest.rfind("route", 0) != 0) {
        const auto sep = rest.find(": ");
        if (sep != std::string_view::npos) {
          location = rest.substr(0, sep);
          rest.remove_prefix(sep + 2);
        }
      }
      const auto colon = rest.find(": ");
      if (rest.rfind("route", 0) != 0 || colon == std::string_view::npos) {
        error(original, "notifications.route", e);
        continue;
      }
      const std::string path(rest.substr(0, colon));
      const std::string message(rest.substr(colon + 2));
      if (location.empty())
        error(locate(original, path), "notifications." + path, message);
      else
        errors_.push_back((file_.empty() ? std::string() : std::string(file_) + ":") +
                          std::string(location) + ": notifications." + path + ": " + message);
    }
  }

  // True when a scalar value of the tree holds a '$' and so needs expansion.
  bool has_dollar(const YAML::Node& node, const std::string& path, int depth) {
    if (depth > max_route_depth * 4 || !spend(node, path, 1))
      return false;
    if (node.IsScalar())
      return node.Scalar().find('$') != std::string::npos;
    if (node.IsMap()) {
      for (const auto& kv : node)
        if (has_dollar(kv.second, path, depth + 1))
          return true;
    } else if (node.IsSequence()) {
      for (std::size_t i = 0; i < node.size(); ++i)
        if (has_dollar(node[i], path, depth + 1))
          return true;
    }
    return false;
  }

  // The deepest node of "route.routes[1].matchers[0]"-style path that exists under route.
  static YAML::Node locate(const YAML::Node& route_node, std::string_view path) {
    YAML::Node node = route_node;
    std::size_t pos = std::string_view("route").size();
    while (pos < path.size()) {
      if (path[pos] == '[') {
        const auto close = path.find(']', pos);
        if (close == std::string_view::npos || close - pos > 10)
          break;
        const std::string digits(path.substr(pos + 1, close - pos - 1));
        if (digits.empty() ||
            !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
          break;
        const std::size_t index = std::stoul(digits);
        const YAML::Node& current = node;
        if (!current.IsSequence() || index >= current.size())
          break;
        node.reset(current[index]);
        pos = close + 1;
      } else if (path[pos] == '.') {
        const auto end = path.find_first_of(".[", pos + 1);
        const std::string key(
            path.substr(pos + 1, end == std::string_view::npos ? end : end - pos - 1));
        const YAML::Node& current = node;
        if (!current.IsMap() || !current[key])
          break;
        node.reset(current[key]);
        pos = end == std::string_view::npos ? path.size() : end;
      } else {
        break;
      }
    }
    return node;
  }

 private:
  std::string expanded_note(std::string_view raw) const {
    return raw.find('$') == std::string_view::npos
               ? ""
               : " (" + describe(raw) + " after environment expansion)";
  }

  bool spend(const YAML::Node& node, const std::string& path, std::size_t n) {
    if (exhausted_)
      return false;
    if (n > entries_left_) {
      exhausted_ = true;
      error(node, path,
            "the notifications section is too large (more than " +
                std::to_string(max_entries_read) + " entries, aliases counted)");
      return false;
    }
    entries_left_ -= n;
    return true;
  }

  std::vector<std::string>& errors_;
  std::string_view file_;
  const env_lookup_fn& env_;
  std::size_t entries_left_ = max_entries_read;
  bool exhausted_ = false;
};

// Paging latency: a route that does not set group_wait notifies at once (or as its parent
// does), not after parse_route's default of 1 s. parse_route keeps one child per list item,
// so children and their YAML items pair up by index.
void inherit_group_wait(route& r, const YAML::Node& node, std::int64_t inherited, int depth) {
  if (!node.IsMap() || depth > max_route_depth)
    return;
  if (!node["group_wait"])
    r.group_wait_ms = inherited;
  const YAML::Node children = node["routes"];
  if (!children || !children.IsSequence())
    return;
  for (std::size_t i = 0; i < children.size() && i < r.routes.size(); ++i)
    inherit_group_wait(r.routes[i], children[i], r.group_wait_ms, depth + 1);
}

}  // namespace

std::optional<std::string> mail_address(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t'))
    text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t'))
    text.remove_suffix(1);
  if (has_control(text))
    return std::nullopt;
  std::string_view address = text;
  if (!text.empty() && text.back() == '>') {
    const auto open = text.rfind('<');
    if (open == std::string_view::npos)
      return std::nullopt;
    address = text.substr(open + 1, text.size() - open - 2);
  }
  if (address.size() < 3 || address.size() > 254)
    return std::nullopt;
  const auto at = address.find('@');
  if (at == std::string_view::npos || at != address.rfind('@') || at == 0 || at > 64)
    return std::nullopt;
  const std::string_view local = address.substr(0, at);
  if (local.front() == '.' || local.back() == '.' || local.find("..") != std::string_view::npos ||
      std::any_of(local.begin(), local.end(), [](char c) {
        return c == ' ' || std::string_view("<>()[],;:\\\"").find(c) != std::string_view::npos;
      }))
    return std::nullopt;
  if (!valid_message_id_domain(address.substr(at + 1)))
    return std::nullopt;
  return std::string(address);
}

const receiver* notifications_config::find(std::string_view name) const {
  for (const auto& r : receivers)
    if (r.name == name)
      return &r;
  return nullptr;
}

std::string_view to_string(receiver::kind k) {
  switch (k) {
    case receiver::kind::slack:
      return "slack";
    case receiver::kind::pagerduty:
      return "pagerduty";
    case receiver::kind::webhook:
      return "webhook";
    case receiver::kind::email:
      return "email";
  }
  return "unknown";
}

notifications_config parse_notifications(const YAML::Node& node, std::vector<std::string>& errors,
                                         std::string_view file, const env_lookup_fn& env,
                                         std::string_view external_url) {
  notifications_config cfg;
  if (!node.IsDefined() || node.IsNull())
    return cfg;
  parser p(errors, file, env);
  const std::string top = "notifications";
  YAML::Node receivers_node, route_node;
  bool has_route = false;
  p.each_key(node, top, {"smtp", "receivers", "route", "delivery"},
             [&](const std::string& key, const YAML::Node& v, const std::string& at) {
               if (key == "smtp") {
                 if (!v.IsNull())
                   cfg.smtp = p.parse_smtp(v, at, external_url);
               } else if (key == "receivers") {
                 receivers_node.reset(v);
                 if (!v.IsNull())
                   p.each_item(v, at, [&](const YAML::Node& item, const std::string& item_at) {
                     cfg.receivers.push_back(p.parse_receiver(item, item_at));
                   });
               } else if (key == "route") {
                 has_route = true;
                 route_node.reset(v);
               } else if (!v.IsNull()) {
                 cfg.delivery = p.parse_delivery(v, at);
               }
             });
  if (!node.IsMap())
    return cfg;

  std::set<std::string> names;
  for (std::size_t i = 0; i < cfg.receivers.size(); ++i) {
    const receiver& r = cfg.receivers[i];
    const YAML::Node item = static_cast<const YAML::Node&>(receivers_node)[i];
    const std::string at = top + ".receivers[" + std::to_string(i) + "]";
    if (!r.name.empty() && !names.insert(r.name).second) {
      const YAML::Node name_node = item["name"];
      p.error(name_node, at + ".name", "another receiver already has the name " + describe(r.name));
    }
    if (r.type == receiver::kind::email && !cfg.smtp.configured && item.IsMap() && item["email"])
      p.error(item["email"], at + ".email",
              "email needs notifications.smtp (url and from of the mail relay)");
  }

  if (has_route && !route_node.IsNull()) {
    const std::size_t before = errors.size();
    std::size_t routes = 0;
    if (p.count_routes(route_node, top + ".route", 0, routes)) {
      // Copying a yaml-cpp tree is slow (about as slow as loading it), so only a tree that
      // uses ${VAR} gets an expanded copy; the others are read as they are, positions and all.
      const YAML::Node tree = p.has_dollar(route_node, top + ".route", 0)
                                  ? p.expanded_copy(route_node, top + ".route", 0)
                                  : route_node;
      if (errors.size() == before) {
        p.check_route_receivers(tree, route_node, "route", 0, names);
        std::vector<std::string> route_errors;
        route parsed = parse_route(tree, route_errors, {});
        p.adopt_route_errors(route_errors, route_node);
        inherit_group_wait(parsed, tree, 0, 0);
        cfg.root = std::move(parsed);
      }
    }
  } else if (!cfg.receivers.empty()) {
    p.error(has_route ? route_node : node, top + ".route",
            "missing: receivers are configured but no route sends alerts to them");
  }
  return cfg;
}

}  // namespace wk::notify
