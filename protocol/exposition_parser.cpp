#include "protocol/exposition_parser.hpp"

#include "protocol/exposition_float.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <utility>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace wk::protocol {
namespace {

enum char_class : unsigned char {
  metric_name_start = 1 << 0,     // [a-zA-Z_:]
  metric_name_char = 1 << 1,      // [a-zA-Z0-9_:]
  label_name_start = 1 << 2,      // [a-zA-Z_]
  label_name_char = 1 << 3,       // [a-zA-Z0-9_]
  label_value_stop = 1 << 4,      // '"', '\\', '\n'
  prometheus_value_end = 1 << 5,  // ' ', '\t', '\n', '{'
};

constexpr std::array<unsigned char, 256> make_char_classes() {
  std::array<unsigned char, 256> classes{};
  for (int c = 0; c < 256; ++c) {
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    const bool digit = c >= '0' && c <= '9';
    unsigned char bits = 0;
    if (alpha || c == ':') bits |= metric_name_start;
    if (alpha || digit || c == ':') bits |= metric_name_char;
    if (alpha) bits |= label_name_start;
    if (alpha || digit) bits |= label_name_char;
    if (c == '"' || c == '\\' || c == '\n') bits |= label_value_stop;
    if (c == ' ' || c == '\t' || c == '\n' || c == '{') bits |= prometheus_value_end;
    classes[static_cast<std::size_t>(c)] = bits;
  }
  return classes;
}

constexpr std::array<unsigned char, 256> char_classes = make_char_classes();

bool has_class(char c, char_class wanted) {
  return (char_classes[static_cast<unsigned char>(c)] & wanted) != 0;
}

bool is_blank(char c) { return c == ' ' || c == '\t'; }

std::uint64_t load_word(const char* p) {
  std::uint64_t word = 0;
  std::memcpy(&word, p, sizeof word);
  return word;
}

// The two longest runs in a sample line are the metric name and the label values; on x86-64
// they are scanned 16 bytes per step, with ctz locating the byte that stops the run.
#if defined(__SSE2__)
unsigned first_set_bit(unsigned mask) { return static_cast<unsigned>(__builtin_ctz(mask)); }

__m128i load_block(const char* p) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)); }

// Bits of the bytes within [low, high]. Compares are signed, so bytes >= 0x80 never match.
__m128i block_in_range(__m128i block, char low, char high) {
  return _mm_and_si128(_mm_cmpgt_epi8(block, _mm_set1_epi8(static_cast<char>(low - 1))),
                       _mm_cmplt_epi8(block, _mm_set1_epi8(static_cast<char>(high + 1))));
}
#endif

// First byte in [p, end) that is not a name character: [a-zA-Z0-9_] plus ':' in metric names.
template <bool metric_name>
const char* skip_name_chars(const char* p, const char* end) {
#if defined(__SSE2__)
  while (end - p >= 16) {
    const __m128i block = load_block(p);
    // OR-ing 0x20 folds 'A'..'Z' onto 'a'..'z' and maps no other byte into that range.
    const __m128i name =
        _mm_or_si128(_mm_or_si128(block_in_range(block, '0', metric_name ? ':' : '9'),
                                  block_in_range(_mm_or_si128(block, _mm_set1_epi8(0x20)), 'a', 'z')),
                     _mm_cmpeq_epi8(block, _mm_set1_epi8('_')));
    const auto mask = static_cast<unsigned>(_mm_movemask_epi8(name));
    if (mask != 0xffff) return p + first_set_bit(~mask);
    p += 16;
  }
#endif
  while (p != end && has_class(*p, metric_name ? metric_name_char : label_name_char)) ++p;
  return p;
}

const char* skip_metric_name_chars(const char* p, const char* end) { return skip_name_chars<true>(p, end); }

const char* skip_label_name_chars(const char* p, const char* end) { return skip_name_chars<false>(p, end); }

// First byte in [p, end) that ends or complicates a label value: '"', '\\', '\n', or a byte
// >= 0x80 (which needs UTF-8 validation).
const char* skip_plain_label_value_chars(const char* p, const char* end) {
#if defined(__SSE2__)
  while (end - p >= 16) {
    const __m128i block = load_block(p);
    const __m128i stop = _mm_or_si128(
        _mm_or_si128(_mm_cmpeq_epi8(block, _mm_set1_epi8('"')), _mm_cmpeq_epi8(block, _mm_set1_epi8('\\'))),
        _mm_or_si128(_mm_cmpeq_epi8(block, _mm_set1_epi8('\n')), block));
    const auto mask = static_cast<unsigned>(_mm_movemask_epi8(stop));
    if (mask != 0) return p + first_set_bit(mask);
    p += 16;
  }
#endif
  while (p != end && !has_class(*p, label_value_stop) && static_cast<unsigned char>(*p) < 0x80) ++p;
  return p;
}

