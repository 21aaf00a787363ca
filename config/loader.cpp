#include "config/loader.hpp"

#include "config/body_pattern.hpp"

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <sstream>
#include <system_error>
#include <unordered_map>
#include <unordered_set>

#include "config/sha256.hpp"
#include "config/yaml_walk.hpp"

namespace wk::config {

namespace {

using detail::field;
using detail::lower;
using detail::mapping;
using detail::quote;
using detail::walker;
using std::chrono::milliseconds;

constexpr std::size_t max_name_length = 128;
constexpr std::size_t max_regex_length = 1024;
constexpr std::uint64_t max_shards = 4096;
constexpr std::uint64_t max_threshold = 1000;
constexpr std::uint64_t max_restart_budget = 1'000'000;
constexpr std::uint64_t max_tls_min_days = 3650;
constexpr std::size_t min_token_length = 16;
constexpr std::size_t max_suggestion_candidates = 500;
constexpr std::size_t max_cycle_names_shown = 16;
constexpr const char* database_url_env = "WATCHKEEPER_DATABASE_URL";

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

// [a-zA-Z_][a-zA-Z0-9_.-]*
bool valid_name(std::string_view name) {
  if (name.empty() || name.size() > max_name_length) return false;
  if (!is_alpha(name[0]) && name[0] != '_') return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return is_alpha(c) || is_digit(c) || c == '_' || c == '.' || c == '-';
  });
}

// Prometheus label names: [a-zA-Z_][a-zA-Z0-9_]*
bool valid_label_name(std::string_view name) {
  if (name.empty() || (!is_alpha(name[0]) && name[0] != '_')) return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return is_alpha(c) || is_digit(c) || c == '_'; });
}

// RFC 9110 token characters.
bool valid_header_name(std::string_view name) {
  static constexpr std::string_view extra = "!#$%&'*+-.^_`|~";
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return is_alpha(c) || is_digit(c) || extra.find(c) != std::string_view::npos;
  });
}

// No CR/LF (header injection) and no other control characters except tab.
bool valid_header_value(std::string_view value) {
  return std::none_of(value.begin(), value.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return (byte < 0x20 && c != '\t') || byte == 0x7f;
  });
}

std::optional<std::array<unsigned char, 32>> parse_hex_digest(std::string_view text) {
  if (text.size() != 64) return std::nullopt;
  std::array<unsigned char, 32> out{};
  const auto nibble = [](char c) -> int {
    if (is_digit(c)) return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (std::size_t i = 0; i < out.size(); ++i) {
    const int high = nibble(text[2 * i]);
    const int low = nibble(text[2 * i + 1]);
    if (high < 0 || low < 0) return std::nullopt;
    out[i] = static_cast<unsigned char>(high << 4 | low);
  }
  return out;
}

// A PostgreSQL URI or key=value conninfo; the text itself never appears in messages.
bool plausible_database_url(std::string_view url) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return url.find('=') != std::string_view::npos;
  const auto scheme = lower(url.substr(0, scheme_end));
  return scheme == "postgresql" || scheme == "postgres";
}

// The first tab in the indentation of a 0-based line, as a 0-based column.
std::optional<int> indentation_tab(std::string_view text, int line) {
  std::size_t start = 0;
  for (int i = 0; i < line; ++i) {
    start = text.find('\n', start);
    if (start == std::string_view::npos) return std::nullopt;
    ++start;
  }
  for (std::size_t pos = start; pos < text.size(); ++pos) {
    if (text[pos] == '\t') return static_cast<int>(pos - start);
    if (text[pos] != ' ') break;
  }
  return std::nullopt;
}

