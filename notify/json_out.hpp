#pragma once

// The JSON writer every renderer uses: strings pass through sanitize_utf8 so a label with
// broken UTF-8 cannot make the body invalid JSON.

#include <map>
#include <string>
#include <string_view>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "notify/text.hpp"

namespace wk::notify {

class json_out {
 public:
  json_out() : writer_(buffer_) {}

  void key(std::string_view k) { string_value(k, true); }
  void string(std::string_view v) { string_value(v, false); }
  void member(std::string_view k, std::string_view v) {
    key(k);
    string(v);
  }
  void member(std::string_view k, std::int64_t v) {
    key(k);
    writer_.Int64(v);
  }
  void member_bool(std::string_view k, bool v) {
    key(k);
    writer_.Bool(v);
  }
  void object(std::string_view k, const std::map<std::string, std::string>& m) {
    key(k);
    object(m);
  }
  void object(const std::map<std::string, std::string>& m) {
    writer_.StartObject();
    for (const auto& [k, v] : m)
      member(k, v);
    writer_.EndObject();
  }
  void start_object() { writer_.StartObject(); }
  void end_object() { writer_.EndObject(); }
  void start_array() { writer_.StartArray(); }
  void end_array() { writer_.EndArray(); }

  std::string str() const { return std::string(buffer_.GetString(), buffer_.GetSize()); }

 private:
  void string_value(std::string_view s, bool is_key) {
    std::string clean = sanitize_utf8(s);
    auto len = static_cast<rapidjson::SizeType>(clean.size());
    if (is_key)
      writer_.Key(clean.data(), len, true);
    else
      writer_.String(clean.data(), len, true);
  }

  rapidjson::StringBuffer buffer_;
  rapidjson::Writer<rapidjson::StringBuffer> writer_;
};

}  // namespace wk::notify
