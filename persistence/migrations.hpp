#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace wk::persistence {

// One numbered schema change: sql/NNNN_name.sql.
struct migration {
  int version = 0;
  std::string name;  // file name, e.g. "0001_init.sql"
  std::string sql;   // may hold several statements; runs in one transaction
};

struct migration_report {
  std::vector<std::string> applied;  // names applied by this call, in order
  std::size_t already_applied = 0;   // recorded before this call (or by a concurrent start)
  // Recorded in the database but unknown to this binary (a newer version migrated it).
  // Not an error, so an older instance keeps running during a rolling upgrade; worth a warning.
  std::vector<std::string> unknown;
};

// The migrations compiled into this binary from sql/*.sql, ordered by version.
const std::vector<migration>& embedded_migrations();

// Hex SHA-256 of a migration's SQL text, as recorded in schema_migrations.checksum.
std::string migration_checksum(const std::string& sql);

// Applies every embedded migration not yet recorded in schema_migrations, each in its own
// transaction together with its record. Safe against concurrent starts (all steps run under
// pg_advisory_xact_lock). Throws persistence::error with a clear message when the database
// is unreachable, a migration fails (it is rolled back; earlier ones stay), or a recorded
// migration's checksum differs from the embedded one (an applied file was edited).
migration_report apply_migrations(const std::string& url);

// The same with an explicit migration set; versions must be positive and unique.
migration_report apply_migrations(const std::string& url, const std::vector<migration>& migrations);

}  // namespace wk::persistence
