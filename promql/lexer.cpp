#include "promql/lexer.hpp"

#include <cctype>
#include <cstdlib>
#include <limits>

#include "promql/error.hpp"

namespace wk::promql {
namespace {

bool is_ident_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':'; }
bool is_ident_char(char c) { return is_ident_start(c) || std::isdigit(static_cast<unsigned char>(c)); }
bool is_digit(char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }

std::int64_t unit_ms(std::string_view u) {
  if (u == "ms") return 1;
  if (u == "s") return 1000;
  if (u == "m") return 60 * 1000;
  if (u == "h") return 3600 * 1000;
  if (u == "d") return 24 * 3600 * 1000LL;
  if (u == "w") return 7 * 24 * 3600 * 1000LL;
  if (u == "y") return 365 * 24 * 3600 * 1000LL;
  return 0;
}

// Length of the duration starting at s[i] ("5m", "1h30m"), 0 when there is none.
std::size_t duration_length(std::string_view s, std::size_t i) {
  std::size_t j = i;
  bool any = false;
  while (j < s.size() && is_digit(s[j])) {
    std::size_t k = j;
    while (k < s.size() && is_digit(s[k])) ++k;
    std::size_t u = k;
    while (u < s.size() && std::isalpha(static_cast<unsigned char>(s[u]))) ++u;
    if (u == k || unit_ms(s.substr(k, u - k)) == 0) break;
    j = u;
    any = true;
  }
  if (!any) return 0;
  // "5m" followed by more identifier characters ("5mx") is not a duration.
  if (j < s.size() && ((is_ident_char(s[j]) && s[j] != ':') || s[j] == '.')) return 0;
  return j - i;
}

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Go-style string escapes, as PromQL takes them.
std::string lex_string(std::string_view s, std::size_t& i) {
  const char quote = s[i];
  const int start = static_cast<int>(i);
  std::string out;
  ++i;
  while (true) {
    if (i >= s.size()) throw error(error_kind::parse, "unterminated quoted string", start);
    char c = s[i];
    if (c == quote) {
      ++i;
      return out;
    }
    if (quote != '`' && c == '\n') throw error(error_kind::parse, "unterminated quoted string", start);
    if (quote == '`' || c != '\\') {
      out += c;
      ++i;
      continue;
    }
    if (++i >= s.size()) throw error(error_kind::parse, "unterminated quoted string", start);
    const int esc_pos = static_cast<int>(i) - 1;
    c = s[i++];
    switch (c) {
      case 'a': out += '\a'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'v': out += '\v'; break;
      case '\\': out += '\\'; break;
      case '"': case '\'': out += c; break;
      case 'x': case 'u': case 'U': {
        const int digits = c == 'x' ? 2 : c == 'u' ? 4 : 8;
        std::uint32_t cp = 0;
        for (int k = 0; k < digits; ++k) {
          const int h = i < s.size() ? hex_value(s[i]) : -1;
          if (h < 0) throw error(error_kind::parse, "invalid escape sequence in string", esc_pos);
          cp = cp * 16 + static_cast<std::uint32_t>(h);
          ++i;
        }
        if (c == 'x') {
          out += static_cast<char>(cp);
        } else {
          if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            throw error(error_kind::parse, "invalid Unicode code point in string", esc_pos);
          append_utf8(out, cp);
        }
        break;
      }
      default:
        if (c >= '0' && c <= '7') {
          std::uint32_t v = static_cast<std::uint32_t>(c - '0');
          for (int k = 0; k < 2; ++k) {
            if (i >= s.size() || s[i] < '0' || s[i] > '7')
              throw error(error_kind::parse, "invalid octal escape in string", esc_pos);
            v = v * 8 + static_cast<std::uint32_t>(s[i++] - '0');
          }
          if (v > 255) throw error(error_kind::parse, "invalid octal escape in string", esc_pos);
          out += static_cast<char>(v);
          break;
        }
        throw error(error_kind::parse, std::string("unknown escape sequence '\\") + c + "'", esc_pos);
    }
  }
}

}  // namespace

bool parse_duration(std::string_view text, std::int64_t& ms) {
  if (text.empty() || duration_length(text, 0) != text.size()) return false;
  std::int64_t total = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    std::int64_t n = 0;
    while (i < text.size() && is_digit(text[i])) {
      if (n > (std::numeric_limits<std::int64_t>::max() - 9) / 10) return false;
      n = n * 10 + (text[i++] - '0');
    }
    std::size_t u = i;
    while (u < text.size() && std::isalpha(static_cast<unsigned char>(text[u]))) ++u;
    const std::int64_t unit = unit_ms(text.substr(i, u - i));
    if (n > std::numeric_limits<std::int64_t>::max() / unit) return false;
    if (total > std::numeric_limits<std::int64_t>::max() - n * unit) return false;
    total += n * unit;
    i = u;
  }
  ms = total;
  return true;
}

