#include "persistence/migrations.hpp"

#include "persistence/detail/message.hpp"
#include "persistence/detail/session.hpp"
#include "persistence/error.hpp"

#include <openssl/evp.h>
#include <pqxx/result>
#include <pqxx/transaction>

#include <algorithm>
#include <map>
#include <set>

namespace wk::persistence {
namespace {

// Any fixed 64-bit key; it only has to differ from other advisory locks in the database.
constexpr const char* lock_sql = "SELECT pg_advisory_xact_lock(7450362311045318995)";

// Quietens the NOTICE that CREATE TABLE IF NOT EXISTS prints when the table exists.
constexpr const char* quiet_sql = "SET LOCAL client_min_messages = warning";

constexpr const char* create_table_sql =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version int PRIMARY KEY,"
    " name text NOT NULL,"
    " checksum text NOT NULL,"
    " applied_at timestamptz NOT NULL DEFAULT now())";

constexpr const char* recorded_sql = "SELECT version, name, checksum FROM schema_migrations";
constexpr const char* recorded_one_sql =
    "SELECT checksum FROM schema_migrations WHERE version = $1";
constexpr const char* record_sql =
    "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)";

struct recorded {
  std::string name;
  std::string checksum;
};

void check_set(const std::vector<migration>& migrations) {
  std::set<int> versions;
  for (const migration& m : migrations) {
    if (m.version <= 0) throw error("migration " + m.name + ": version must be positive");
    if (!versions.insert(m.version).second) {
      throw error("migration " + m.name + ": version " + std::to_string(m.version) +
                  " is used twice");
    }
  }
}

void check_unchanged(const migration& m, const std::string& recorded_checksum,
                     const std::string& checksum) {
  if (recorded_checksum != checksum) {
    throw error("migration " + m.name + " (version " + std::to_string(m.version) +
                ") was changed after it was applied: recorded checksum " + recorded_checksum +
                ", this binary has " + checksum +
                "; restore the original file and put the change in a new migration");
  }
}

}  // namespace

std::string migration_checksum(const std::string& sql) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(sql.data(), sql.size(), digest, &length, EVP_sha256(), nullptr) != 1) {
    throw error("cannot compute a SHA-256 checksum");
  }
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(length * 2);
  for (unsigned int i = 0; i < length; ++i) {
    out += hex[digest[i] >> 4];
    out += hex[digest[i] & 0x0F];
  }
  return out;
}

migration_report apply_migrations(const std::string& url) {
  return apply_migrations(url, embedded_migrations());
}

migration_report apply_migrations(const std::string& url,
                                  const std::vector<migration>& migrations) {
  check_set(migrations);
  std::vector<const migration*> ordered;
  std::map<int, std::string> checksums;
  for (const migration& m : migrations) {
    ordered.push_back(&m);
    checksums[m.version] = migration_checksum(m.sql);
  }
  std::sort(ordered.begin(), ordered.end(),
            [](const migration* a, const migration* b) { return a->version < b->version; });

  detail::session session(url, {});
  migration_report report;

  const auto recorded_before =
      session.run("cannot read the migration history", [&](pqxx::connection& conn) {
        pqxx::work tx(conn);
        tx.exec(lock_sql);
        tx.exec(quiet_sql);
        tx.exec(create_table_sql);
        std::map<int, recorded> rows;
        for (const auto& row : tx.exec(recorded_sql)) {
          rows[row[0].as<int>()] = {row[1].as<std::string>(), row[2].as<std::string>()};
        }
        tx.commit();
        return rows;
      });

  // Every recorded migration is checked before anything new is applied.
  for (const auto& [version, row] : recorded_before) {
    const auto known = checksums.find(version);
    if (known == checksums.end()) {
      report.unknown.push_back(row.name);
      continue;
    }
    const auto m = std::find_if(ordered.begin(), ordered.end(),
                                [&](const migration* x) { return x->version == version; });
    check_unchanged(**m, row.checksum, known->second);
    ++report.already_applied;
  }

  for (const migration* m : ordered) {
    if (recorded_before.count(m->version) != 0) continue;
    const std::string& checksum = checksums[m->version];
    const bool applied_here =
        session.run("migration " + m->name + " failed", [&](pqxx::connection& conn) {
          pqxx::work tx(conn);
          tx.exec(lock_sql);
          // Another instance may have applied it while we waited for the lock.
          const pqxx::result again = tx.exec_params(recorded_one_sql, m->version);
          if (!again.empty()) {
            check_unchanged(*m, again[0][0].as<std::string>(), checksum);
            tx.commit();
            return false;
          }
          tx.exec(m->sql);
          tx.exec_params(record_sql, m->version, m->name, checksum);
          tx.commit();
          return true;
        });
    if (applied_here) {
      report.applied.push_back(m->name);
    } else {
      ++report.already_applied;
    }
  }
  return report;
}

}  // namespace wk::persistence