// Error messages quote input; keep them short and printable whatever the input holds.
std::string quoted(std::string_view text) {
  constexpr std::size_t limit = 48;
  std::string out = "\"";
  for (std::size_t i = 0; i < text.size() && i < limit; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20 || c >= 0x7f) {
          char hex[8];
          std::snprintf(hex, sizeof hex, "\\x%02x", c);
          out += hex;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  if (text.size() > limit) out += "...";
  out += '"';
  return out;
}

std::string describe_char(const char* at, const char* end) {
  if (at == end) return "end of input";
  if (*at == '\n') return "end of line";
  return quoted(std::string_view(at, 1));
}

// Returns the first byte that does not start a well-formed UTF-8 sequence (Go's utf8.Valid
// rules: no overlong forms, no surrogates, nothing above U+10FFFF), or nullptr.
const char* find_invalid_utf8(const char* begin, const char* end) {
  const auto* p = reinterpret_cast<const unsigned char*>(begin);
  const auto* const last = reinterpret_cast<const unsigned char*>(end);
  while (p != last) {
    const unsigned c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    std::ptrdiff_t continuation = 0;
    unsigned low = 0x80;
    unsigned high = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) {
      continuation = 1;
    } else if (c == 0xe0) {
      continuation = 2;
      low = 0xa0;
    } else if (c == 0xed) {
      continuation = 2;
      high = 0x9f;
    } else if (c >= 0xe1 && c <= 0xef) {
      continuation = 2;
    } else if (c == 0xf0) {
      continuation = 3;
      low = 0x90;
    } else if (c == 0xf4) {
      continuation = 3;
      high = 0x8f;
    } else if (c >= 0xf1 && c <= 0xf3) {
      continuation = 3;
    } else {
      return reinterpret_cast<const char*>(p);
    }
    if (last - p <= continuation || p[1] < low || p[1] > high) return reinterpret_cast<const char*>(p);
    for (std::ptrdiff_t i = 2; i <= continuation; ++i) {
      if ((p[i] & 0xc0) != 0x80) return reinterpret_cast<const char*>(p);
    }
    p += continuation + 1;
  }
  return nullptr;
}

const char* find_invalid_utf8_fast(std::string_view text) {
  const char* p = text.data();
  const char* const end = p + text.size();
  constexpr std::uint64_t high_bits = 0x8080808080808080ULL;
  while (end - p >= 8 && (load_word(p) & high_bits) == 0) p += 8;
  for (; p != end; ++p) {
    if (static_cast<unsigned char>(*p) >= 0x80) return find_invalid_utf8(p, end);
  }
  return nullptr;
}

// Prometheus's replacers: label values (and OpenMetrics HELP) undo \\, \" and \n; Prometheus
// text HELP undoes only \\ and \n. Any other backslash is kept as written.
void append_unescaped(std::string& out, std::string_view raw, bool unescape_quote) {
  for (std::size_t i = 0; i < raw.size(); ++i) {
    const char c = raw[i];
    if (c == '\\' && i + 1 < raw.size()) {
      const char escaped = raw[i + 1];
      if (escaped == 'n') {
        out += '\n';
        ++i;
        continue;
      }
      if (escaped == '\\' || (escaped == '"' && unescape_quote)) {
        out += escaped;
        ++i;
        continue;
      }
    }
    out += c;
  }
}

bool parse_type_name(std::string_view text, exposition_format format, metric_type& type) {
  static constexpr std::pair<std::string_view, metric_type> common[] = {
      {"counter", metric_type::counter},
      {"gauge", metric_type::gauge},
      {"histogram", metric_type::histogram},
      {"summary", metric_type::summary},
  };
  static constexpr std::pair<std::string_view, metric_type> openmetrics_only[] = {
      {"unknown", metric_type::untyped},
      {"gaugehistogram", metric_type::gauge_histogram},
      {"info", metric_type::info},
      {"stateset", metric_type::stateset},
  };
  for (const auto& [name, value] : common) {
    if (text == name) {
      type = value;
      return true;
    }
  }
  if (format == exposition_format::prometheus_text) {
    if (text == "untyped") {
      type = metric_type::untyped;
      return true;
    }
    return false;
  }
  for (const auto& [name, value] : openmetrics_only) {
    if (text == name) {
      type = value;
      return true;
    }
  }
  return false;
}

