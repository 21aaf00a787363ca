#include "persistence/silence_store.hpp"

#include "persistence/detail/session.hpp"
#include "persistence/error.hpp"
#include "persistence/text_check.hpp"

#include <pqxx/result>
#include <pqxx/transaction>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>

namespace wk::persistence {
namespace {

#define WK_AT(x) "to_timestamp((" x ")::bigint::numeric / 1000)"
#define WK_MS(col) "(extract(epoch from " col ") * 1000)::bigint"

// Matchers arrive as a JSON array of strings: no text[] literal quoting to get wrong.
constexpr const char* save_name = "wk_silence_save";
constexpr const char* save_sql =
    "INSERT INTO silences (id, matchers, starts_at, ends_at, created_by, comment, created_at)"
    " VALUES ($1, ARRAY(SELECT jsonb_array_elements_text($2::jsonb)), " WK_AT("$3") ", "
    WK_AT("$4") ", $5, $6, " WK_AT("$7") ")"
    " ON CONFLICT (id) DO UPDATE SET matchers = excluded.matchers,"
    " starts_at = excluded.starts_at, ends_at = excluded.ends_at,"
    " created_by = excluded.created_by, comment = excluded.comment,"
    " created_at = excluded.created_at";
constexpr const char* all_name = "wk_silence_all";
constexpr const char* all_sql =
    "SELECT id, array_to_json(matchers)::text, " WK_MS("starts_at") ", " WK_MS("ends_at") ","
    " created_by, comment, " WK_MS("created_at") " FROM silences"
    " WHERE ends_at > " WK_AT("$1") " ORDER BY starts_at, id";
constexpr const char* expire_name = "wk_silence_expire";
constexpr const char* expire_sql =
    "UPDATE silences SET ends_at = least(ends_at, " WK_AT("$2") "),"
    " starts_at = least(starts_at, ends_at, " WK_AT("$2") ") WHERE id = $1 RETURNING id";

#undef WK_AT
#undef WK_MS

// 9999-12-31T23:59:59.999Z, as incident_store.
constexpr std::int64_t max_time_ms = 253'402'300'799'999;

void check_text(const std::string& field, const std::string& value) {
  if (value.size() > silence_store::max_text_bytes)
    throw error(field + " is longer than " + std::to_string(silence_store::max_text_bytes) +
                " bytes");
  if (std::string why = text_problem(value); !why.empty()) throw error(field + " " + why);
}

void check_time(const std::string& field, std::int64_t ms) {
  if (ms < 0 || ms > max_time_ms)
    throw error(field + " " + std::to_string(ms) + " is not a time between 1970 and 9999");
}

// At most about `max` bytes of valid UTF-8 text for a message, cut on a character boundary.
std::string shown(const std::string& text, std::size_t max = 128) {
  if (text.size() <= max) return text;
  while (max > 0 && (static_cast<unsigned char>(text[max]) & 0xC0) == 0x80) --max;
  return text.substr(0, max) + "...";
}

bool same(const notify::matcher& a, const notify::matcher& b) {
  return a.name() == b.name() && a.op() == b.op() && a.value() == b.value();
}

// The stored form of every matcher, checked to parse back to the same matcher.
std::string matchers_json(const std::string& where, const std::vector<notify::matcher>& ms) {
  rapidjson::StringBuffer sb;
  rapidjson::Writer<rapidjson::StringBuffer> w(sb);
  w.StartArray();
  for (const auto& m : ms) {
    const std::string text = m.str();
    check_text(where + "matcher", text);
    std::vector<notify::matcher> back;
    const auto problem = notify::parse_matchers(text, back);
    if (problem || back.size() != 1 || !same(back[0], m))
      throw error(where + "matcher " + shown(text) + " does not parse back to itself" +
                  (problem ? ": " + *problem : ""));
    w.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
  }
  w.EndArray();
  return sb.GetString();
}

std::vector<notify::matcher> matchers_from_json(const std::string& id, const std::string& json) {
  rapidjson::Document d;
  d.Parse(json.data(), json.size());
  if (d.HasParseError() || !d.IsArray())
    throw error("silence " + id + ": stored matchers are not a JSON array");
  std::vector<notify::matcher> out;
  for (const auto& v : d.GetArray()) {
    const std::string text = v.IsString() ? std::string(v.GetString(), v.GetStringLength()) : "";
    if (const auto problem = notify::parse_matchers(text, out))
      throw error("silence " + id + ": stored matcher " + shown(text) +
                  " does not parse: " + *problem);
  }
  return out;
}

}  // namespace

struct silence_store::impl {
  explicit impl(const std::string& url)
      : session(url, {{save_name, save_sql}, {all_name, all_sql}, {expire_name, expire_sql}}) {}
  detail::session session;
};

silence_store::silence_store(std::string url) : impl_(std::make_unique<impl>(url)) {}
silence_store::~silence_store() = default;
silence_store::silence_store(silence_store&&) noexcept = default;
silence_store& silence_store::operator=(silence_store&&) noexcept = default;

void silence_store::save(const silences::silence& s) {
  check_text("silence id", s.id);
  if (s.id.empty()) throw error("silence id is empty");
  const std::string where = "silence " + shown(s.id) + ": ";
  if (s.source != "api")
    throw error(where + "only API silences are stored (source is not \"api\")");
  if (s.matchers.empty()) throw error(where + "has no matchers");
  if (s.matchers.size() > max_matchers)
    throw error(where + "has more than " + std::to_string(max_matchers) + " matchers");
  check_text(where + "created_by", s.created_by);
  check_text(where + "comment", s.comment);
  check_time(where + "starts_at_ms", s.starts_at_ms);
  check_time(where + "ends_at_ms", s.ends_at_ms);
  check_time(where + "created_at_ms", s.created_at_ms);
  if (s.ends_at_ms < s.starts_at_ms) throw error(where + "ends before it starts");
  const std::string matchers = matchers_json(where, s.matchers);
  impl_->session.run("cannot save silence " + shown(s.id), [&](pqxx::connection& conn) {
    pqxx::work tx(conn);
    tx.exec_prepared(save_name, s.id, matchers, s.starts_at_ms, s.ends_at_ms, s.created_by,
                     s.comment, s.created_at_ms);
    tx.commit();
    return 0;
  });
}

std::vector<silences::silence> silence_store::all(std::int64_t ended_after_ms) {
  ended_after_ms = std::clamp<std::int64_t>(ended_after_ms, 0, max_time_ms);
  const pqxx::result rows =
      impl_->session.run("cannot read silences", [&](pqxx::connection& conn) {
        pqxx::read_transaction tx(conn);
        return tx.exec_prepared(all_name, ended_after_ms);
      });
  std::vector<silences::silence> out;
  out.reserve(rows.size());
  for (const auto& row : rows) {
    silences::silence s;
    s.id = row[0].as<std::string>();
    s.matchers = matchers_from_json(s.id, row[1].as<std::string>());
    s.starts_at_ms = row[2].as<std::int64_t>();
    s.ends_at_ms = row[3].as<std::int64_t>();
    s.created_by = row[4].as<std::string>();
    s.comment = row[5].as<std::string>();
    s.created_at_ms = row[6].as<std::int64_t>();
    out.push_back(std::move(s));
  }
  return out;
}

bool silence_store::expire(const std::string& id, std::int64_t at_ms) {
  check_text("silence id", id);
  check_time("expire at_ms", at_ms);
  return impl_->session.run("cannot expire silence " + shown(id),
                            [&](pqxx::connection& conn) {
                              pqxx::work tx(conn);
                              const bool found = !tx.exec_prepared(expire_name, id, at_ms).empty();
                              tx.commit();
                              return found;
                            });
}

}  // namespace wk::persistence