// Notes where each document starts, and nothing else.
class document_starts : public YAML::EventHandler {
 public:
  std::vector<YAML::Mark> marks;
  void OnDocumentStart(const YAML::Mark& mark) override { marks.push_back(mark); }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

// Where the text after the first document starts, if there is any. yaml-cpp's Load stops
// quietly after the first document even when what follows is no valid YAML (an unbalanced
// quote can end a flow mapping early), and LoadAll can loop forever on such input, so a
// second pass over the events looks for a second start, bounded to two documents.
std::optional<YAML::Mark> trailing_content(const std::string& text) {
  std::istringstream stream(text);
  YAML::Parser parser(stream);
  document_starts starts;
  if (!parser.HandleNextDocument(starts)) return std::nullopt;
  if (!parser.HandleNextDocument(starts) || starts.marks.size() < 2) return std::nullopt;
  return starts.marks[1];
}

bool starts_with_document_marker(std::string_view text, const YAML::Mark& mark) {
  if (mark.pos < 0 || static_cast<std::size_t>(mark.pos) >= text.size()) return false;
  return text.substr(static_cast<std::size_t>(mark.pos), 3) == "---";
}

// Parses exactly one YAML document; an empty input is a null document.
std::optional<YAML::Node> parse_document(std::string_view text, detail::error_sink& errors) {
  if (text.size() > max_config_bytes) {
    errors.add(YAML::Mark::null_mark(), "",
               "larger than " + std::to_string(max_config_bytes >> 20) + " MiB");
    return std::nullopt;
  }
  const std::string input(text);
  try {
    YAML::Node document = YAML::Load(input);
    if (const auto second = trailing_content(input)) {
      errors.add(*second, "",
                 starts_with_document_marker(text, *second)
                     ? "more than one YAML document (\"---\"): a configuration holds exactly one"
                     : "YAML syntax error: unexpected text after the end of the document");
      return std::nullopt;
    }
    return document;
  } catch (const YAML::DeepRecursion& e) {
    errors.add(e.mark, "", "YAML nested more than " + std::to_string(e.depth()) + " levels deep");
  } catch (const YAML::ParserException& e) {
    if (const auto column = indentation_tab(text, e.mark.line)) {
      YAML::Mark tab = e.mark;
      tab.column = *column;
      errors.add(tab, "", "tab character in indentation (YAML indents with spaces only)");
    } else {
      errors.add(e.mark, "", "YAML syntax error: " + e.msg);
    }
  } catch (const YAML::Exception& e) {
    errors.add(e.mark, "", "YAML error: " + e.msg);
  }
  return std::nullopt;
}

// Where a service's name and dependencies sit, for the checks across services.
struct service_places {
  std::optional<field> name;
  std::vector<field> depends_on;
};

void read_url(walker& w, const field& f, std::string& out, bool* https = nullptr) {
  const auto text = w.non_empty_text(f, "an http:// or https:// URL");
  if (!text) return;
  std::string why;
  const auto url = parse_http_url(*text, &why);
  if (!url) {
    w.error(f, "invalid URL " + w.describe(f) + ": " + why);
    return;
  }
  if (https != nullptr) *https = url->https;
  // The scheme in lower case, so users of the URL may compare its prefix.
  out = (url->https ? "https" : "http") + text->substr(text->find("://"));
}

// A service, check or token name: [a-zA-Z_][a-zA-Z0-9_.-]*.
std::optional<std::string> read_name(walker& w, const field& f, const std::string& what) {
  auto text = w.non_empty_text(f, "a " + what);
  if (text && !valid_name(*text)) {
    w.error(f, "invalid " + what + " " + w.describe(f) +
                   " ([a-zA-Z_][a-zA-Z0-9_.-]*, at most 128 characters)");
    return std::nullopt;
  }
  return text;
}

void read_positive_size(walker& w, const mapping& m, std::string_view key, std::uint64_t& out) {
  const auto* f = m.find(key);
  if (f == nullptr) return;
  const auto value = w.size(*f);
  if (!value) return;
  if (*value == 0) {
    w.error(*f, "must be greater than 0");
    return;
  }
  out = *value;
}

void read_duration(walker& w, const mapping& m, std::string_view key, milliseconds& out) {
  if (const auto* f = m.find(key)) {
    if (const auto value = w.duration(*f)) out = *value;
  }
}

template <class Number>
void read_number(walker& w, const mapping& m, std::string_view key, std::uint64_t min,
                 std::uint64_t max, Number& out) {
  if (const auto* f = m.find(key)) {
    if (const auto value = w.whole_number(*f, min, max)) out = static_cast<Number>(*value);
  }
}

void read_bool(walker& w, const mapping& m, std::string_view key, bool& out) {
  if (const auto* f = m.find(key)) {
    if (const auto value = w.boolean(*f)) out = *value;
  }
}

// interval and timeout of a scrape or check. An inherited timeout is clamped to the interval
// (as Prometheus does); an explicit one longer than the interval is an error.
void read_interval_timeout(walker& w, const mapping& m, milliseconds& interval,
                           milliseconds& timeout) {
  read_duration(w, m, "interval", interval);
  const auto* f = m.find("timeout");
  if (f == nullptr) {
    timeout = std::min(timeout, interval);
    return;
  }
  const auto value = w.duration(*f);
  if (!value) return;
  timeout = *value;
  if (timeout > interval) {
    w.error(*f, "timeout " + format_duration(timeout) + " is longer than the interval " +
                    format_duration(interval));
  }
}

void read_server(walker& w, const field& f, server_spec& out) {
  const auto m =
    w.map(f, {"listen", "max_body_bytes", "external_url", "allowed_origins", "service_threads"});
  if (!m) return;
  if (const auto* listen = m->find("listen")) {
    if (const auto text = w.non_empty_text(*listen, "host:port")) {
      std::string why;
      if (const auto address = parse_host_port(*text, false, false, &why)) {
        out.listen = *address;
      } else {
        w.error(*listen, "invalid listen address " + w.describe(*listen) + ": " + why);
      }
    }
  }
  read_positive_size(w, *m, "max_body_bytes", out.max_body_bytes);
  read_number(w, *m, "service_threads", 0, 64, out.service_threads);
  if (const auto* url = m->find("external_url")) read_url(w, *url, out.external_url);
  if (const auto* origins = m->find("allowed_origins")) {
    if (const auto items = w.list(*origins)) {
      for (const auto& item : *items) {
        const auto text = w.non_empty_text(item, "an origin such as https://ops.example");
        if (!text) continue;
        if (text->rfind("http://", 0) != 0 && text->rfind("https://", 0) != 0) {
          w.error(item, "an origin is scheme://host[:port], got " + w.describe(item));
          continue;
        }
        out.allowed_origins.push_back(*text);
      }
    }
  }
}

void read_database(walker& w, const field& f, database_spec& out) {
  const auto m = w.map(f, {"url", "flush_interval", "max_buffer_bytes"});
  if (!m) return;
  if (const auto* url = m->find("url")) {
    if (url->is_null()) {
      out.url.clear();
    } else if (const auto text = w.text(*url, "a PostgreSQL URI")) {
      if (!text->empty() && !plausible_database_url(*text)) {
        w.error(*url,
                "expected a PostgreSQL URI (postgresql://user@host:5432/db) or a conninfo "
                "string (host=... dbname=...)");
      } else {
        out.url = *text;
      }
    }
  }
  read_duration(w, *m, "flush_interval", out.flush_interval);
  read_positive_size(w, *m, "max_buffer_bytes", out.max_buffer_bytes);
}

void read_storage(walker& w, const field& f, storage_spec& out) {
  const auto m = w.map(f, {"retention", "shards"});
  if (!m) return;
  read_duration(w, *m, "retention", out.retention);
  if (const auto* shards = m->find("shards")) {
    if (const auto value = w.whole_number(*shards, 1, max_shards)) {
      if ((*value & (*value - 1)) != 0) {
        w.error(*shards,
                "must be a power of two (1, 2, 4, ... 4096), got " + std::to_string(*value));
      } else {
        out.shards = static_cast<std::uint32_t>(*value);
      }
    }
  }
}

std::optional<token_spec> read_token(walker& w, const field& f) {
  const auto m = w.map(f, {"name", "role", "sha256", "env"});
  if (!m) return std::nullopt;
  token_spec token;
  bool ok = true;
  if (const auto* name = m->find("name")) {
    const auto text = read_name(w, *name, "token name");
    ok = text.has_value();
    if (ok) token.name = *text;
  } else {
    w.missing(f, "name", "a name for logs and audit");
    ok = false;
  }
  if (const auto* role_field = m->find("role")) {
    if (const auto index = w.choice(*role_field, {"viewer", "responder", "admin"})) {
      token.r = static_cast<role>(*index);
    } else {
      ok = false;
    }
  } else {
    w.missing(f, "role", "viewer, responder or admin");
    ok = false;
  }
  const auto* digest = m->find("sha256");
  const auto* env = m->find("env");
  if (digest != nullptr && env != nullptr) {
    w.error_at_key(*env, "give either sha256 or env, not both");
    return std::nullopt;
  }
  if (digest == nullptr && env == nullptr) {
    w.missing(f, "sha256", "the token's SHA-256 in hex, or env: naming a variable that holds it");
    return std::nullopt;
  }
  if (digest != nullptr) {
    const auto text = w.text(*digest, "64 hex characters");
    if (!text) return std::nullopt;
    const auto bytes = parse_hex_digest(*text);
    if (!bytes) {
      w.error(*digest,
              "expected 64 hex characters, the SHA-256 of the token "
              "(printf %s \"$TOKEN\" | sha256sum)");
      return std::nullopt;
    }
    token.sha256 = *bytes;
  } else {
    const auto name = w.non_empty_text(*env, "an environment variable name");
    if (!name) return std::nullopt;
    const auto secret = w.lookup()(*name);
    if (!secret) {
      w.error(*env, "environment variable " + quote(*name) + " is not set");
      return std::nullopt;
    }
    if (secret->size() < min_token_length) {
      w.error(*env, "environment variable " + quote(*name) + " holds a token shorter than " +
                        std::to_string(min_token_length) +
                        " characters; use a long random one (openssl rand -hex 32)");
      return std::nullopt;
    }
    token.sha256 = sha256(*secret);
  }
  if (!ok) return std::nullopt;
  return token;
}

void read_auth(walker& w, const field& f, auth_spec& out) {
  const auto m = w.map(f, {"tokens"});
  if (!m) return;
  const auto* tokens = m->find("tokens");
  if (tokens == nullptr) return;
  const auto items = w.list(*tokens);
  if (!items) return;
  std::unordered_set<std::string> names;
  std::map<std::array<unsigned char, 32>, std::string> by_digest;
  for (const auto& item : *items) {
    auto token = read_token(w, item);
    if (!token) continue;
    if (!names.insert(token->name).second) {
      w.error(item, "duplicate token name " + quote(token->name));
      continue;
    }
    const auto [other, fresh] = by_digest.emplace(token->sha256, token->name);
    if (!fresh) {
      w.error(item, "token " + quote(token->name) + " has the same secret as token " +
                        quote(other->second));
      continue;
    }
    out.tokens.push_back(std::move(*token));
  }
}

void read_scrape_defaults(walker& w, const field& f, scrape_defaults_spec& out) {
  const auto m = w.map(f, {"interval", "timeout", "body_size_limit", "sample_limit", "jitter"});
  if (!m) return;
  read_interval_timeout(w, *m, out.interval, out.timeout);
  read_positive_size(w, *m, "body_size_limit", out.body_size_limit);
  read_number(w, *m, "sample_limit", 0, std::numeric_limits<std::uint64_t>::max(),
              out.sample_limit);
  read_bool(w, *m, "jitter", out.jitter);
}

void read_thresholds(walker& w, const mapping& m, std::uint32_t& failure, std::uint32_t& success) {
  read_number(w, m, "failure_threshold", 1, max_threshold, failure);
  read_number(w, m, "success_threshold", 1, max_threshold, success);
}

void read_health_defaults(walker& w, const field& f, health_defaults_spec& out) {
  const auto m = w.map(f, {"interval", "timeout", "failure_threshold", "success_threshold"});
  if (!m) return;
  read_interval_timeout(w, *m, out.interval, out.timeout);
  read_thresholds(w, *m, out.failure_threshold, out.success_threshold);
}

void read_supervisor(walker& w, const field& f, supervisor_spec& out) {
  const auto m = w.map(f, {"restart_budget", "restart_window", "backoff_initial", "backoff_max"});
  if (!m) return;
  read_number(w, *m, "restart_budget", 0, max_restart_budget, out.restart_budget);
  read_duration(w, *m, "restart_window", out.restart_window);
  read_duration(w, *m, "backoff_initial", out.backoff_initial);
  read_duration(w, *m, "backoff_max", out.backoff_max);
  if (out.backoff_initial > out.backoff_max) {
    const auto* where = m->find("backoff_max");
    if (where == nullptr) where = m->find("backoff_initial");
    if (where != nullptr) {
      w.error(*where, "backoff_initial " + format_duration(out.backoff_initial) +
                          " is longer than backoff_max " + format_duration(out.backoff_max));
    }
  }
}

void read_logging(walker& w, const field& f, logging_spec& out) {
  const auto m = w.map(f, {"level", "format"});
  if (!m) return;
  if (const auto* level = m->find("level")) {
    if (const auto index = w.choice(*level, {"trace", "debug", "info", "warn", "error", "off"})) {
      out.level = static_cast<log_level>(*index);
    }
  }
  if (const auto* format = m->find("format")) {
    if (const auto index = w.choice(*format, {"text", "json"})) {
      out.format = static_cast<log_format>(*index);
    }
  }
}

std::optional<scrape_spec> read_metrics(walker& w, const field& f,
                                        const scrape_defaults_spec& defaults) {
  const auto m =
      w.map(f, {"url", "interval", "timeout", "body_size_limit", "sample_limit", "honor_labels"});
  if (!m) return std::nullopt;
  scrape_spec out;
  out.interval = defaults.interval;
  out.timeout = defaults.timeout;
  out.body_size_limit = defaults.body_size_limit;
  out.sample_limit = defaults.sample_limit;
  if (const auto* url = m->find("url")) {
    read_url(w, *url, out.url);
  } else {
    w.missing(f, "url", "the http(s) URL of the metrics endpoint");
  }
  read_interval_timeout(w, *m, out.interval, out.timeout);
  read_positive_size(w, *m, "body_size_limit", out.body_size_limit);
  read_number(w, *m, "sample_limit", 0, std::numeric_limits<std::uint64_t>::max(),
              out.sample_limit);
  read_bool(w, *m, "honor_labels", out.honor_labels);
  return out;
}

void read_expected_status(walker& w, const field& f, std::vector<status_range>& out) {
  std::vector<field> items;
  if (f.value.IsSequence()) {
    const auto list = w.list(f);
    if (!list) return;
    items = *list;
    if (items.empty()) {
      w.error(f, "must list at least one status");
      return;
    }
  } else {
    items.push_back(f);
  }
  std::vector<status_range> ranges;
  for (const auto& item : items) {
    const auto text = w.text(item, "a status such as 200, 2xx or 200-299");
    if (!text) return;
    const auto range = parse_status_range(*text);
    if (!range) {
      w.error(item, "invalid status " + w.describe(item) +
                        " (a code such as 204, a class such as 2xx, or a range such as 200-299; "
                        "codes 100..599)");
      return;
    }
    ranges.push_back(*range);
  }
  out = std::move(ranges);
}

void read_headers(walker& w, const field& f, std::map<std::string, std::string>& out) {
  const auto m = w.free_map(f);
  if (!m) return;
  std::unordered_set<std::string> seen;
  for (const auto& entry : m->entries()) {
    const std::string& name = entry.key.Scalar();
    if (!valid_header_name(name)) {
      w.error_at_key(entry, "invalid header name " + quote(name));
      continue;
    }
    if (!seen.insert(lower(name)).second) {
      w.error_at_key(entry, "header " + quote(name) + " given twice (names ignore case)");
      continue;
    }
    const auto value = w.text(entry, "a header value");
    if (!value) continue;
    if (!valid_header_value(*value)) {
      w.error(entry, "header value must not contain line breaks or control characters");
      continue;
    }
    out[name] = *value;
  }
}

constexpr std::array<std::string_view, 8> http_only_keys = {
    "url",        "method",       "expected_status", "body_contains",
    "body_regex", "tls_min_days", "tls_verify",      "headers"};
const std::vector<std::string_view> http_methods = {"GET",   "HEAD",   "POST",   "PUT",
                                                    "PATCH", "DELETE", "OPTIONS"};

void read_http_check(walker& w, const field& f, const mapping& m, health_check_spec& out) {
  if (const auto* address = m.find("address")) {
    w.error_at_key(*address, "\"address\" applies to tcp checks; http checks use \"url\"");
  }
  bool https = false;
  if (const auto* url = m.find("url")) {
    read_url(w, *url, out.url, &https);
  } else {
    w.missing(f, "url", "the http(s) URL to check");
  }
  if (const auto* method = m.find("method")) {
    if (const auto index = w.choice(*method, http_methods)) {
      out.method = std::string(http_methods[*index]);
    }
  }
  if (const auto* status = m.find("expected_status")) {
    read_expected_status(w, *status, out.expected_status);
  }
  if (const auto* contains = m.find("body_contains")) {
    out.body_contains = w.non_empty_text(*contains, "text the body must contain");
  }
  if (const auto* regex = m.find("body_regex")) {
    if (auto pattern = w.non_empty_text(*regex, "a POSIX extended regular expression")) {
      std::string why;
      if (pattern->size() > max_regex_length) {
        w.error(*regex, "longer than " + std::to_string(max_regex_length) + " characters");
      } else if (body_pattern::compile(*pattern, &why)) {
        out.body_regex = std::move(pattern);
      } else {
        w.error(*regex, "regular expression does not compile: " + why);
      }
    }
  }
  if (const auto* days = m.find("tls_min_days")) {
    if (const auto value = w.whole_number(*days, 0, max_tls_min_days)) {
      out.tls_min_days = static_cast<std::uint32_t>(*value);
      if (!https && !out.url.empty()) {
        w.error_at_key(*days, "tls_min_days applies to https URLs only");
      }
    }
  }
  read_bool(w, m, "tls_verify", out.tls_verify);
  if (const auto* headers = m.find("headers")) read_headers(w, *headers, out.headers);
}

void read_tcp_check(walker& w, const field& f, const mapping& m, health_check_spec& out) {
  for (const auto key : http_only_keys) {
    if (const auto* misplaced = m.find(key)) {
      w.error_at_key(*misplaced, quote(key) + " applies to http checks only");
    }
  }
  const auto* address = m.find("address");
  if (address == nullptr) {
    w.missing(f, "address", "host:port to connect to");
    return;
  }
  const auto text = w.non_empty_text(*address, "host:port");
  if (!text) return;
  std::string why;
  if (const auto parsed = parse_host_port(*text, true, true, &why)) {
    out.address = *parsed;
  } else {
    w.error(*address, "invalid address " + w.describe(*address) + ": " + why);
  }
}

std::optional<health_check_spec> read_check(walker& w, const field& f,
                                            const health_defaults_spec& defaults) {
  const auto m =
      w.map(f, {"name", "type", "url", "method", "expected_status", "max_latency", "body_contains",
                "body_regex", "tls_min_days", "tls_verify", "headers", "address", "interval",
                "timeout", "failure_threshold", "success_threshold"});
  if (!m) return std::nullopt;
  health_check_spec out;
  out.interval = defaults.interval;
  out.timeout = defaults.timeout;
  out.failure_threshold = defaults.failure_threshold;
  out.success_threshold = defaults.success_threshold;

  const auto* type = m->find("type");
  if (type == nullptr) {
    w.missing(f, "type", "http or tcp");
    return std::nullopt;
  }
  const auto kind_index = w.choice(*type, {"http", "tcp"});
  if (!kind_index) return std::nullopt;
  out.type = static_cast<health_check_spec::kind>(*kind_index);
  out.name = std::string(to_string(out.type));
  if (const auto* name = m->find("name")) {
    if (auto text = read_name(w, *name, "check name")) out.name = std::move(*text);
  }
  if (out.type == health_check_spec::kind::http) {
    read_http_check(w, f, *m, out);
  } else {
    read_tcp_check(w, f, *m, out);
  }

  read_interval_timeout(w, *m, out.interval, out.timeout);
  if (const auto* latency = m->find("max_latency")) {
    if (const auto value = w.duration(*latency)) {
      out.max_latency = *value;
      if (*value > out.timeout) {
        w.error(*latency, "max_latency " + format_duration(*value) +
                              " is longer than the timeout " + format_duration(out.timeout) +
                              ", so it could never fail a check");
      }
    }
  }
  read_thresholds(w, *m, out.failure_threshold, out.success_threshold);
  return out;
}

// A list of rule-file globs: non-empty text, no NUL, each at most once.
void read_globs(walker& w, const field& f, std::vector<std::string>& out) {
  const auto items = w.list(f);
  if (!items) return;
  std::unordered_set<std::string> seen;
  for (const auto& item : *items) {
    const auto text = w.non_empty_text(item, "a file name or glob");
    if (!text) continue;
    if (!seen.insert(*text).second) {
      w.error(item, "rule file " + quote(*text) + " listed twice");
      continue;
    }
    out.push_back(*text);
  }
}

void read_rules(walker& w, const field& f, rules_spec& out) {
  const auto m = w.map(f, {"files", "service_files", "evaluation_interval", "external_labels"});
  if (!m) return;
  if (const auto* files = m->find("files")) read_globs(w, *files, out.files);
  if (const auto* files = m->find("service_files")) read_globs(w, *files, out.service_files);
  read_duration(w, *m, "evaluation_interval", out.evaluation_interval);
  if (const auto* labels = m->find("external_labels")) {
    if (const auto entries = w.free_map(*labels)) {
      for (const auto& entry : entries->entries()) {
        const std::string& label = entry.key.Scalar();
        if (!valid_label_name(label) || label.rfind("__", 0) == 0) {
          w.error_at_key(entry, "invalid label name " + quote(label) +
                                    " ([a-zA-Z_][a-zA-Z0-9_]*, not starting with \"__\")");
        } else if (const auto value = w.non_empty_text(entry, "a label value")) {
          out.external_labels[label] = *value;
        }
      }
    }
  }
}

void read_anomaly(walker& w, const field& f, anomaly_spec& out) {
  const auto m = w.map(f, {"enabled", "threshold", "series", "max_series_per_service"});
  if (!m) return;
  read_bool(w, *m, "enabled", out.enabled);
  if (const auto* threshold = m->find("threshold")) {
    if (const auto text = w.non_empty_text(*threshold, "a number between 0 and 1")) {
      char* end = nullptr;
      const double value = std::strtod(text->c_str(), &end);
      if (end != text->c_str() + text->size() || !(value > 0.0 && value <= 1.0)) {
        w.error(*threshold, "expected a number above 0 and at most 1, got " + w.describe(*threshold));
      } else {
        out.threshold = value;
      }
    }
  }
  if (const auto* series = m->find("series")) {
    if (const auto items = w.list(*series)) {
      out.series.clear();
      for (const auto& item : *items) {
        if (auto text = w.non_empty_text(item, "a PromQL series selector")) out.series.push_back(*text);
      }
    }
  }
  read_number(w, *m, "max_series_per_service", 0, 1'000'000, out.max_series_per_service);
}

void read_incidents(walker& w, const field& f, incidents_spec& out) {
  const auto m = w.map(f, {"group_by", "auto_resolve", "reopen_window", "dependency_wait",
                           "escalation_policy"});
  if (!m) return;
  if (const auto* group_by = m->find("group_by")) {
    if (const auto items = w.list(*group_by)) {
      for (const auto& item : *items) {
        const auto text = w.non_empty_text(item, "a label name");
        if (!text) continue;
        if (!valid_label_name(*text)) {
          w.error(item, "invalid label name " + quote(*text) + " ([a-zA-Z_][a-zA-Z0-9_]*)");
        } else if (*text == "service") {
          w.error(item, "incidents are always split by service; leave \"service\" out");
        } else {
          out.group_by.push_back(*text);
        }
      }
    }
  }
  read_bool(w, *m, "auto_resolve", out.auto_resolve);
  read_duration(w, *m, "reopen_window", out.reopen_window);
  read_duration(w, *m, "dependency_wait", out.dependency_wait);
  if (const auto* policy = m->find("escalation_policy")) {
    if (auto text = w.text(*policy, "an escalation policy name, or \"\" for none")) {
      out.escalation_policy = *text;
    }
  }
}

void read_predictions(walker& w, const field& f, std::vector<prediction_spec>& out) {
  const auto items = w.list(f);
  if (!items) return;
  std::unordered_set<std::string> names;
  for (const auto& item : *items) {
    const auto m = w.map(item, {"name", "query", "threshold", "history", "horizon", "interval",
                                "method"});
    if (!m) continue;
    prediction_spec p;
    bool ok = true;
    if (const auto* name = m->find("name")) {
      auto text = read_name(w, *name, "prediction name");
      if (text && !names.insert(*text).second) {
        w.error(*name, "prediction " + quote(*text) + " defined twice");
        ok = false;
      } else if (text) {
        p.name = *text;
      } else {
        ok = false;
      }
    } else {
      w.missing(item, "name", "a unique prediction name");
      ok = false;
    }
    if (const auto* query = m->find("query")) {
      if (auto text = w.non_empty_text(*query, "a PromQL expression")) p.query = *text; else ok = false;
    } else {
      w.missing(item, "query", "a PromQL expression");
      ok = false;
    }
    if (const auto* threshold = m->find("threshold")) {
      if (const auto text = w.non_empty_text(*threshold, "a number")) {
        char* end = nullptr;
        const double value = std::strtod(text->c_str(), &end);
        if (end != text->c_str() + text->size() || !std::isfinite(value)) {
          w.error(*threshold, "expected a number, got " + w.describe(*threshold));
          ok = false;
        } else {
          p.threshold = value;
        }
      }
    }
    read_duration(w, *m, "history", p.history);
    read_duration(w, *m, "horizon", p.horizon);
    read_duration(w, *m, "interval", p.interval);
    if (p.interval < std::chrono::seconds(1)) {
      if (const auto* at = m->find("interval")) w.error(*at, "must be at least 1s");
      ok = false;
    }
    if (const auto* method = m->find("method")) {
      if (const auto choice = w.choice(*method, {"auto", "linear"})) p.linear = *choice == 1;
    }
    if (ok) out.push_back(std::move(p));
  }
}

std::optional<service_spec> read_service(walker& w, const field& f,
                                         const scrape_defaults_spec& scrape_defaults,
                                         const health_defaults_spec& health_defaults,
                                         service_places& places) {
  const auto m = w.map(f, {"name", "labels", "depends_on", "metrics", "health", "rule_files",
                           "escalation_policy"});
  if (!m) return std::nullopt;
  service_spec out;
  if (const auto* name = m->find("name")) {
    if (auto text = read_name(w, *name, "service name")) {
      out.name = std::move(*text);
      places.name = *name;
    }
  } else {
    w.missing(f, "name", "a unique service name");
  }

  if (const auto* labels = m->find("labels")) {
    if (const auto entries = w.free_map(*labels)) {
      for (const auto& entry : entries->entries()) {
        const std::string& label = entry.key.Scalar();
        if (!valid_label_name(label)) {
          w.error_at_key(entry, "invalid label name " + quote(label) + " ([a-zA-Z_][a-zA-Z0-9_]*)");
        } else if (label.rfind("__", 0) == 0) {
          w.error_at_key(entry, "label names starting with \"__\" are reserved");
        } else if (label == "service") {
          w.error_at_key(entry, "the \"service\" label is set from the service name");
        } else if (const auto value = w.non_empty_text(entry, "a label value")) {
          out.labels[label] = *value;
        }
      }
    }
  }

  if (const auto* depends = m->find("depends_on")) {
    if (const auto items = w.list(*depends)) {
      std::unordered_set<std::string> seen;
      for (const auto& item : *items) {
        const auto text = read_name(w, item, "service name");
        if (!text) continue;
        if (*text == out.name) {
          w.error(item, "a service cannot depend on itself");
        } else if (!seen.insert(*text).second) {
          w.error(item, "service " + quote(*text) + " listed twice");
        } else {
          out.depends_on.push_back(*text);
          places.depends_on.push_back(item);
        }
      }
    }
  }

  if (const auto* metrics = m->find("metrics")) {
    out.metrics = read_metrics(w, *metrics, scrape_defaults);
  }
  if (const auto* files = m->find("rule_files")) read_globs(w, *files, out.rule_files);
  if (const auto* policy = m->find("escalation_policy")) {
    if (auto text = read_name(w, *policy, "escalation policy name")) out.escalation_policy = *text;
  }

  if (const auto* health = m->find("health")) {
    if (const auto items = w.list(*health)) {
      out.health.reserve(items->size());
      std::unordered_set<std::string> names;
      for (const auto& item : *items) {
        auto check = read_check(w, item, health_defaults);
        if (!check) continue;
        if (!names.insert(check->name).second) {
          w.error(item, "duplicate check name " + quote(check->name) +
                            " in this service (give each check its own name)");
          continue;
        }
        out.health.push_back(std::move(*check));
      }
    }
  }
  return out;
}

// Dependencies between services as indices; each edge keeps the depends_on entry that made it
// when the services come from a file at hand.
struct dependency_graph {
  std::vector<std::string> names;
  std::vector<std::vector<std::pair<std::size_t, const field*>>> edges;
};

// Calls found("a -> b -> a", the entry closing the cycle) for every cycle a depth-first
// search meets. Iterative, so a long chain of services cannot exhaust the stack.
void find_cycles(const dependency_graph& graph,
                 const std::function<void(const std::string&, const field*)>& found) {
  enum class state : unsigned char { unvisited, on_path, done };
  std::vector<state> states(graph.names.size(), state::unvisited);
  std::vector<std::size_t> position(graph.names.size(), 0);
  struct frame {
    std::size_t node;
    std::size_t next_edge;
  };
  for (std::size_t start = 0; start < graph.names.size(); ++start) {
    if (states[start] != state::unvisited) continue;
    std::vector<frame> path{{start, 0}};
    states[start] = state::on_path;
    position[start] = 0;
    while (!path.empty()) {
      frame& top = path.back();
      if (top.next_edge == graph.edges[top.node].size()) {
        states[top.node] = state::done;
        path.pop_back();
        continue;
      }
      const auto [target, where] = graph.edges[top.node][top.next_edge++];
      if (states[target] == state::unvisited) {
        states[target] = state::on_path;
        position[target] = path.size();
        path.push_back({target, 0});
        continue;
      }
      if (states[target] != state::on_path) continue;
      std::string cycle;
      const std::size_t length = path.size() - position[target];
      for (std::size_t i = position[target]; i < path.size(); ++i) {
        if (i - position[target] == max_cycle_names_shown && length > max_cycle_names_shown) {
          cycle += "... -> ";
          i = path.size() - 1;
        }
        cycle += graph.names[path[i].node] + " -> ";
      }
      cycle += graph.names[target];
      found(cycle, where);
    }
  }
}

void read_services(walker& w, const field& f, watchkeeper_config& config) {
  const auto items = w.list(f);
  if (!items) return;
  std::vector<service_places> places(items->size());
  std::vector<service_spec> services;
  std::vector<std::size_t> item_of;  // services[k] was read from (*items)[item_of[k]]
  for (std::size_t i = 0; i < items->size(); ++i) {
    auto service =
        read_service(w, (*items)[i], config.scrape_defaults, config.health_defaults, places[i]);
    if (!service) continue;
    services.push_back(std::move(*service));
    item_of.push_back(i);
  }

  dependency_graph graph;
  std::unordered_map<std::string, std::size_t> index;
  std::vector<int> first_line;
  std::vector<std::size_t> node_of(services.size(), std::numeric_limits<std::size_t>::max());
  for (std::size_t k = 0; k < services.size(); ++k) {
    const auto& name = places[item_of[k]].name;
    if (!name) continue;
    const auto [first, fresh] = index.emplace(services[k].name, graph.names.size());
    if (!fresh) {
      w.error(*name, "duplicate service name " + quote(services[k].name) +
                         " (first defined at line " + std::to_string(first_line[first->second]) +
                         ")");
      continue;
    }
    node_of[k] = graph.names.size();
    graph.names.push_back(services[k].name);
    first_line.push_back(name->mark().line + 1);
  }
  graph.edges.resize(graph.names.size());
  const std::vector<std::string_view> candidates(graph.names.begin(), graph.names.end());
  for (std::size_t k = 0; k < services.size(); ++k) {
    if (node_of[k] == std::numeric_limits<std::size_t>::max()) continue;
    const auto& depends_on = services[k].depends_on;
    for (std::size_t i = 0; i < depends_on.size(); ++i) {
      const field& where = places[item_of[k]].depends_on[i];
      const auto found = index.find(depends_on[i]);
      if (found == index.end()) {
        w.error(where, "unknown service " + quote(depends_on[i]) +
                           (candidates.size() <= max_suggestion_candidates
                                ? detail::suggestion(depends_on[i], candidates)
                                : std::string()));
      } else {
        graph.edges[node_of[k]].emplace_back(found->second, &where);
      }
    }
  }
  find_cycles(graph, [&w](const std::string& cycle, const field* where) {
    w.error(*where, "dependency cycle: " + cycle);
  });
  config.services = std::move(services);
}

// Errors of the folders' own parsers ("<line>:<col>: <path>: <message>", the file left out)
// joined into this loader's report so every problem is listed in one place and order.
void report_foreign(walker& w, const std::vector<std::string>& errors) {
  for (const auto& e : errors) {
    field f;
    std::size_t pos = 0;
    int numbers[2] = {0, 0};
    int found = 0;
    while (found < 2 && pos < e.size() && std::isdigit(static_cast<unsigned char>(e[pos]))) {
      int n = 0;
      while (pos < e.size() && std::isdigit(static_cast<unsigned char>(e[pos])) && n < 10'000'000)
        n = n * 10 + (e[pos++] - '0');
      if (pos >= e.size() || e[pos] != ':') break;
      numbers[found++] = n;
      ++pos;
      if (pos < e.size() && e[pos] == ' ') ++pos;
    }
    std::string rest = found == 2 ? e.substr(pos) : e;
    if (found == 2) {
      f.fallback.line = numbers[0] - 1;
      f.fallback.column = numbers[1] - 1;
    }
    const auto colon = rest.find(": ");
    if (colon != std::string::npos && rest.find(' ') >= colon) {
      f.path = rest.substr(0, colon);
      rest = rest.substr(colon + 2);
    }
    w.error(f, rest);
  }
}

// Receivers, routes, on-call and silences: parsed by their folders, then checked against
// each other (every name one section uses must exist in the section that defines it).
void read_incident_sections(walker& w, const field& root, const mapping& m,
                            watchkeeper_config& config) {
  std::vector<std::string> errors;
  const YAML::Node& doc = root.value;
  if (m.find("notifications")) {
    config.notifications = notify::parse_notifications(doc["notifications"], errors, {},
                                                       w.lookup(), config.server.external_url);
  }
  if (doc.IsMap()) {  // an empty file is all defaults
    config.oncall = oncall::parse_oncall(doc, errors, {});
    config.silences = silences::parse_silence_config(doc, errors, {});
  }
  report_foreign(w, errors);

  std::unordered_set<std::string> policies;
  for (const auto& p : config.oncall.escalation_policies) policies.insert(p.name);
  for (std::size_t i = 0; i < config.oncall.escalation_policies.size(); ++i) {
    const auto& p = config.oncall.escalation_policies[i];
    for (std::size_t l = 0; l < p.levels.size(); ++l) {
      for (const auto& t : p.levels[l].targets) {
        if (t.type == oncall::target::kind::channel && !config.notifications.find(t.id)) {
          field f;
          f.path = "escalation_policies[" + std::to_string(i) + "].levels[" + std::to_string(l) +
                   "].targets";
          if (const auto* at = m.find("escalation_policies")) f.fallback = at->mark();
          w.error(f, "channel " + quote(t.id) + " is not a receiver in notifications.receivers");
        }
      }
    }
  }
  if (const auto* at = m.find("incidents")) {
    if (!config.incidents.escalation_policy.empty() &&
        !policies.count(config.incidents.escalation_policy)) {
      field f;
      f.path = "incidents.escalation_policy";
      f.fallback = at->mark();
      w.error(f, "unknown escalation policy " + quote(config.incidents.escalation_policy));
    }
  }
}

watchkeeper_config read_config(walker& w, const field& root) {
  watchkeeper_config config;
  const auto m = w.map(root, {"server", "database", "storage", "auth", "scrape_defaults",
                              "health_defaults", "supervisor", "logging", "rules", "anomaly",
                              "services", "incidents", "notifications", "users", "schedules",
                              "escalation_policies", "silences", "maintenance_windows",
                              "predictions"});
  if (!m) return config;
  if (const auto* f = m->find("server")) read_server(w, *f, config.server);
  if (const auto* f = m->find("database")) read_database(w, *f, config.database);
  if (const auto* f = m->find("storage")) read_storage(w, *f, config.storage);
  if (const auto* f = m->find("auth")) read_auth(w, *f, config.auth);
  if (const auto* f = m->find("supervisor")) read_supervisor(w, *f, config.supervisor);
  if (const auto* f = m->find("logging")) read_logging(w, *f, config.logging);
  if (const auto* f = m->find("rules")) read_rules(w, *f, config.rules);
  if (const auto* f = m->find("anomaly")) read_anomaly(w, *f, config.anomaly);
  if (const auto* f = m->find("incidents")) read_incidents(w, *f, config.incidents);
  if (const auto* f = m->find("predictions")) read_predictions(w, *f, config.predictions);
  // Services inherit these, so they are read first wherever they sit in the file.
  if (const auto* f = m->find("scrape_defaults")) {
    read_scrape_defaults(w, *f, config.scrape_defaults);
  }
  if (const auto* f = m->find("health_defaults")) {
    read_health_defaults(w, *f, config.health_defaults);
  }
  if (const auto* f = m->find("services")) read_services(w, *f, config);
  read_incident_sections(w, root, *m, config);
  for (std::size_t i = 0; i < config.services.size(); ++i) {
    const auto& policy = config.services[i].escalation_policy;
    if (policy.empty()) continue;
    bool known = false;
    for (const auto& p : config.oncall.escalation_policies) known = known || p.name == policy;
    if (!known) {
      field f;
      f.path = "services[" + std::to_string(i) + "].escalation_policy";
      if (const auto* at = m->find("services")) f.fallback = at->mark();
      w.error(f, "unknown escalation policy " + quote(policy));
    }
  }
  return config;
}

load_result load(std::string_view text, const std::string& source_name, const env_lookup& lookup) {
  detail::error_sink errors(source_name);
  load_result result;
  try {
    if (const auto document = parse_document(text, errors)) {
      walker w(errors, detail::env_mode::expand, lookup);
      watchkeeper_config config = read_config(w, walker::root(*document));
      const auto env_url = lookup(database_url_env);
      if (env_url && !env_url->empty()) {
        if (plausible_database_url(*env_url)) {
          config.database.url = *env_url;
        } else {
          errors.add(YAML::Mark::null_mark(), "database.url",
                     std::string(database_url_env) +
                         " is not a PostgreSQL URI (postgresql://user@host:5432/db) or conninfo");
        }
      }
      config.source_file = source_name;
      if (errors.empty()) result.config = std::move(config);
    }
  } catch (const std::exception& e) {
    errors.add(YAML::Mark::null_mark(), "", std::string("internal error: ") + e.what());
  }
  result.errors = errors.take();
  return result;
}

}  // namespace