// Compares against a literal with a constant size, which compilers turn into a few loads.
template <std::size_t size>
bool equals(std::string_view text, const char (&literal)[size]) {
  return text.size() == size - 1 && std::memcmp(text.data(), literal, size - 1) == 0;
}

// Series names a family of this type may carry besides the family name itself.
bool is_family_suffix(metric_type type, std::string_view suffix) {
  switch (type) {
    case metric_type::counter:
      return equals(suffix, "_total") || equals(suffix, "_created");
    case metric_type::histogram:
      return equals(suffix, "_bucket") || equals(suffix, "_count") || equals(suffix, "_sum") ||
             equals(suffix, "_created");
    case metric_type::gauge_histogram:
      return equals(suffix, "_bucket") || equals(suffix, "_gcount") || equals(suffix, "_gsum");
    case metric_type::summary:
      return equals(suffix, "_count") || equals(suffix, "_sum") || equals(suffix, "_created");
    case metric_type::info:
      return equals(suffix, "_info");
    case metric_type::untyped:
    case metric_type::gauge:
    case metric_type::stateset:
      return false;
  }
  return false;
}

bool is_exemplar_start(const char* p, const char* end) {
  return end - p >= 4 && p[0] == ' ' && p[1] == '#' && p[2] == ' ' && p[3] == '{';
}

const char* find_line_end(const char* p, const char* end) {
  if (p == end) return end;  // memchr must not see the null pointer of an empty view
  const auto* newline = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
  return newline != nullptr ? newline : end;
}

constexpr std::size_t small_label_set = 16;
constexpr std::string_view missing_eof = "OpenMetrics input does not end with \"# EOF\"";

}  // namespace

exposition_format detect_exposition_format(std::string_view content_type) {
  const std::string_view media = content_type.substr(0, content_type.find(';'));
  const auto first = media.find_first_not_of(" \t");
  if (first == std::string_view::npos) return exposition_format::prometheus_text;
  const auto last = media.find_last_not_of(" \t");
  const std::string_view trimmed = media.substr(first, last - first + 1);
  constexpr std::string_view openmetrics = "application/openmetrics-text";
  if (trimmed.size() != openmetrics.size()) return exposition_format::prometheus_text;
  for (std::size_t i = 0; i < trimmed.size(); ++i) {
    char c = trimmed[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + ('a' - 'A'));
    if (c != openmetrics[i]) return exposition_format::prometheus_text;
  }
  return exposition_format::openmetrics;
}

std::string describe(const parse_error& error) {
  return "line " + std::to_string(error.line) + ", column " + std::to_string(error.column) + ": " +
         error.message;
}

exposition_parser::exposition_parser(std::string_view body, exposition_format format)
    : begin_(body.data()),
      end_(body.data() + body.size()),
      cur_(body.data()),
      format_(format),
      line_begin_(body.data()) {}

std::optional<std::int64_t> exposition_parser::timestamp_ms() const {
  if (!has_timestamp_) return std::nullopt;
  return timestamp_ms_;
}

entry exposition_parser::next() {
  if (done_) return final_entry_;
  spanning_value_ = nullptr;
  return format_ == exposition_format::prometheus_text ? next_prometheus_line() : next_openmetrics_line();
}

entry exposition_parser::fail(const char* at, std::string message) {
  std::size_t line = line_;
  const char* line_begin = line_begin_;
  if (at < line_begin_) {
    // The offending token began on an earlier line (a Prometheus label value spanning lines).
    line -= static_cast<std::size_t>(std::count(at, line_begin_, '\n'));
    line_begin = at;
    while (line_begin > begin_ && line_begin[-1] != '\n') --line_begin;
  }
  error_.line = line;
  error_.column = static_cast<std::size_t>(at - line_begin) + 1;
  error_.message = std::move(message);
  if (spanning_value_ != nullptr && spanning_value_ < at) {
    const std::size_t value_line =
        line_ - static_cast<std::size_t>(std::count(spanning_value_, line_begin_, '\n'));
    const char* value_line_begin = spanning_value_;
    while (value_line_begin > begin_ && value_line_begin[-1] != '\n') --value_line_begin;
    error_.message += " (the label value opened at line " + std::to_string(value_line) + ", column " +
                      std::to_string(spanning_value_ - value_line_begin + 1) +
                      " spans lines: is a closing '\"' missing?)";
  }
  const char* const line_end = find_line_end(at, end_);
  if (line_end != end_ && line_end > begin_ && line_end[-1] == '\r') {
    error_.message += " (the line ends with \"\\r\\n\": CRLF line endings are not supported)";
  }
  done_ = true;
  final_entry_ = entry::error;
  return entry::error;
}

