#include "notify/email.hpp"

#include <cctype>
#include <cstdio>

#include <openssl/sha.h>

#include "notify/template.hpp"
#include "notify/text.hpp"

namespace wk::notify {
namespace {

constexpr std::size_t subject_limit = 200;
constexpr std::size_t listed_alerts = 100;
constexpr std::size_t value_limit = 10000;
constexpr std::size_t fold_width = 78;

// Header value with control characters (CR and LF above all) turned into spaces.
std::string header_safe(std::string_view s) {
  std::string out = sanitize_utf8(s);
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F)
      c = ' ';
  return out;
}

bool is_ascii(std::string_view s) {
  for (unsigned char c : s)
    if (c >= 0x80)
      return false;
  return true;
}

std::string base64(std::string_view in) {
  static constexpr char table[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  auto byte = [&](std::size_t k) { return static_cast<unsigned char>(in[k]); };
  for (; i + 3 <= in.size(); i += 3) {
    unsigned v = byte(i) << 16 | byte(i + 1) << 8 | byte(i + 2);
    out += table[v >> 18];
    out += table[(v >> 12) & 63];
    out += table[(v >> 6) & 63];
    out += table[v & 63];
  }
  if (i + 1 == in.size()) {
    unsigned v = byte(i) << 16;
    out += table[v >> 18];
    out += table[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    unsigned v = byte(i) << 16 | byte(i + 1) << 8;
    out += table[v >> 18];
    out += table[(v >> 12) & 63];
    out += table[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

// RFC 2047 encoded-words of UTF-8 text, each 60 characters at most (36 bytes of input, so
// "Subject: " plus a word fits 78 columns), never splitting a code point, joined by folding
// whitespace.
std::string encode_words(std::string_view text) {
  std::string out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = std::min(text.size(), pos + 36);
    while (end < text.size() && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80)
      --end;
    if (!out.empty())
      out += "\r\n ";
    out += "=?UTF-8?B?" + base64(text.substr(pos, end - pos)) + "?=";
    pos = end;
  }
  return out;
}

// "Name: value" folded at spaces so lines stay within 78 characters where the words allow.
std::string folded_header(std::string_view name, std::string_view value) {
  std::string out(name);
  out += ':';
  std::size_t line = out.size();
  std::size_t pos = 0;
  while (pos <= value.size()) {
    std::size_t space = value.find(' ', pos);
    std::string_view word =
        value.substr(pos, space == std::string_view::npos ? std::string_view::npos : space - pos);
    if (line + 1 + word.size() > fold_width && line > name.size() + 1) {
      out += "\r\n";
      line = 0;
    }
    out += ' ';
    out += word;
    line += 1 + word.size();
    if (space == std::string_view::npos)
      break;
    pos = space + 1;
  }
  return out + "\r\n";
}

std::string subject_header(std::string_view subject) {
  bool long_word = false;
  std::size_t run = 0;
  for (char c : subject) {
    run = c == ' ' ? 0 : run + 1;
    long_word = long_word || run > 60;
  }
  if (is_ascii(subject) && !long_word)
    return folded_header("Subject", subject);
  return "Subject: " + encode_words(subject) + "\r\n";
}

// An address header value: a non-ASCII display name becomes an encoded-word, the address part
// stays as written.
std::string address(std::string_view raw) {
  std::string a = header_safe(raw);
  if (is_ascii(a))
    return a;
  std::size_t lt = a.rfind('<');
  if (lt == std::string::npos)
    return a;
  std::string name = a.substr(0, lt);
  while (!name.empty() && (name.back() == ' ' || name.back() == '"'))
    name.pop_back();
  std::size_t start = name.find_first_not_of(" \"");
  name = start == std::string::npos ? std::string() : name.substr(start);
  return encode_words(name) + " " + a.substr(lt);
}

// Characters allowed in the left-hand side of a Message-ID (RFC 5322 atext, no '='); others
// become "=XX" so distinct ids stay distinct.
std::string msgid_part(std::string_view s) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || std::string_view("!#$%&'*+-/?^_`{|}~.").find(static_cast<char>(c)) !=
                               std::string_view::npos) {
      out += static_cast<char>(c);
    } else {
      out += '=';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  while (!out.empty() && out.back() == '.')
    out.back() = '_';
  while (!out.empty() && out.front() == '.')
    out.front() = '_';
  return out;
}

std::string domain_part(std::string_view domain) {
  std::string out;
  for (unsigned char c : domain)
    if (std::isalnum(c) || c == '-' || c == '.')
      out += static_cast<char>(c);
  return out.empty() ? "watchkeeper.invalid" : out;
}

std::string rfc5322_date(std::int64_t ms) {
  static constexpr const char* days[] = {"Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"};
  static constexpr const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                           "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::int64_t secs = ms / 1000 - (ms % 1000 < 0);
  std::int64_t d = secs / 86400 - (secs % 86400 < 0);
  std::int64_t rem = secs - d * 86400;
  std::int64_t year;
  unsigned month, day;
  civil_from_days(d, year, month, day);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %02u %s %04d %02d:%02d:%02d +0000", days[((d % 7) + 7) % 7],
                day, months[month - 1], static_cast<int>(year), static_cast<int>(rem / 3600),
                static_cast<int>(rem / 60 % 60), static_cast<int>(rem % 60));
  return buf;
}

// Quoted-printable (RFC 2045) of UTF-8 text; '\n' (with or without '\r') becomes a hard CRLF.
std::string quoted_printable(std::string_view text) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  std::size_t line = 0;
  auto emit = [&](std::string_view piece) {
    if (line + piece.size() > 75) {
      out += "=\r\n";
      line = 0;
    }
    out += piece;
    line += piece.size();
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n')
      continue;
    if (c == '\n') {
      out += "\r\n";
      line = 0;
      continue;
    }
    bool at_line_end = i + 1 == text.size() || text[i + 1] == '\n' || text[i + 1] == '\r';
    bool plain = (c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !at_line_end);
    if (c == '.' && line == 0)
      plain = false;
    if (plain) {
      char s[1] = {static_cast<char>(c)};
      emit(std::string_view(s, 1));
    } else {
      char s[3] = {'=', hex[c >> 4], hex[c & 15]};
      emit(std::string_view(s, 3));
    }
  }
  return out;
}

std::string html_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string value_of(const std::map<std::string, std::string>& m, const char* key) {
  auto it = m.find(key);
  return it == m.end() ? std::string() : it->second;
}

std::string joined_labels(const std::map<std::string, std::string>& labels) {
  std::string out;
  for (const auto& [k, v] : labels) {
    if (!out.empty())
      out += ", ";
    out += k + "=" + v;
  }
  return out;
}

struct detail_row {
  std::string name, value;
};

std::vector<detail_row> detail_rows(const notification& n) {
  std::vector<detail_row> rows = {{"Service", n.service},
                                  {"Severity", n.severity},
                                  {"Status", n.status},
                                  {"Incident", n.incident_id},
                                  {"Acknowledged by", n.acknowledged_by},
                                  {"Resolved by", n.resolved_by},
                                  {"Note", n.note},
                                  {"Link", incident_url(n)}};
  std::vector<detail_row> out;
  for (auto& r : rows)
    if (!r.value.empty())
      out.push_back({r.name, clip_utf8(r.value, value_limit)});
  return out;
}

std::string summary_of(const notification& n) {
  std::string s = value_of(n.common_annotations, "summary");
  if (s.empty())
    s = value_of(n.common_annotations, "description");
  return clip_utf8(s, value_limit);
}

std::string default_text(const notification& n, const std::string& headline) {
  std::string t = headline + "\n\n";
  for (const auto& r : detail_rows(n))
    t += r.name + ": " + r.value + "\n";
  std::string summary = summary_of(n);
  if (!summary.empty())
    t += "\n" + summary + "\n";
  if (!n.alerts.empty())
    t += "\nAlerts:\n";
  for (std::size_t i = 0; i < n.alerts.size() && i < listed_alerts; ++i) {
    const auto& a = n.alerts[i];
    std::string name = value_of(a.labels, "alertname");
    t += "- " + a.status + " " + (name.empty() ? "alert" : name);
    std::string s = value_of(a.annotations, "summary");
    if (!s.empty())
      t += ": " + s;
    t += "\n  labels: " + joined_labels(a.labels) + "\n";
    if (a.starts_at_ms)
      t += "  since: " + format_rfc3339(a.starts_at_ms) + "\n";
  }
  if (n.alerts.size() > listed_alerts)
    t += "... and " + std::to_string(n.alerts.size() - listed_alerts) + " more alerts\n";
  return clip_utf8(t, value_limit * 4);
}

std::string default_html(const notification& n, const std::string& headline) {
  std::string h = "<!DOCTYPE html><html><body style=\"font-family:sans-serif\">\n<h2>" +
                  html_escape(headline) + "</h2>\n<table>\n";
  for (const auto& r : detail_rows(n)) {
    std::string value = html_escape(r.value);
    if (r.name == "Link")
      value = "<a href=\"" + value + "\">" + value + "</a>";
    h += "<tr><th align=\"left\">" + html_escape(r.name) + "</th><td>" + value + "</td></tr>\n";
  }
  h += "</table>\n";
  std::string summary = summary_of(n);
  if (!summary.empty())
    h += "<p>" + html_escape(summary) + "</p>\n";
  if (!n.alerts.empty())
    h += "<ul>\n";
  for (std::size_t i = 0; i < n.alerts.size() && i < listed_alerts; ++i) {
    const auto& a = n.alerts[i];
    std::string name = value_of(a.labels, "alertname");
    std::string s = clip_utf8(value_of(a.annotations, "summary"), value_limit);
    h += "<li><b>" + html_escape(a.status) + "</b> " +
         html_escape(sanitize_utf8(name.empty() ? "alert" : name));
    if (!s.empty())
      h += ": " + html_escape(s);
    h += "<br><small>" + html_escape(clip_utf8(joined_labels(a.labels), value_limit)) +
         "</small></li>\n";
  }
  if (!n.alerts.empty())
    h += "</ul>\n";
  if (n.alerts.size() > listed_alerts)
    h += "<p>... and " + std::to_string(n.alerts.size() - listed_alerts) + " more alerts</p>\n";
  return h + "</body></html>\n";
}

std::string boundary_for(const notification& n) {
  // "=_" never occurs in quoted-printable output, so the boundary cannot collide with a part.
  unsigned char digest[SHA256_DIGEST_LENGTH];
  std::string seed = n.incident_id + "\n" + n.transition + "\n" + std::to_string(n.at_ms);
  SHA256(reinterpret_cast<const unsigned char*>(seed.data()), seed.size(), digest);
  static constexpr char hex[] = "0123456789abcdef";
  std::string b = "=_wk_";
  for (int i = 0; i < 12; ++i) {
    b += hex[digest[i] >> 4];
    b += hex[digest[i] & 15];
  }
  return b;
}

}  // namespace

std::string incident_message_id(const std::string& incident_id, const std::string& domain) {
  return "<incident-" + msgid_part(incident_id) + "@" + domain_part(domain) + ">";
}

std::string email_message(const notification& n, const email_options& o, std::int64_t now_ms) {
  std::string subject = o.subject_template.empty() ? "[" + transition_tag(n) + "] " + n.title
                                                   : expand_template(o.subject_template, n);
  subject = truncate_utf8(header_safe(subject), subject_limit);
  std::string headline = "[" + transition_tag(n) + "] " + n.title;
  std::string text, html;
  if (o.text_template.empty()) {
    text = default_text(n, headline);
    html = default_html(n, headline);
  } else {
    text = sanitize_utf8(expand_template(o.text_template, n));
    html = "<!DOCTYPE html><html><body><pre style=\"white-space:pre-wrap\">" + html_escape(text) +
           "</pre></body></html>\n";
  }

  std::string first_id = incident_message_id(n.incident_id, o.domain);
  bool first = n.transition == "triggered";
  std::string m;
  m += "From: " + address(o.from) + "\r\n";
  std::string to;
  for (const auto& a : o.to) {
    if (!to.empty())
      to += ", ";
    to += address(a);
  }
  m += folded_header("To", to);
  m += subject_header(subject);
  m += "Date: " + rfc5322_date(now_ms) + "\r\n";
  if (first) {
    m += "Message-ID: " + first_id + "\r\n";
  } else {
    m += "Message-ID: <incident-" + msgid_part(n.incident_id) + "." + msgid_part(n.transition) +
         "." + std::to_string(n.at_ms) + "@" + domain_part(o.domain) + ">\r\n";
    m += "In-Reply-To: " + first_id + "\r\n";
    m += "References: " + first_id + "\r\n";
  }
  m += "Auto-Submitted: auto-generated\r\n";
  m += "MIME-Version: 1.0\r\n";
  std::string boundary = boundary_for(n);
  m += "Content-Type: multipart/alternative; boundary=\"" + boundary + "\"\r\n\r\n";
  for (const auto& [type, part] : {std::pair<const char*, const std::string&>{"plain", text},
                                   std::pair<const char*, const std::string&>{"html", html}}) {
    m += "--" + boundary + "\r\n";
    m += std::string("Content-Type: text/") + type + "; charset=utf-8\r\n";
    m += "Content-Transfer-Encoding: quoted-printable\r\n\r\n";
    m += quoted_printable(part);
    m += "\r\n";
  }
  m += "--" + boundary + "--\r\n";
  return m;
}

}  // namespace wk::notify
