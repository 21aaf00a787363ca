#include "protocol/gateway/ws_messages.hpp"

#include <algorithm>

#include "events/metrics_topic.hpp"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace wk::gateway {

namespace {


using writer = rapidjson::Writer<rapidjson::StringBuffer>;

void put(writer& w, std::string_view s) {
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

std::string text_of(const rapidjson::StringBuffer& b) {
  return std::string(b.GetString(), b.GetSize());
}

void put_topics(writer& w, const std::vector<std::string>& topics) {
  w.Key("topics");
  w.StartArray();
  for (const auto& t : topics)
    put(w, t);
  w.EndArray();
}

bool read_topics(const rapidjson::Value& doc, std::vector<std::string>& out, std::string* error) {
  const auto it = doc.FindMember("topics");
  if (it == doc.MemberEnd() || !it->value.IsArray()) {
    *error = "'topics' must be an array of topic names";
    return false;
  }
  const auto& array = it->value.GetArray();
  if (array.Empty() || array.Size() > max_topics_per_message) {
    *error = "'topics' must name 1-" + std::to_string(max_topics_per_message) + " topics";
    return false;
  }
  for (const auto& t : array) {
    if (!t.IsString()) {
      *error = "'topics' must contain only strings";
      return false;
    }
    std::string topic(t.GetString(), t.GetStringLength());
    std::string why;
    if (!valid_topic(topic, &why)) {
      *error = why.empty() ? "unknown topic '" + topic.substr(0, 64) +
                               "' (known: services, health, alerts, incidents, anomalies, "
                               "metrics:<service>, metrics:<service>{<label matchers>})"
                           : "topic '" + topic.substr(0, 64) + "': " + why;
      return false;
    }
    if (std::find(out.begin(), out.end(), topic) == out.end())
      out.push_back(std::move(topic));
  }
  return true;
}

}  // namespace

const std::vector<std::string>& fixed_topics() {
  static const std::vector<std::string> topics{"services", "health", "alerts", "incidents",
                                               "anomalies"};
  return topics;
}

bool valid_topic(std::string_view topic, std::string* why) {
  const auto& fixed = fixed_topics();
  if (std::find(fixed.begin(), fixed.end(), topic) != fixed.end())
    return true;
  return events::parse_metrics_topic(topic, why).has_value();
}

std::optional<client_message> parse_client_message(std::string_view text, std::string* error) {
  rapidjson::Document doc;
  // Iterative parsing: deeply nested hostile input cannot exhaust the stack.
  doc.Parse<rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag>(text.data(),
                                                                                     text.size());
  if (doc.HasParseError()) {
    *error = std::string("malformed JSON at offset ") + std::to_string(doc.GetErrorOffset()) +
             ": " + rapidjson::GetParseError_En(doc.GetParseError());
    return std::nullopt;
  }
  if (!doc.IsObject()) {
    *error = "a message must be a JSON object";
    return std::nullopt;
  }
  const auto type_it = doc.FindMember("type");
  if (type_it == doc.MemberEnd() || !type_it->value.IsString()) {
    *error = "a message needs a string 'type'";
    return std::nullopt;
  }
  const std::string_view type(type_it->value.GetString(), type_it->value.GetStringLength());
  client_message m;
  if (type == "subscribe" || type == "unsubscribe") {
    m.type = type == "subscribe" ? client_message_type::subscribe
                                 : client_message_type::unsubscribe;
    if (!read_topics(doc, m.topics, error))
      return std::nullopt;
    const auto since = doc.FindMember("since");
    if (since != doc.MemberEnd() && m.type == client_message_type::subscribe &&
        !since->value.IsNull()) {
      if (!since->value.IsUint64()) {
        *error = "'since' must be a non-negative integer seq";
        return std::nullopt;
      }
      m.since = since->value.GetUint64();
    }
    return m;
  }
  if (type == "ping") {
    m.type = client_message_type::ping;
    const auto id = doc.FindMember("id");
    if (id != doc.MemberEnd() && !id->value.IsNull()) {
      if (!id->value.IsString() && !id->value.IsNumber()) {
        *error = "'id' must be a string or a number";
        return std::nullopt;
      }
      rapidjson::StringBuffer b;
      writer w(b);
      id->value.Accept(w);
      if (b.GetSize() > max_ping_id_bytes) {
        *error = "'id' is longer than " + std::to_string(max_ping_id_bytes) + " bytes";
        return std::nullopt;
      }
      m.id_json = text_of(b);
    }
    return m;
  }
  if (type == "auth") {
    m.type = client_message_type::auth;
    const auto token = doc.FindMember("token");
    if (token == doc.MemberEnd() || !token->value.IsString() ||
        token->value.GetStringLength() == 0 || token->value.GetStringLength() > max_token_bytes) {
      *error = "'token' must be a non-empty string of at most " +
               std::to_string(max_token_bytes) + " bytes";
      return std::nullopt;
    }
    m.token.assign(token->value.GetString(), token->value.GetStringLength());
    return m;
  }
  *error = "unknown message type '" + std::string(type.substr(0, 64)) + "'";
  return std::nullopt;
}

bool valid_utf8(std::string_view text) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* end = p + text.size();
  while (p < end) {
    const unsigned char c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    int extra = 0;
    std::uint32_t cp = 0;
    if (c >= 0xC2 && c <= 0xDF) {
      extra = 1;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      extra = 2;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      extra = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (end - p <= extra)
      return false;
    for (int i = 1; i <= extra; ++i) {
      if ((p[i] & 0xC0) != 0x80)
        return false;
      cp = (cp << 6) | (p[i] & 0x3F);
    }
    // Overlong forms, UTF-16 surrogates and values past U+10FFFF are not UTF-8.
    if ((extra == 2 && cp < 0x800) || (extra == 3 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    p += extra + 1;
  }
  return true;
}

std::string render_hello(std::string_view version, std::uint64_t seq,
                         const std::vector<std::string>& topics, bool auth_required) {
  rapidjson::StringBuffer b;
  writer w(b);
  w.StartObject();
  w.Key("type");
  w.String("hello");
  w.Key("server");
  w.String("watchkeeper");
  w.Key("version");
  put(w, version);
  w.Key("seq");
  w.Uint64(seq);
  put_topics(w, topics);
  w.Key("auth_required");
  w.Bool(auth_required);
  w.EndObject();
  return text_of(b);
}

namespace {

std::string render_topics_reply(const char* type, const std::vector<std::string>& topics,
                                std::uint64_t seq) {
  rapidjson::StringBuffer b;
  writer w(b);
  w.StartObject();
  w.Key("type");
  w.String(type);
  put_topics(w, topics);
  w.Key("seq");
  w.Uint64(seq);
  w.EndObject();
  return text_of(b);
}

}  // namespace

std::string render_subscribed(const std::vector<std::string>& topics, std::uint64_t seq) {
  return render_topics_reply("subscribed", topics, seq);
}

std::string render_unsubscribed(const std::vector<std::string>& topics, std::uint64_t seq) {
  return render_topics_reply("unsubscribed", topics, seq);
}

std::string render_resync(std::string_view reason, std::uint64_t oldest, std::uint64_t seq) {
  rapidjson::StringBuffer b;
  writer w(b);
  w.StartObject();
  w.Key("type");
  w.String("resync");
  w.Key("reason");
  put(w, reason);
  w.Key("oldest");
  w.Uint64(oldest);
  w.Key("seq");
  w.Uint64(seq);
  w.EndObject();
  return text_of(b);
}

std::string render_pong(std::string_view id_json, std::uint64_t seq) {
  rapidjson::StringBuffer b;
  writer w(b);
  w.StartObject();
  w.Key("type");
  w.String("pong");
  if (!id_json.empty()) {
    w.Key("id");
    w.RawValue(id_json.data(), id_json.size(),
               id_json.front() == '"' ? rapidjson::kStringType : rapidjson::kNumberType);
  }
  w.Key("seq");
  w.Uint64(seq);
  w.EndObject();
  return text_of(b);
}

std::string render_authenticated() {
  return R"({"type":"authenticated"})";
}

std::string render_error(std::string_view code, std::string_view detail) {
  rapidjson::StringBuffer b;
  writer w(b);
  w.StartObject();
  w.Key("type");
  w.String("error");
  w.Key("code");
  put(w, code);
  w.Key("detail");
  put(w, detail);
  w.EndObject();
  return text_of(b);
}

}  // namespace wk::gateway