bool exposition_parser::failed(const char* at, std::string message) {
  fail(at, std::move(message));
  return false;
}

void exposition_parser::end_line(const char* newline) {
  if (newline == end_) {
    cur_ = end_;
    return;
  }
  cur_ = newline + 1;
  ++line_;
  line_begin_ = cur_;
}

// Scanning loops run on locals: the char loads may alias members, so a loop over cur_ itself
// would store it back on every byte.
void exposition_parser::skip_blanks() {
  const char* p = cur_;
  while (p != end_ && is_blank(*p)) ++p;
  cur_ = p;
}

std::string_view exposition_parser::scan_metric_name() {
  const char* const start = cur_;
  const char* const p = skip_metric_name_chars(start, end_);
  cur_ = p;
  return {start, static_cast<std::size_t>(p - start)};
}

entry exposition_parser::line_start_error(const char* at) {
  const char c = *at;
  if (c == '{' && end_ - at >= 2 && at[1] == '"') {
    return fail(at, "quoted metric names ({\"name\"}) are not supported");
  }
  if (c == '{') return fail(at, "expected a metric name before '{'");
  return fail(at, "unexpected character " + describe_char(at, end_) +
                      " at start of line, expected a metric name or '#'");
}

entry exposition_parser::next_prometheus_line() {
  for (;;) {
    skip_blanks();
    if (cur_ == end_) {
      done_ = true;
      final_entry_ = entry::eof;
      return entry::eof;
    }
    const char c = *cur_;
    if (c == '\n') {
      end_line(cur_);
      continue;
    }
    if (c == '#') return parse_prometheus_comment(cur_);
    if (has_class(c, metric_name_start)) return parse_prometheus_series();
    return line_start_error(cur_);
  }
}

entry exposition_parser::next_openmetrics_line() {
  if (cur_ == end_) return fail(cur_, std::string(missing_eof));
  const char c = *cur_;
  if (c == '#') return parse_openmetrics_comment(cur_);
  if (has_class(c, metric_name_start)) return parse_openmetrics_series();
  if (c == '\n') return fail(cur_, "empty line (OpenMetrics does not allow blank lines)");
  if (is_blank(c)) return fail(cur_, "line starts with whitespace (not allowed in OpenMetrics)");
  return line_start_error(cur_);
}

entry exposition_parser::parse_prometheus_comment(const char* hash) {
  const char* const line_end = find_line_end(hash, end_);
  const char* p = hash + 1;
  // Like promlex: "#" and blanks, then HELP or TYPE and blanks, make a metadata line; any other
  // line starting with '#' is a comment.
  if (p != line_end && is_blank(*p)) {
    while (p != line_end && is_blank(*p)) ++p;
    entry kind = entry::comment;
    if (line_end - p >= 5 && is_blank(p[4])) {
      if (std::memcmp(p, "HELP", 4) == 0) kind = entry::help;
      if (std::memcmp(p, "TYPE", 4) == 0) kind = entry::type;
    }
    if (kind != entry::comment) {
      const char* const keyword = p;
      p += 4;
      while (p != line_end && is_blank(*p)) ++p;
      if (p == line_end || !has_class(*p, metric_name_start)) {
        return fail(
            p, "expected metric name after " + std::string(keyword, 4) + ", got " + describe_char(p, end_));
      }
      const char* const name_begin = p;
      p = skip_metric_name_chars(p, line_end);
      const std::string_view name(name_begin, static_cast<std::size_t>(p - name_begin));
      // promlex drops the one character separating the name from the text.
      if (p != line_end) {
        if (!is_blank(*p)) {
          return fail(p, "expected whitespace after metric name in " + std::string(keyword, 4) + ", got " +
                             describe_char(p, end_));
        }
        ++p;
      }
      const std::string_view text(p, static_cast<std::size_t>(line_end - p));
      const entry result = finish_metadata(kind, name, text);
      if (result != entry::error) end_line(line_end);
      return result;
    }
  }
  end_line(line_end);
  return entry::comment;
}

