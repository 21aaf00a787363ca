#include "promql/series_notation.hpp"

#include <algorithm>
#include <cstdlib>
#include <sstream>

#include "tsdb/sample.hpp"

namespace wk::promql {
namespace {

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

[[noreturn]] void bad(const std::string& message) { throw series_notation_error(message, false); }

}  // namespace

bool parse_series_value(const std::string& s, double& out) {
  if (s.empty()) return false;
  if (s == "stale") {
    out = tsdb::stale_nan();
    return true;
  }
  // No hexadecimal here, as in Prometheus's lexer: "0x15" is zero repeated, not 21.
  if (s.find_first_of("xX") != std::string::npos) return false;
  char* end = nullptr;
  out = std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size();
}

std::vector<series_point> expand_series_values(const std::string& text) {
  std::vector<series_point> out;
  std::istringstream in(text);
  std::string tok;
  while (in >> tok) {
    if (tok.compare(0, 2, "{{") == 0) throw series_notation_error("native histogram samples are not supported", true);
    if (tok == "_") {
      out.emplace_back();
      continue;
    }
    double v;
    if (parse_series_value(tok, v)) {
      out.emplace_back(v);
      continue;
    }
    const auto x = tok.rfind('x');
    if (x == std::string::npos || x == 0) bad("bad series value \"" + tok + "\"");
    const std::string count_text = tok.substr(x + 1);
    const std::string head = tok.substr(0, x);
    char* end = nullptr;
    const unsigned long long count = std::strtoull(count_text.c_str(), &end, 10);
    if (count_text.empty() || end != count_text.c_str() + count_text.size() || count >= max_points_per_series)
      bad("bad repeat count in \"" + tok + "\"");
    if (out.size() + count >= max_points_per_series) bad("too many points in series");
    if (head == "_") {
      for (unsigned long long i = 0; i < count; ++i) out.emplace_back();
      continue;
    }
    // "a+bxn" / "a-bxn": the sign that separates start from increment is the first one
    // after the start that is not part of an exponent.
    std::size_t sep = std::string::npos;
    for (std::size_t i = 1; i < head.size(); ++i)
      if ((head[i] == '+' || head[i] == '-') && head[i - 1] != 'e' && head[i - 1] != 'E') {
        sep = i;
        break;
      }
    double start, inc = 0;
    if (sep == std::string::npos) {
      if (!parse_series_value(head, start)) bad("bad series value \"" + tok + "\"");
    } else if (!parse_series_value(head.substr(0, sep), start) || !parse_series_value(head.substr(sep), inc)) {
      bad("bad series value \"" + tok + "\"");
    }
    for (unsigned long long i = 0; i <= count; ++i) out.emplace_back(start + inc * static_cast<double>(i));
  }
  return out;
}

std::pair<std::string, std::string> split_series_line(const std::string& line) {
  std::size_t i = 0;
  while (i < line.size() && line[i] != '{' && line[i] != ' ' && line[i] != '\t') ++i;
  if (i < line.size() && line[i] == '{') {
    char quote = 0;
    for (; i < line.size(); ++i) {
      const char c = line[i];
      if (quote) {
        if (c == '\\') ++i;
        else if (c == quote) quote = 0;
      } else if (c == '"' || c == '\'' || c == '`') {
        quote = c;
      } else if (c == '}') {
        ++i;
        break;
      }
    }
  }
  return {line.substr(0, std::min(i, line.size())), trim(line.substr(std::min(i, line.size())))};
}

}  // namespace wk::promql
