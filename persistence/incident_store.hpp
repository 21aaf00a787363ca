#pragma once

// Incidents, their timeline, the notification outbox and the audit log of REST writes.
// An incident transition and the notifications it causes commit in one transaction, so a
// crash can lose neither one without the other (transactional outbox).

#include "incidents/model.hpp"
#include "persistence/error.hpp"

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace wk::persistence {

struct outbox_entry {
  std::int64_t id = 0;            // assigned by the database
  std::int64_t incident_id = 0;
  std::string receiver;           // receiver name from the config, or "user:<id>:<type>"
  std::string channel;            // slack|pagerduty|webhook|email
  std::string transition;         // triggered|acknowledged|resolved|escalated
  std::string dedup_key;          // unique; an insert with an existing key is silently skipped
  std::string delivery_key;       // webhook X-Watchkeeper-Delivery value
  std::string target;             // URL, routing key or comma separated mail recipients
  std::string body;               // rendered payload, sent byte for byte on every attempt
  std::string state = "pending";  // pending|delivered|failed
  int attempts = 0;
  std::int64_t created_ms = 0, next_attempt_ms = 0, delivered_ms = 0;
  int last_status = 0;            // last HTTP status (0 = none/transport error)
  std::string last_error;
};

struct audit_entry {
  std::int64_t at_ms = 0;
  std::string actor, role, action, target;
  std::map<std::string, std::string> detail;
};

// Everything one incident transition writes, committed in one transaction.
struct incident_change {
  incidents::incident incident;  // full new state: upsert row (by id) and replace its alerts
  std::vector<incidents::timeline_entry> timeline;  // appended
  std::vector<outbox_entry> outbox;                 // inserted ON CONFLICT (dedup_key) DO NOTHING
  std::optional<audit_entry> audit;                 // appended
  // >= 0: fail with version_conflict unless the stored row has this version (or none exists
  // and it is 0). The incident's own version is stored as given: the writer bumps it.
  std::int64_t expect_version = -1;
};

struct incident_query {
  std::vector<std::string> statuses;  // any of these; empty = every status
  std::string service, severity;      // "" = any
  // opened_at_ms >= since_ms (0 = no bound) and opened_at_ms <= until_ms (0 = no bound)
  std::int64_t since_ms = 0, until_ms = 0;
  std::size_t limit = 100, offset = 0;
};

struct incident_page {
  std::vector<incidents::incident> incidents;
  std::size_t total = 0;  // rows matching the filters, ignoring limit and offset
};

// The stored incident has another version than the change expected: someone else wrote it.
class version_conflict : public error {
 public:
  using error::error;
};

// The change would leave two unresolved incidents with one group key.
class group_conflict : public error {
 public:
  using error::error;
};

// What commit_batch did with one change.
struct commit_result {
  enum class status { committed, version_conflict, group_conflict, invalid };
  status state = status::committed;
  std::string message;  // why, when not committed
};

// One connection, opened on first use and reopened after a failure; used from one thread.
// Every call either succeeds or throws persistence::error; input is checked (valid UTF-8 and
// no NUL in text, sizes, times from 1970 to the year 9999, known states) before
// anything is sent, so a bad value is rejected with a message naming the field.
class incident_store {
 public:
  static constexpr std::size_t max_text_bytes = 64 * 1024;   // any one text field or map entry
  static constexpr std::size_t max_body_bytes = 4 << 20;     // an outbox body
  static constexpr std::size_t max_alerts = 10000;           // per incident
  static constexpr std::size_t max_entries = 1000;           // per list or map in a change
  static constexpr std::size_t max_page = 1000;              // cap on any limit argument
  static constexpr std::size_t max_error_bytes = 4096;       // last_error is cut to this
  static constexpr std::size_t max_batch = 1000;             // changes per commit_batch
  static constexpr std::size_t max_change_bytes = 64 << 20;  // one change, lists included
  static constexpr std::size_t max_batch_bytes = 256 << 20;  // a whole commit_batch

  // Throws persistence::error when `url` cannot be parsed; does no I/O.
  explicit incident_store(std::string url);
  ~incident_store();
  incident_store(incident_store&&) noexcept;
  incident_store& operator=(incident_store&&) noexcept;

  // One transaction: the incident row, its alerts (replaced), the timeline entries, the
  // outbox rows and the audit entry. Timeline and outbox entries must name this incident (or
  // leave incident_id 0). Throws version_conflict, group_conflict or persistence::error, and
  // then nothing was written, unless the connection was lost during COMMIT (the message
  // says the outcome is unknown).
  void commit(const incident_change& c);
  // Several changes in one transaction, so they share one WAL flush: the way to many
  // durable writes per second, since each commit waits for the disk. Each change is applied
  // in order or refused on its own (conflict or invalid input; results[i] says which) and a
  // refused change writes nothing. Throws persistence::error as commit does, and when there
  // are more than max_batch changes or max_batch_bytes in all.
  std::vector<commit_result> commit_batch(const std::vector<incident_change>& changes);

  // Unresolved incidents with their alerts, by id.
  std::vector<incidents::incident> open_incidents();
  std::optional<incidents::incident> get(std::int64_t id);
  // The newest resolved incident of group_key resolved at or after since_ms (for reopening).
  std::optional<incidents::incident> last_resolved(const std::string& group_key,
                                                   std::int64_t since_ms);
  // Newest opened first, with alerts; at most min(limit, max_page) incidents.
  incident_page list(const incident_query& q);
  // The newest min(limit, 10 * max_page) entries, oldest first.
  std::vector<incidents::timeline_entry> timeline(std::int64_t incident_id,
                                                  std::size_t limit = 1000);
  std::int64_t max_id();  // 0 when empty

  // Pending rows with next_attempt_ms <= now_ms, earliest next attempt first.
  std::vector<outbox_entry> due_outbox(std::int64_t now_ms, std::size_t limit);
  // The earliest next_attempt_ms of a pending row; nullopt when none is pending.
  std::optional<std::int64_t> next_outbox_due_ms();
  // Every row of the incident, oldest first.
  std::vector<outbox_entry> outbox_for(std::int64_t incident_id);

  // One transaction each: update the pending row and, for delivered and failed, append
  // `entry` to the row's incident (entry.incident_id is ignored). Return false and write
  // nothing when the row is no longer pending (already marked, e.g. by a repeat after a lost
  // reply); throw when it does not exist. `error` is cut to max_error_bytes and invalid UTF-8
  // in it replaced, since it often quotes a receiver's reply. mark_delivered counts the
  // successful attempt (attempts + 1); the others store `attempts` as given.
  bool mark_delivered(std::int64_t id, std::int64_t at_ms, int status,
                      const incidents::timeline_entry& entry);
  bool mark_retry(std::int64_t id, int attempts, std::int64_t next_attempt_ms, int status,
                  const std::string& error);
  bool mark_failed(std::int64_t id, int attempts, int status, const std::string& error,
                   const incidents::timeline_entry& entry);

  void audit(const audit_entry& e);
  // Newest first; *total (when not null) = every entry, ignoring limit and offset.
  std::vector<audit_entry> audit_log(std::size_t limit, std::size_t offset, std::size_t* total);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace wk::persistence