entry exposition_parser::parse_openmetrics_comment(const char* hash) {
  const char* p = hash + 1;
  if (p == end_ || *p != ' ') {
    return fail(p,
                "expected a space after '#': OpenMetrics comments are \"# HELP\", \"# TYPE\", "
                "\"# UNIT\" and \"# EOF\"");
  }
  ++p;
  if (end_ - p >= 3 && std::memcmp(p, "EOF", 3) == 0) {
    p += 3;
    if (p != end_ && *p == '\n') ++p;
    if (p != end_) {
      if (p[-1] == '\n') {
        ++line_;
        line_begin_ = p;
      }
      return fail(p, "unexpected data after \"# EOF\"");
    }
    cur_ = end_;
    done_ = true;
    final_entry_ = entry::eof;
    return entry::eof;
  }
  entry kind = entry::comment;
  if (end_ - p >= 5 && p[4] == ' ') {
    if (std::memcmp(p, "HELP", 4) == 0) kind = entry::help;
    if (std::memcmp(p, "TYPE", 4) == 0) kind = entry::type;
    if (std::memcmp(p, "UNIT", 4) == 0) kind = entry::unit;
  }
  if (kind == entry::comment) {
    return fail(p,
                "unsupported comment: OpenMetrics allows only \"# HELP\", \"# TYPE\", \"# UNIT\" "
                "and \"# EOF\"");
  }
  const char* const keyword = p;
  p += 5;
  if (p == end_ || !has_class(*p, metric_name_start)) {
    return fail(p,
                "expected metric name after " + std::string(keyword, 4) + ", got " + describe_char(p, end_));
  }
  const char* const name_begin = p;
  p = skip_metric_name_chars(p, end_);
  const std::string_view name(name_begin, static_cast<std::size_t>(p - name_begin));
  if (p == end_ || *p != ' ') {
    return fail(p, "expected a space and the " + std::string(keyword, 4) +
                       " text after the metric name, got " + describe_char(p, end_));
  }
  ++p;
  const char* const line_end = find_line_end(p, end_);
  if (line_end == end_) return fail(end_, std::string(missing_eof));
  const std::string_view text(p, static_cast<std::size_t>(line_end - p));
  const entry result = finish_metadata(kind, name, text);
  if (result != entry::error) end_line(line_end);
  return result;
}

entry exposition_parser::finish_metadata(entry kind, std::string_view name, std::string_view text) {
  if (name != family_name_) {
    family_name_ = name;
    family_type_ = metric_type::untyped;
    help_ = {};
    unit_ = {};
  }
  if (kind == entry::help) {
    if (const char* bad = find_invalid_utf8_fast(text)) return fail(bad, "HELP text is not valid UTF-8");
    if (text.find('\\') == std::string_view::npos) {
      help_ = text;
    } else {
      help_buffer_.clear();
      append_unescaped(help_buffer_, text, format_ == exposition_format::openmetrics);
      help_ = help_buffer_;
    }
    return entry::help;
  }
  if (kind == entry::type) {
    metric_type type = metric_type::untyped;
    if (!parse_type_name(text, format_, type)) {
      std::string message = "invalid metric type " + quoted(text) + " (expected ";
      message += format_ == exposition_format::prometheus_text
                     ? "counter, gauge, histogram, summary or untyped)"
                     : "counter, gauge, histogram, gaugehistogram, summary, info, stateset or unknown)";
      return fail(text.data(), std::move(message));
    }
    family_type_ = type;
    return entry::type;
  }
  // OpenMetrics UNIT: a non-empty unit must end the metric name, after a '_'.
  if (!text.empty() && (name.size() < text.size() + 1 || name.substr(name.size() - text.size()) != text ||
                        name[name.size() - text.size() - 1] != '_')) {
    return fail(text.data(), "unit " + quoted(text) + " is not a suffix of metric name " + quoted(name));
  }
  unit_ = text;
  return entry::unit;
}

void exposition_parser::begin_series() {
  labels_.clear();
  pending_values_.clear();
  unescaped_.clear();
  has_timestamp_ = false;
  metric_name_ = scan_metric_name();
}

