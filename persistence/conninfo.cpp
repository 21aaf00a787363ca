#include "persistence/conninfo.hpp"

#include "persistence/detail/message.hpp"
#include "persistence/error.hpp"

#include <libpq-fe.h>

#include <memory>

namespace wk::persistence {
namespace {

struct options_deleter {
  void operator()(PQconninfoOption* options) const { PQconninfoFree(options); }
};
using options_ptr = std::unique_ptr<PQconninfoOption, options_deleter>;

options_ptr parse_options(const std::string& url) {
  char* message = nullptr;
  options_ptr options(PQconninfoParse(url.c_str(), &message));
  if (!options) {
    const std::string reason = detail::one_line(message ? message : "out of memory");
    PQfreemem(message);
    throw error("invalid database URL: " + reason);
  }
  return options;
}

// libpq's quoting for key='value' strings.
void append_quoted(std::string& out, const std::string& value) {
  out += '\'';
  for (char c : value) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  out += '\'';
}

const std::string* lookup(const conninfo_options& options, const char* key) {
  for (const auto& [name, value] : options) {
    if (name == key) return &value;
  }
  return nullptr;
}

void check_known(const PQconninfoOption* parsed, const conninfo_options& options) {
  for (const auto& [name, value] : options) {
    bool known = false;
    for (const PQconninfoOption* o = parsed; o->keyword; ++o) known = known || name == o->keyword;
    if (!known) throw error("unknown connection option \"" + name + "\"");
  }
}

}  // namespace

const conninfo_options& default_connection_options() {
  static const conninfo_options defaults{
      {"connect_timeout", "5"},      {"application_name", "watchkeeper"}, {"keepalives", "1"},
      {"keepalives_idle", "30"},     {"keepalives_interval", "10"},       {"keepalives_count", "3"},
      {"tcp_user_timeout", "60000"},
  };
  return defaults;
}

conninfo parse_conninfo(const std::string& url, const conninfo_options& defaults,
                        const conninfo_options& overrides) {
  const options_ptr parsed = parse_options(url);
  check_known(parsed.get(), defaults);
  check_known(parsed.get(), overrides);

  conninfo result;
  std::string user, host, port, dbname;
  for (const PQconninfoOption* o = parsed.get(); o->keyword; ++o) {
    const std::string* value = lookup(overrides, o->keyword);
    std::string chosen;
    if (value) {
      chosen = *value;
    } else if (o->val) {
      chosen = o->val;
    } else if (const std::string* fallback = lookup(defaults, o->keyword)) {
      chosen = *fallback;
    } else {
      continue;
    }
    if (!result.connect_string.empty()) result.connect_string += ' ';
    result.connect_string += o->keyword;
    result.connect_string += '=';
    append_quoted(result.connect_string, chosen);

    const std::string keyword = o->keyword;
    if (keyword == "user") user = chosen;
    if (keyword == "host" || (keyword == "hostaddr" && host.empty())) host = chosen;
    if (keyword == "port") port = chosen;
    if (keyword == "dbname") dbname = chosen;
  }
  result.display = (user.empty() ? "" : user + "@") + (host.empty() ? "localhost" : host) +
                   (port.empty() ? "" : ":" + port) + "/" + (dbname.empty() ? user : dbname);
  return result;
}

std::string with_database(const std::string& url, const std::string& database) {
  return parse_conninfo(url, {}, {{"dbname", database}}).connect_string;
}

std::string describe(const std::string& url) {
  try {
    return parse_conninfo(url, {}).display;
  } catch (const error&) {
    return "(invalid database URL)";
  }
}

}  // namespace wk::persistence
