#include "notify/matcher.hpp"

#include <algorithm>
#include <cctype>
#include <cstdint>

#include <regex.h>

namespace wk::notify {

struct matcher::compiled {
  regex_t regex;
  ~compiled() { regfree(&regex); }
};

namespace {

bool valid_label_name(std::string_view name) {
  if (name.empty())
    return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    auto c = static_cast<unsigned char>(name[i]);
    if (!(std::isalpha(c) || c == '_' || (i > 0 && std::isdigit(c))))
      return false;
  }
  return true;
}

std::string_view op_text(match_op op) {
  switch (op) {
    case match_op::equal: return "=";
    case match_op::not_equal: return "!=";
    case match_op::regex: return "=~";
    case match_op::not_regex: return "!~";
  }
  return "=";
}

void skip_space(std::string_view s, std::size_t& pos) {
  while (pos < s.size() && std::isspace(static_cast<unsigned char>(s[pos])))
    ++pos;
}

// A double-quoted string at s[pos] with Go escapes \" \\ \n \t \r; nullopt when unterminated.
std::optional<std::string> quoted(std::string_view s, std::size_t& pos) {
  std::string out;
  ++pos;
  while (pos < s.size()) {
    char c = s[pos++];
    if (c == '"')
      return out;
    if (c != '\\') {
      out += c;
      continue;
    }
    if (pos == s.size())
      return std::nullopt;
    char e = s[pos++];
    switch (e) {
      case 'n': out += '\n'; break;
      case 't': out += '\t'; break;
      case 'r': out += '\r'; break;
      default: out += e;
    }
  }
  return std::nullopt;
}

// Measured: glibc compiles a{1,100} in about 2 ms, a{1,1000} in 80 ms, a{1,32767} in over a
// minute; (a{1,255}){1,255} in 1.9 s and 158 MB.
constexpr std::int64_t max_repetition_product = 100;

}  // namespace

std::optional<std::string> regex_hazard(std::string_view regex) {
  std::int64_t product = 1;
  for (std::size_t i = 0; i < regex.size(); ++i) {
    if (regex[i] == '\\' && i + 1 < regex.size() && regex[i + 1] >= '1' && regex[i + 1] <= '9')
      return std::string("back-references (\\1 ... \\9) are not allowed");
    if (regex[i] != '{')
      continue;
    // {m}, {m,} or {m,n}; a brace not followed by a bound is a literal to regcomp.
    std::size_t j = i + 1;
    std::int64_t bound = 0;
    bool digits = false;
    while (j < regex.size() && ((regex[j] >= '0' && regex[j] <= '9') || regex[j] == ',')) {
      if (regex[j] != ',') {
        std::int64_t n = 0;
        while (j < regex.size() && regex[j] >= '0' && regex[j] <= '9' && n <= 1000000)
          n = n * 10 + (regex[j++] - '0');
        bound = std::max(bound, n);
        digits = true;
      } else {
        ++j;
      }
    }
    if (!digits || j >= regex.size() || regex[j] != '}')
      continue;
    product *= std::max<std::int64_t>(bound, 1);
    if (product > max_repetition_product)
      return "repetition counts multiply to more than " +
             std::to_string(max_repetition_product) + "; use * or + instead";
  }
  return std::nullopt;
}

std::optional<matcher> matcher::make(std::string name, match_op op, std::string value,
                                     std::string* error) {
  if (!valid_label_name(name)) {
    if (error)
      *error = "invalid label name \"" + name + "\"";
    return std::nullopt;
  }
  matcher m;
  m.name_ = std::move(name);
  m.op_ = op;
  m.value_ = std::move(value);
  if (op == match_op::regex || op == match_op::not_regex) {
    if (m.value_.find('\0') != std::string::npos) {
      if (error)
        *error = "regex for " + m.name_ + " contains a NUL byte";
      return std::nullopt;
    }
    if (auto hazard = regex_hazard(m.value_)) {
      if (error)
        *error = "regex for " + m.name_ + ": " + *hazard;
      return std::nullopt;
    }
    auto c = std::make_shared<compiled>();
    std::string anchored = "^(" + m.value_ + ")$";
    int rc = regcomp(&c->regex, anchored.c_str(), REG_EXTENDED | REG_NOSUB);
    if (rc != 0) {
      char buf[256];
      regerror(rc, &c->regex, buf, sizeof buf);
      // regcomp leaves nothing to free on failure; keep the destructor from freeing garbage.
      c->regex = regex_t{};
      if (error)
        *error = "invalid regex for " + m.name_ + " (POSIX extended syntax): " + buf;
      return std::nullopt;
    }
    m.regex_ = std::move(c);
  }
  return m;
}

