#include "persistence/text_check.hpp"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include <cstdint>
#include <cstring>

namespace wk::persistence {
namespace {

// Length of the UTF-8 sequence starting at text[i], or 0 when it is malformed, overlong,
// a surrogate or beyond U+10FFFF (all of which PostgreSQL rejects).
std::size_t utf8_sequence_length(std::string_view text, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<std::uint8_t>(text[i + k]); };
  const auto continuation = [&](std::size_t k) {
    return i + k < text.size() && (byte(k) & 0xC0) == 0x80;
  };
  const std::uint8_t lead = byte(0);
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) return continuation(1) ? 2 : 0;
  if (lead >= 0xE0 && lead <= 0xEF) {
    if (!continuation(1) || !continuation(2)) return 0;
    if (lead == 0xE0 && byte(1) < 0xA0) return 0;
    if (lead == 0xED && byte(1) >= 0xA0) return 0;
    return 3;
  }
  if (lead >= 0xF0 && lead <= 0xF4) {
    if (!continuation(1) || !continuation(2) || !continuation(3)) return 0;
    if (lead == 0xF0 && byte(1) < 0x90) return 0;
    if (lead == 0xF4 && byte(1) >= 0x90) return 0;
    return 4;
  }
  return 0;
}

bool has_nul(const rapidjson::Value& v) {
  return std::memchr(v.GetString(), '\0', v.GetStringLength()) != nullptr;
}

// A label name for an error message, cut short so hostile input cannot bloat the message.
std::string quoted_prefix(const rapidjson::Value& v) {
  constexpr std::size_t max_shown = 64;
  const std::size_t n = v.GetStringLength();
  std::string shown(v.GetString(), n < max_shown ? n : max_shown);
  return "\"" + shown + (n > max_shown ? "...\"" : "\"");
}

}  // namespace

std::string text_problem(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    if (text[i] == '\0') return "contains a NUL byte at offset " + std::to_string(i);
    const std::size_t n = utf8_sequence_length(text, i);
    if (n == 0) return "is not valid UTF-8 at offset " + std::to_string(i);
    i += n;
  }
  return {};
}

std::string labels_problem(std::string_view json) {
  rapidjson::Document doc;
  // Iterative parsing: hostile nesting depth cannot exhaust the stack.
  doc.Parse<rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag>(json.data(),
                                                                                    json.size());
  if (doc.HasParseError()) {
    return std::string("is not valid JSON: ") + rapidjson::GetParseError_En(doc.GetParseError()) +
           " at offset " + std::to_string(doc.GetErrorOffset());
  }
  if (!doc.IsObject()) return "is not a JSON object";
  for (const auto& member : doc.GetObject()) {
    // jsonb cannot store U+0000.
    if (has_nul(member.name)) return "has a label name containing U+0000";
    const std::string name = quoted_prefix(member.name);
    if (!member.value.IsString()) return "label " + name + " is not a string";
    if (has_nul(member.value)) return "label " + name + " contains U+0000";
  }
  return {};
}

}  // namespace wk::persistence