entry exposition_parser::parse_prometheus_series() {
  begin_series();
  skip_blanks();
  bool has_labels = false;
  if (cur_ != end_ && *cur_ == '{') {
    ++cur_;
    if (!parse_prometheus_labels()) return entry::error;
    has_labels = true;
    skip_blanks();
  }
  const char* const value_begin = cur_;
  const char* value_end = value_begin;
  while (value_end != end_ && !has_class(*value_end, prometheus_value_end)) ++value_end;
  cur_ = value_end;
  if (cur_ == value_begin) {
    return fail(cur_, std::string("expected value after ") + (has_labels ? "label set" : "metric name") +
                          ", got " + describe_char(cur_, end_));
  }
  if (!parse_value(std::string_view(value_begin, static_cast<std::size_t>(cur_ - value_begin)), value_,
                   "value")) {
    return entry::error;
  }
  skip_blanks();
  if (cur_ != end_ && *cur_ != '\n') {
    const char* const ts_begin = cur_;
    const char* ts_end = ts_begin;
    while (ts_end != end_ && !is_blank(*ts_end) && *ts_end != '\n') ++ts_end;
    cur_ = ts_end;
    const std::string_view token(ts_begin, static_cast<std::size_t>(cur_ - ts_begin));
    std::int64_t ms = 0;
    for (const char c : token) {
      const auto digit = static_cast<unsigned char>(c - '0');
      if (digit > 9) {
        return fail(ts_begin, "invalid timestamp " + quoted(token) + " (expected integer milliseconds)");
      }
      if (ms > (std::numeric_limits<std::int64_t>::max() - digit) / 10) {
        return fail(ts_begin, "timestamp " + quoted(token) + " is out of range");
      }
      ms = ms * 10 + digit;
    }
    timestamp_ms_ = ms;
    has_timestamp_ = true;
    skip_blanks();
    if (cur_ != end_ && *cur_ != '\n') {
      const std::string_view rest(cur_, static_cast<std::size_t>(find_line_end(cur_, end_) - cur_));
      return fail(cur_, "unexpected " + quoted(rest) + " after timestamp");
    }
  }
  end_line(cur_);
  classify_series();
  return entry::series;
}

entry exposition_parser::parse_openmetrics_series() {
  begin_series();
  bool has_labels = false;
  if (cur_ != end_ && *cur_ == '{') {
    ++cur_;
    if (!parse_openmetrics_labels(false)) return entry::error;
    has_labels = true;
  }
  const char* const after = has_labels ? "label set" : "metric name";
  if (cur_ == end_ || *cur_ != ' ') {
    return fail(cur_, std::string("expected a space and the value after the ") + after + ", got " +
                          describe_char(cur_, end_));
  }
  ++cur_;
  std::string_view token = scan_openmetrics_token();
  if (token.empty()) {
    return fail(cur_,
                std::string("expected value after the ") + after + ", got " + describe_char(cur_, end_));
  }
  if (!parse_value(token, value_, "value")) return entry::error;
  const char* last_part = " after value";
  if (cur_ != end_ && *cur_ == ' ' && !is_exemplar_start(cur_, end_)) {
    ++cur_;
    token = scan_openmetrics_token();
    if (token.empty()) {
      if (cur_ != end_ && *cur_ == ' ') return fail(cur_, "unexpected \" \" after value");
      return fail(cur_, "expected timestamp after the value, got " + describe_char(cur_, end_));
    }
    if (token.front() == '#') {
      return fail(token.data(), "invalid exemplar: expected \"# {\" followed by labels");
    }
    if (!parse_openmetrics_timestamp(token, timestamp_ms_, "timestamp")) return entry::error;
    has_timestamp_ = true;
    last_part = " after timestamp";
  }
  if (is_exemplar_start(cur_, end_)) {
    cur_ += 4;
    if (!skip_exemplar()) return entry::error;
    last_part = " after exemplar";
  }
  if (cur_ == end_) return fail(cur_, std::string(missing_eof));
  if (*cur_ != '\n') {
    const std::string_view rest(cur_, static_cast<std::size_t>(find_line_end(cur_, end_) - cur_));
    return fail(cur_, "unexpected " + quoted(rest) + last_part);
  }
  end_line(cur_);
  classify_series();
  return entry::series;
}

std::string_view exposition_parser::scan_openmetrics_token() {
  const char* const start = cur_;
  const char* p = start;
  while (p != end_ && *p != ' ' && *p != '\n') ++p;
  cur_ = p;
  return {start, static_cast<std::size_t>(p - start)};
}

bool exposition_parser::skip_exemplar() {
  if (!parse_openmetrics_labels(true)) return false;
  if (cur_ == end_ || *cur_ != ' ') {
    return failed(cur_, "expected a space and the exemplar value after the exemplar labels, got " +
                            describe_char(cur_, end_));
  }
  ++cur_;
  std::string_view token = scan_openmetrics_token();
  if (token.empty()) return failed(cur_, "expected exemplar value, got " + describe_char(cur_, end_));
  double exemplar_value = 0;
  if (!parse_value(token, exemplar_value, "exemplar value")) return false;
  if (cur_ != end_ && *cur_ == ' ') {
    ++cur_;
    token = scan_openmetrics_token();
    if (token.empty()) {
      return failed(cur_, "expected exemplar timestamp, got " + describe_char(cur_, end_));
    }
    std::int64_t exemplar_ms = 0;
    if (!parse_openmetrics_timestamp(token, exemplar_ms, "exemplar timestamp")) return false;
  }
  return true;
}