bool matcher::matches(std::string_view label_value) const {
  bool hit;
  if (regex_) {
    regmatch_t range[1];
    range[0].rm_so = 0;
    range[0].rm_eo = static_cast<regoff_t>(label_value.size());
    hit = regexec(&regex_->regex, label_value.data(), 1, range, REG_STARTEND) == 0;
  } else {
    hit = label_value == value_;
  }
  return (op_ == match_op::equal || op_ == match_op::regex) ? hit : !hit;
}

std::string matcher::str() const {
  return name_ + std::string(op_text(op_)) + go_quote(value_);
}

std::string go_quote(std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out = "\"";
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    switch (ch) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20 || c == 0x7F) {
          out += "\\x";
          out += hex[c >> 4];
          out += hex[c & 15];
        } else {
          out += ch;
        }
    }
  }
  return out + "\"";
}

std::optional<std::string> parse_matchers(std::string_view text, std::vector<matcher>& out) {
  std::vector<matcher> parsed;
  std::size_t pos = 0;
  skip_space(text, pos);
  bool braced = pos < text.size() && text[pos] == '{';
  if (braced)
    ++pos;
  for (;;) {
    skip_space(text, pos);
    if (braced && pos < text.size() && text[pos] == '}' && parsed.empty())
      break;
    std::string name;
    if (pos < text.size() && text[pos] == '"') {
      auto q = quoted(text, pos);
      if (!q)
        return "unterminated quoted label name in \"" + std::string(text) + "\"";
      name = *q;
    } else {
      while (pos < text.size() &&
             (std::isalnum(static_cast<unsigned char>(text[pos])) || text[pos] == '_'))
        name += text[pos++];
    }
    skip_space(text, pos);
    match_op op;
    std::string_view rest = text.substr(pos);
    if (rest.rfind("=~", 0) == 0) {
      op = match_op::regex;
      pos += 2;
    } else if (rest.rfind("!~", 0) == 0) {
      op = match_op::not_regex;
      pos += 2;
    } else if (rest.rfind("!=", 0) == 0) {
      op = match_op::not_equal;
      pos += 2;
    } else if (rest.rfind("=", 0) == 0) {
      op = match_op::equal;
      pos += 1;
    } else {
      return "expected a matcher like name=\"value\" (operators =, !=, =~, !~) in \"" +
             std::string(text) + "\"";
    }
    skip_space(text, pos);
    std::string value;
    if (pos < text.size() && text[pos] == '"') {
      auto q = quoted(text, pos);
      if (!q)
        return "unterminated quoted value in \"" + std::string(text) + "\"";
      value = *q;
    } else {
      while (pos < text.size() && text[pos] != ',' && !(braced && text[pos] == '}'))
        value += text[pos++];
      while (!value.empty() && std::isspace(static_cast<unsigned char>(value.back())))
        value.pop_back();
    }
    std::string error;
    auto m = matcher::make(name, op, value, &error);
    if (!m)
      return error + " in \"" + std::string(text) + "\"";
    parsed.push_back(std::move(*m));
    skip_space(text, pos);
    if (pos < text.size() && text[pos] == ',') {
      ++pos;
      skip_space(text, pos);
      if (braced && pos < text.size() && text[pos] == '}')
        break;
      if (pos == text.size() && !braced)
        break;
      continue;
    }
    break;
  }
  if (braced) {
    skip_space(text, pos);
    if (pos >= text.size() || text[pos] != '}')
      return "missing closing '}' in \"" + std::string(text) + "\"";
    ++pos;
  }
  skip_space(text, pos);
  if (pos != text.size())
    return "unexpected text after matcher in \"" + std::string(text) + "\"";
  if (parsed.empty())
    return "no matcher in \"" + std::string(text) + "\"";
  for (auto& m : parsed)
    out.push_back(std::move(m));
  return std::nullopt;
}

}  // namespace wk::notify