std::vector<token> lex(std::string_view s) {
  std::vector<token> out;
  std::size_t i = 0;
  int brackets = 0;  // inside [...] a colon separates range and step instead of starting a name
  auto push = [&](token_kind k, std::size_t pos, std::size_t len) {
    out.push_back(token{k, static_cast<int>(pos), std::string(s.substr(pos, len))});
    i = pos + len;
  };
  while (i < s.size()) {
    const char c = s[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
      continue;
    }
    if (c == '#') {
      while (i < s.size() && s[i] != '\n') ++i;
      continue;
    }
    const std::size_t start = i;
    const char n = i + 1 < s.size() ? s[i + 1] : '\0';
    if (is_digit(c) || (c == '.' && is_digit(n))) {
      if (const std::size_t dl = duration_length(s, i); dl > 0) {
        token t{token_kind::duration, static_cast<int>(i), std::string(s.substr(i, dl))};
        if (!parse_duration(t.text, t.duration_ms))
          throw error(error_kind::parse, "duration out of range: " + t.text, static_cast<int>(i));
        out.push_back(std::move(t));
        i += dl;
        continue;
      }
      std::size_t j = i;
      if (c == '0' && (n == 'x' || n == 'X')) {
        j += 2;
        while (j < s.size() && hex_value(s[j]) >= 0) ++j;
      } else {
        while (j < s.size() && is_digit(s[j])) ++j;
        if (j < s.size() && s[j] == '.') {
          ++j;
          while (j < s.size() && is_digit(s[j])) ++j;
        }
        if (j < s.size() && (s[j] == 'e' || s[j] == 'E')) {
          std::size_t k = j + 1;
          if (k < s.size() && (s[k] == '+' || s[k] == '-')) ++k;
          if (k < s.size() && is_digit(s[k])) {
            j = k;
            while (j < s.size() && is_digit(s[j])) ++j;
          }
        }
      }
      if (j < s.size() && (is_ident_char(s[j]) || s[j] == '.'))
        throw error(error_kind::parse, "bad number or duration syntax: \"" + std::string(s.substr(i, j - i + 1)) + "\"",
                    static_cast<int>(i));
      token t{token_kind::number, static_cast<int>(i), std::string(s.substr(i, j - i))};
      char* endp = nullptr;
      t.number = std::strtod(t.text.c_str(), &endp);
      if (endp != t.text.c_str() + t.text.size())
        throw error(error_kind::parse, "bad number syntax: \"" + t.text + "\"", static_cast<int>(i));
      out.push_back(std::move(t));
      i = j;
      continue;
    }
    if (c == ':' && brackets > 0) {
      push(token_kind::colon, start, 1);
      continue;
    }
    if (is_ident_start(c)) {
      std::size_t j = i;
      while (j < s.size() && is_ident_char(s[j])) ++j;
      push(token_kind::identifier, i, j - i);
      continue;
    }
    if (c == '"' || c == '\'' || c == '`') {
      token t{token_kind::string, static_cast<int>(i), {}};
      t.text = lex_string(s, i);
      out.push_back(std::move(t));
      continue;
    }
    switch (c) {
      case '(': push(token_kind::lparen, start, 1); continue;
      case ')': push(token_kind::rparen, start, 1); continue;
      case '{': push(token_kind::lbrace, start, 1); continue;
      case '}': push(token_kind::rbrace, start, 1); continue;
      case '[': ++brackets; push(token_kind::lbracket, start, 1); continue;
      case ']': --brackets; push(token_kind::rbracket, start, 1); continue;
      case ',': push(token_kind::comma, start, 1); continue;
      case '@': push(token_kind::at, start, 1); continue;
      case '+': push(token_kind::add, start, 1); continue;
      case '-': push(token_kind::sub, start, 1); continue;
      case '*': push(token_kind::mul, start, 1); continue;
      case '/': push(token_kind::div, start, 1); continue;
      case '%': push(token_kind::mod, start, 1); continue;
      case '^': push(token_kind::pow, start, 1); continue;
      case '=':
        if (n == '=') push(token_kind::eql, start, 2);
        else if (n == '~') push(token_kind::eql_regex, start, 2);
        else push(token_kind::assign, start, 1);
        continue;
      case '!':
        if (n == '=') { push(token_kind::neq, start, 2); continue; }
        if (n == '~') { push(token_kind::neq_regex, start, 2); continue; }
        break;
      case '>':
        if (n == '=') push(token_kind::gte, start, 2);
        else push(token_kind::gtr, start, 1);
        continue;
      case '<':
        if (n == '=') push(token_kind::lte, start, 2);
        else push(token_kind::lss, start, 1);
        continue;
      default:
        break;
    }
    throw error(error_kind::parse, std::string("unexpected character: '") + c + "'", static_cast<int>(i));
  }
  out.push_back(token{token_kind::end, static_cast<int>(s.size()), {}});
  return out;
}

}  // namespace wk::promql