bool exposition_parser::read_label_name(std::string_view& name) {
  if (cur_ == end_ || !has_class(*cur_, label_name_start)) return label_name_error();
  const char* const start = cur_;
  const char* const p = skip_label_name_chars(start + 1, end_);
  cur_ = p;
  name = std::string_view(start, static_cast<std::size_t>(p - start));
  return true;
}

bool exposition_parser::label_name_error() {
  if (cur_ != end_ && *cur_ == '"') return failed(cur_, "quoted label names are not supported");
  if (cur_ == end_ || *cur_ == '\n') return failed(cur_, "unterminated label set (missing '}')");
  return failed(cur_, "expected label name, got " + describe_char(cur_, end_));
}

bool exposition_parser::read_label_value(std::string_view& raw, bool& escaped) {
  const char* const open_quote = cur_ - 1;
  const char* p = cur_;
  bool non_ascii = false;
  escaped = false;
  for (;;) {
    p = skip_plain_label_value_chars(p, end_);
    if (p == end_) return failed(open_quote, "unterminated label value (missing closing '\"')");
    const char c = *p;
    if (c == '"') break;
    if (c == '\\') {
      if (end_ - p < 2) return failed(open_quote, "unterminated label value (missing closing '\"')");
      if (p[1] == '\n') return failed(p, "backslash before a line break in label value");
      escaped = true;
      p += 2;
      continue;
    }
    if (c == '\n') {
      if (format_ == exposition_format::openmetrics) {
        return failed(p, "line break inside label value (write it as \\n)");
      }
      // promparse accepts a raw line break inside a quoted label value.
      if (spanning_value_ == nullptr) spanning_value_ = open_quote;
      ++p;
      ++line_;
      line_begin_ = p;
      continue;
    }
    non_ascii = true;
    ++p;
  }
  raw = std::string_view(cur_, static_cast<std::size_t>(p - cur_));
  cur_ = p + 1;
  if (non_ascii) {
    if (const char* bad = find_invalid_utf8(raw.data(), raw.data() + raw.size())) {
      return failed(bad, "label value is not valid UTF-8");
    }
  }
  return true;
}

void exposition_parser::add_label(const char* name, std::size_t name_size, const char* raw,
                                  std::size_t raw_size, bool escaped) {
  label_view& label = labels_.emplace_back();
  label.name = std::string_view(name, name_size);
  label.value = std::string_view(raw, raw_size);
  if (escaped) add_unescaped(raw, raw_size);
}

void exposition_parser::add_unescaped(const char* raw, std::size_t raw_size) {
  // The buffer may still grow, so the view is set once the label set is complete.
  const std::size_t offset = unescaped_.size();
  append_unescaped(unescaped_, std::string_view(raw, raw_size), true);
  pending_values_.push_back({labels_.size() - 1, offset, unescaped_.size() - offset});
}

bool exposition_parser::parse_prometheus_labels() {
  for (;;) {
    skip_blanks();
    if (cur_ != end_ && *cur_ == '}') {
      ++cur_;
      return finish_labels();
    }
    std::string_view name;
    if (!read_label_name(name)) return false;
    skip_blanks();
    if (cur_ == end_ || *cur_ != '=') {
      return failed(cur_,
                    "expected '=' after label name " + quoted(name) + ", got " + describe_char(cur_, end_));
    }
    ++cur_;
    skip_blanks();
    if (cur_ == end_ || *cur_ != '"') {
      return failed(cur_, "expected '\"' to open the value of label " + quoted(name) + ", got " +
                              describe_char(cur_, end_));
    }
    ++cur_;
    std::string_view raw;
    bool escaped = false;
    if (!read_label_value(raw, escaped)) return false;
    add_label(name.data(), name.size(), raw.data(), raw.size(), escaped);
    skip_blanks();
    // promparse takes the comma as optional, and a trailing one is fine.
    if (cur_ != end_ && *cur_ == ',') ++cur_;
  }
}

