#pragma once

#include <string>
#include <utility>
#include <vector>

namespace wk::persistence {

// A database location as given by the operator (a postgresql:// URL or a libpq key=value
// string), turned into the libpq connection string this library connects with.
struct conninfo {
  std::string connect_string;  // key='value' form, with our defaults filled in
  std::string display;         // user@host:port/dbname for messages; never the password
};

using conninfo_options = std::vector<std::pair<std::string, std::string>>;

// Parses `url` with libpq's own parser (both URL and key=value forms). `defaults` apply only
// to options the URL leaves unset; `overrides` replace whatever the URL says. A URL without a
// database name gets libpq's default, the user name, as psql does. Throws persistence::error
// when libpq cannot parse it or an option name is unknown.
conninfo parse_conninfo(const std::string& url, const conninfo_options& defaults,
                        const conninfo_options& overrides = {});

// What every connection of ours gets unless the URL says otherwise: a bounded connect,
// TCP keepalives so a silently dead server is noticed, and an application_name for
// pg_stat_activity.
const conninfo_options& default_connection_options();

// The same server and credentials as `url`, other database (e.g. a scratch database, or the
// maintenance database to create one). Returns a key=value connection string.
std::string with_database(const std::string& url, const std::string& database);

// user@host:port/dbname of `url` for logs and messages; never the password.
std::string describe(const std::string& url);

}  // namespace wk::persistence