load_result load_config_string(std::string_view yaml, const std::string& source_name) {
  return load(yaml, source_name, process_env);
}

load_result load_config_file(const std::string& path) {
  const auto fail = [&path](std::string message) {
    load_result result;
    result.errors.push_back(config_error{path, 0, 0, "", std::move(message)});
    return result;
  };
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return fail("is a directory, not a file");
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return fail("cannot open: " + std::error_code(errno, std::generic_category()).message());
  }
  // Chunked, so pipes and files that grow while read are bounded too.
  std::string text;
  std::vector<char> chunk(64 * 1024);
  while (in.read(chunk.data(), static_cast<std::streamsize>(chunk.size())) || in.gcount() > 0) {
    text.append(chunk.data(), static_cast<std::size_t>(in.gcount()));
    if (text.size() > max_config_bytes) {
      return fail("larger than " + std::to_string(max_config_bytes >> 20) + " MiB");
    }
  }
  if (in.bad()) return fail("read error");
  // An empty file would load as "all defaults": no services, no tokens. Refused, so a reload
  // that catches an editor or a deploy tool halfway through writing the file keeps the running
  // configuration instead of wiping it.
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) {
    return fail("is empty; a configuration file needs at least one key");
  }
  return load(text, path, process_env);
}

std::vector<std::string> check_dependencies(const std::vector<service_spec>& services) {
  std::vector<std::string> problems;
  dependency_graph graph;
  std::unordered_map<std::string, std::size_t> index;
  std::vector<const service_spec*> nodes;
  for (const auto& service : services) {
    if (!index.emplace(service.name, graph.names.size()).second) {
      problems.push_back("service " + quote(service.name) + " is defined twice");
      continue;
    }
    graph.names.push_back(service.name);
    nodes.push_back(&service);
  }
  graph.edges.resize(graph.names.size());
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    for (const auto& dependency : nodes[i]->depends_on) {
      const auto found = index.find(dependency);
      if (dependency == nodes[i]->name) {
        problems.push_back("service " + quote(dependency) + " depends on itself");
      } else if (found == index.end()) {
        problems.push_back("service " + quote(nodes[i]->name) + " depends on unknown service " +
                           quote(dependency));
      } else {
        graph.edges[i].emplace_back(found->second, nullptr);
      }
    }
  }
  find_cycles(graph, [&problems](const std::string& cycle, const field*) {
    problems.push_back("dependency cycle: " + cycle);
  });
  return problems;
}

service_result parse_service(std::string_view yaml_or_json, const std::string& source_name,
                             const watchkeeper_config& defaults_from, env_expansion env) {
  detail::error_sink errors(source_name);
  service_result result;
  try {
    if (const auto document = parse_document(yaml_or_json, errors)) {
      walker w(errors,
               env == env_expansion::on ? detail::env_mode::expand : detail::env_mode::literal,
               process_env);
      service_places places;
      auto service = read_service(w, walker::root(*document), defaults_from.scrape_defaults,
                                  defaults_from.health_defaults, places);
      if (errors.empty()) result.service = std::move(service);
    }
  } catch (const std::exception& e) {
    errors.add(YAML::Mark::null_mark(), "", std::string("internal error: ") + e.what());
  }
  result.errors = errors.take();
  return result;
}

}  // namespace wk::config