bool exposition_parser::parse_openmetrics_labels(bool exemplar) {
  if (cur_ != end_ && *cur_ == '}') {
    ++cur_;
    return exemplar || finish_labels();
  }
  for (;;) {
    std::string_view name;
    if (!read_label_name(name)) return false;
    if (cur_ == end_ || *cur_ != '=') {
      return failed(cur_,
                    "expected '=' after label name " + quoted(name) + ", got " + describe_char(cur_, end_));
    }
    ++cur_;
    if (cur_ == end_ || *cur_ != '"') {
      return failed(cur_, "expected '\"' to open the value of label " + quoted(name) + ", got " +
                              describe_char(cur_, end_));
    }
    ++cur_;
    std::string_view raw;
    bool escaped = false;
    if (!read_label_value(raw, escaped)) return false;
    if (!exemplar) add_label(name.data(), name.size(), raw.data(), raw.size(), escaped);
    if (cur_ != end_ && *cur_ == ',') {
      ++cur_;
      continue;
    }
    if (cur_ != end_ && *cur_ == '}') {
      ++cur_;
      return exemplar || finish_labels();
    }
    if (cur_ == end_ || *cur_ == '\n') return failed(cur_, "unterminated label set (missing '}')");
    return failed(cur_, "expected ',' or '}' after label value, got " + describe_char(cur_, end_));
  }
}

bool exposition_parser::finish_labels() {
  for (const pending_value& pending : pending_values_) {
    labels_[pending.label].value = std::string_view(unescaped_.data() + pending.offset, pending.size);
  }
  for (const label_view& label : labels_) {
    if (equals(label.name, "__name__")) {
      return failed(label.name.data(), "label name \"__name__\" is reserved for the metric name");
    }
  }
  const std::size_t count = labels_.size();
  if (count <= small_label_set) {
    for (std::size_t i = 1; i < count; ++i) {
      for (std::size_t j = 0; j < i; ++j) {
        if (labels_[i].name == labels_[j].name) {
          return failed(labels_[i].name.data(), "duplicate label name " + quoted(labels_[i].name));
        }
      }
    }
    return true;
  }
  // Wide label sets: sort instead of comparing every pair, so hostile input stays O(n log n).
  sorted_names_.clear();
  for (std::size_t i = 0; i < count; ++i) sorted_names_.emplace_back(labels_[i].name, i);
  std::sort(sorted_names_.begin(), sorted_names_.end());
  std::size_t first_duplicate = count;
  for (std::size_t i = 1; i < count; ++i) {
    if (sorted_names_[i].first == sorted_names_[i - 1].first) {
      first_duplicate = std::min(first_duplicate, sorted_names_[i].second);
    }
  }
  if (first_duplicate == count) return true;
  const std::string_view name = labels_[first_duplicate].name;
  return failed(name.data(), "duplicate label name " + quoted(name));
}

bool exposition_parser::parse_value(std::string_view token, double& value, const char* what) {
  switch (parse_exposition_float(token, value)) {
    case float_status::ok:
      return true;
    case float_status::unsupported_character:
      return failed(token.data(), std::string("invalid ") + what + " " + quoted(token) +
                                      " (hexadecimal floats and '_' are not supported)");
    case float_status::out_of_range:
      return failed(token.data(), std::string(what) + " " + quoted(token) + " is out of range");
    case float_status::invalid:
      break;
  }
  return failed(token.data(), std::string("invalid ") + what + " " + quoted(token));
}

bool exposition_parser::parse_openmetrics_timestamp(std::string_view token, std::int64_t& ms,
                                                    const char* what) {
  double seconds = 0;
  if (!parse_value(token, seconds, what)) return false;
  if (!std::isfinite(seconds)) {
    return failed(token.data(), std::string("invalid ") + what + " " + quoted(token) + " (must be finite)");
  }
  const double scaled = seconds * 1000.0;
  // 2^63: the first double outside int64; converting it or anything beyond is undefined.
  constexpr double int64_bound = 9223372036854775808.0;
  if (!(scaled >= -int64_bound && scaled < int64_bound)) {
    return failed(token.data(), std::string(what) + " " + quoted(token) + " is out of range");
  }
  ms = static_cast<std::int64_t>(scaled);
  return true;
}

void exposition_parser::classify_series() {
  current_type_ = metric_type::untyped;
  if (family_type_ == metric_type::untyped) return;
  const std::string_view name = metric_name_;
  if (name.size() < family_name_.size() || name.compare(0, family_name_.size(), family_name_) != 0) return;
  const std::string_view suffix = name.substr(family_name_.size());
  if (suffix.empty() || is_family_suffix(family_type_, suffix)) current_type_ = family_type_;
}

}  // namespace wk::protocol
