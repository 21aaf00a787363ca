#include "config/address.hpp"

#include <cctype>

namespace wk::config {

namespace {

constexpr std::size_t max_host_length = 253;
constexpr std::size_t max_url_length = 8192;

bool is_host_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '.' || c == '_';
}

bool is_ipv6_char(char c) {
  return std::isxdigit(static_cast<unsigned char>(c)) != 0 || c == ':' || c == '.';
}

bool fail(std::string* why, std::string reason) {
  if (why != nullptr) *why = std::move(reason);
  return false;
}

// Splits "host[:port]" (host may be a bracketed IPv6 literal); port_text is empty when absent.
bool split_host_port(std::string_view text, std::string& host, std::string_view& port_text,
                     bool& has_port, std::string* why) {
  has_port = false;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos) return fail(why, "IPv6 address without a closing \"]\"");
    const auto literal = text.substr(1, close - 1);
    if (literal.empty() || literal.find(':') == std::string_view::npos) {
      return fail(why, "\"[...]\" must hold an IPv6 address");
    }
    for (const char c : literal) {
      if (!is_ipv6_char(c)) return fail(why, "invalid character in IPv6 address");
    }
    host.assign(literal);
    const auto rest = text.substr(close + 1);
    if (rest.empty()) return true;
    if (rest.front() != ':') return fail(why, "expected \":port\" after \"]\"");
    has_port = true;
    port_text = rest.substr(1);
    return true;
  }
  const auto colon = text.rfind(':');
  if (colon != std::string_view::npos) {
    if (text.substr(0, colon).find(':') != std::string_view::npos) {
      return fail(why, "IPv6 addresses must be written in brackets, e.g. [::1]:9100");
    }
    has_port = true;
    port_text = text.substr(colon + 1);
    text = text.substr(0, colon);
  }
  if (text.size() > max_host_length) return fail(why, "host name longer than 253 characters");
  for (const char c : text) {
    if (!is_host_char(c)) {
      return fail(why, "invalid character in host name (letters, digits, '-', '.', '_')");
    }
  }
  host.assign(text);
  return true;
}

bool parse_port(std::string_view text, std::uint16_t& port, std::string* why) {
  if (text.empty() || text.size() > 5) return fail(why, "port must be a number 0..65535");
  unsigned value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return fail(why, "port must be a number 0..65535");
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value > 65535) return fail(why, "port must be a number 0..65535");
  port = static_cast<std::uint16_t>(value);
  return true;
}

}  // namespace

std::string host_port::to_string() const {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

bool operator==(const host_port& a, const host_port& b) {
  return a.host == b.host && a.port == b.port;
}

bool operator!=(const host_port& a, const host_port& b) { return !(a == b); }

std::optional<host_port> parse_host_port(std::string_view text, bool host_required,
                                         bool port_required, std::string* why) {
  host_port out;
  std::string_view port_text;
  bool has_port = false;
  if (!split_host_port(text, out.host, port_text, has_port, why)) return std::nullopt;
  if (!has_port) {
    fail(why, "expected host:port");
    return std::nullopt;
  }
  if (!parse_port(port_text, out.port, why)) return std::nullopt;
  if (host_required && out.host.empty()) {
    fail(why, "host is empty");
    return std::nullopt;
  }
  if (port_required && out.port == 0) {
    fail(why, "port must be 1..65535");
    return std::nullopt;
  }
  return out;
}

std::optional<http_url> parse_http_url(std::string_view text, std::string* why) {
  if (text.size() > max_url_length) {
    fail(why, "URL longer than 8192 characters");
    return std::nullopt;
  }
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte <= 0x20 || byte == 0x7f) {
      fail(why, "URL contains a space or control character");
      return std::nullopt;
    }
  }
  const auto scheme_end = text.find("://");
  if (scheme_end == std::string_view::npos) {
    fail(why, "expected an absolute URL such as http://host:port/path");
    return std::nullopt;
  }
  std::string scheme(text.substr(0, scheme_end));
  for (char& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  http_url out;
  if (scheme == "https") {
    out.https = true;
  } else if (scheme != "http") {
    fail(why, "scheme must be http or https");
    return std::nullopt;
  }
  const auto rest = text.substr(scheme_end + 3);
  const auto authority_end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, authority_end);
  const auto at = authority.rfind('@');
  if (at != std::string_view::npos) authority = authority.substr(at + 1);

  std::string_view port_text;
  bool has_port = false;
  if (!split_host_port(authority, out.host, port_text, has_port, why)) return std::nullopt;
  if (out.host.empty()) {
    fail(why, "URL has an empty host");
    return std::nullopt;
  }
  out.port = out.https ? 443 : 80;
  if (has_port && (!parse_port(port_text, out.port, why) || out.port == 0)) {
    fail(why, "URL port must be 1..65535");
    return std::nullopt;
  }
  if (authority_end == std::string_view::npos) {
    out.target = "/";
  } else {
    std::string_view target = rest.substr(authority_end);
    target = target.substr(0, target.find('#'));
    out.target =
        target.empty() || target.front() != '/' ? "/" + std::string(target) : std::string(target);
  }
  return out;
}

}  // namespace wk::config
