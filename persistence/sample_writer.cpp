#include "persistence/sample_writer.hpp"

#include "persistence/detail/session.hpp"
#include "persistence/error.hpp"
#include "persistence/text_check.hpp"

#include <pqxx/binarystring>
#include <pqxx/result>
#include <pqxx/stream_to>
#include <pqxx/transaction>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <deque>
#include <limits>
#include <tuple>
#include <unordered_set>

namespace wk::persistence {
namespace {

// Limits far above anything the tsdb produces (a 120-sample chunk is a few hundred bytes),
// there so that one absurd record cannot blow a flush.
constexpr std::size_t max_chunk_data_bytes = 16u << 20;
constexpr std::size_t max_labels_bytes = 1u << 20;
constexpr std::size_t max_metric_bytes = 64u << 10;

// New series go in batches of this many rows per statement (bounded statement size).
constexpr std::size_t series_batch_rows = 2000;

constexpr const char* insert_series_name = "wk_insert_series";
constexpr const char* insert_series_sql =
    "INSERT INTO series (fingerprint, metric, labels)"
    " SELECT * FROM unnest($1::bigint[], $2::text[], $3::jsonb[])"
    " ON CONFLICT (fingerprint) DO NOTHING";

constexpr const char* load_chunks_name = "wk_load_chunks";
constexpr const char* load_chunks_sql =
    "SELECT c.fingerprint, s.metric, s.labels::text, c.min_t, c.data"
    " FROM sample_chunks c JOIN series s ON s.fingerprint = c.fingerprint"
    " WHERE c.min_t <= $2 AND c.max_t >= $1"
    " ORDER BY c.fingerprint, c.min_t, c.max_t LIMIT $3";

const std::vector<std::string> chunk_columns{"fingerprint", "min_t", "max_t", "num_samples",
                                             "data"};

// Fingerprints are unsigned hashes; the bigint column holds the same 64 bits.
std::int64_t to_signed(std::uint64_t v) {
  std::int64_t out;
  std::memcpy(&out, &v, sizeof out);
  return out;
}

std::uint64_t to_unsigned(std::int64_t v) {
  std::uint64_t out;
  std::memcpy(&out, &v, sizeof out);
  return out;
}

std::uint64_t record_bytes(const chunk_record& c) {
  return sizeof(chunk_record) + c.metric.size() + c.labels_json.size() + c.data.size();
}

// Why PostgreSQL could never store this chunk; empty when it can. Series text is only
// checked for series not yet written, since those are the only ones it is used for.
std::string chunk_problem(const chunk_record& c, bool series_known) {
  if (c.count == 0) return "has no samples";
  if (c.count > static_cast<std::uint32_t>(std::numeric_limits<std::int32_t>::max())) {
    return "claims " + std::to_string(c.count) + " samples";
  }
  if (c.min_t > c.max_t) return "has min_t > max_t";
  if (c.data.size() > max_chunk_data_bytes) {
    return "has " + std::to_string(c.data.size()) + " bytes of data (limit " +
           std::to_string(max_chunk_data_bytes) + ")";
  }
  if (series_known) return {};
  if (c.metric.empty()) return "has an empty metric name";
  if (c.metric.size() > max_metric_bytes) return "has a metric name over 64 KiB";
  if (std::string why = text_problem(c.metric); !why.empty()) return "metric name " + why;
  if (c.labels_json.size() > max_labels_bytes) return "has labels_json over 1 MiB";
  if (std::string why = labels_problem(c.labels_json); !why.empty()) return "labels_json: " + why;
  return {};
}

// Element of a PostgreSQL array literal, always quoted.
void append_array_element(std::string& out, const std::string& value) {
  out += out.size() == 1 ? "\"" : ",\"";
  for (char c : value) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
}

// bytea in hex input format; COPY's own escaping then doubles the backslash.
void to_bytea_hex(const std::string& data, std::string& out) {
  static constexpr char hex[] = "0123456789abcdef";
  out.resize(2 + data.size() * 2);
  out[0] = '\\';
  out[1] = 'x';
  char* p = out.data() + 2;
  for (unsigned char b : data) {
    *p++ = hex[b >> 4];
    *p++ = hex[b & 0x0F];
  }
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

struct sample_writer::impl {
  impl(const std::string& url, writer_options opts)
      : session(url, {{insert_series_name, insert_series_sql}}), options(opts) {}

  // Inserts the rows of series not known to exist yet; returns how many were new.
  std::uint64_t insert_new_series(pqxx::work& tx, std::vector<std::uint64_t>& fresh) {
    std::unordered_set<std::uint64_t> seen;
    std::vector<const chunk_record*> rows;
    for (const chunk_record& c : buffer) {
      if (known.count(c.fingerprint) == 0 && seen.insert(c.fingerprint).second) rows.push_back(&c);
    }
    std::uint64_t inserted = 0;
    for (std::size_t begin = 0; begin < rows.size(); begin += series_batch_rows) {
      const std::size_t end = std::min(rows.size(), begin + series_batch_rows);
      std::string fingerprints = "{", metrics = "{", labels = "{";
      for (std::size_t i = begin; i < end; ++i) {
        if (i != begin) fingerprints += ',';
        fingerprints += std::to_string(to_signed(rows[i]->fingerprint));
        append_array_element(metrics, rows[i]->metric);
        append_array_element(labels, rows[i]->labels_json);
      }
      fingerprints += '}';
      metrics += '}';
      labels += '}';
      inserted +=
          tx.exec_prepared(insert_series_name, fingerprints, metrics, labels).affected_rows();
    }
    for (const chunk_record* c : rows) fresh.push_back(c->fingerprint);
    return inserted;
  }

  // One transaction: new series rows, then every buffered chunk through COPY.
  void write_buffer() {
    pqxx::work tx(session.connection());
    std::vector<std::uint64_t> fresh;
    const std::uint64_t inserted = insert_new_series(tx, fresh);
    std::uint64_t samples = 0;
    {
      pqxx::stream_to stream(tx, "sample_chunks", chunk_columns);
      std::string hex;
      for (const chunk_record& c : buffer) {
        const std::int64_t fingerprint = to_signed(c.fingerprint);
        to_bytea_hex(c.data, hex);
        stream << std::tie(fingerprint, c.min_t, c.max_t, c.count, hex);
        samples += c.count;
      }
      stream.complete();
    }
    tx.commit();

    // Committed: from here on nothing may fail, or the batch would be written twice.
    stats.new_series += inserted;
    stats.written_chunks += buffer.size();
    stats.written_samples += samples;
    buffer.clear();
    stats.buffered_bytes = 0;
    stats.buffered_chunks = 0;
    try {
      known.insert(fresh.begin(), fresh.end());
      if (known.size() > options.max_cached_series) known.clear();
    } catch (...) {
      known.clear();  // only a cache: the series rows exist either way
    }
    stats.cached_series = known.size();
  }

  void evict_oldest() {
    while (stats.buffered_bytes > options.max_buffer_bytes && !buffer.empty()) {
      const chunk_record& oldest = buffer.front();
      stats.buffered_bytes -= record_bytes(oldest);
      ++stats.dropped_chunks;
      stats.dropped_samples += oldest.count;
      buffer.pop_front();
    }
    stats.buffered_chunks = buffer.size();
  }

  detail::session session;
  writer_options options;
  std::deque<chunk_record> buffer;
  std::unordered_set<std::uint64_t> known;  // series rows known to exist
  writer_stats stats;
};

sample_writer::sample_writer(std::string url, writer_options options)
    : impl_(std::make_unique<impl>(url, options)) {}

sample_writer::~sample_writer() = default;
sample_writer::sample_writer(sample_writer&&) noexcept = default;
sample_writer& sample_writer::operator=(sample_writer&&) noexcept = default;

void sample_writer::enqueue(std::vector<chunk_record> chunks) noexcept {
  impl& s = *impl_;
  for (chunk_record& c : chunks) {
    try {
      std::string why = chunk_problem(c, s.known.count(c.fingerprint) != 0);
      if (!why.empty()) {
        ++s.stats.rejected_chunks;
        s.stats.last_rejection =
            "chunk of series " + std::to_string(c.fingerprint) + " rejected: " + why;
        continue;
      }
      const std::uint64_t bytes = record_bytes(c);
      s.buffer.push_back(std::move(c));
      s.stats.buffered_bytes += bytes;
    } catch (...) {
      // Out of memory: losing this chunk is the bounded-buffer policy applied early.
      ++s.stats.dropped_chunks;
      s.stats.dropped_samples += c.count;
    }
  }
  s.evict_oldest();
}

bool sample_writer::flush(std::string* error) noexcept {
  impl& s = *impl_;
  if (s.buffer.empty()) return true;
  const auto started = std::chrono::steady_clock::now();
  for (int attempt = 0;; ++attempt) {
    const bool reused = s.session.connected();
    detail::failure failed;
    try {
      s.write_buffer();
      s.stats.connected = true;
      s.stats.last_flush_seconds = seconds_since(started);
      return true;
    } catch (...) {
      // Whatever failed, a COPY may be half-sent: never reuse this connection.
      s.session.reset();
      try {
        failed = detail::classify(std::current_exception());
      } catch (...) {
        failed.retry_safe = false;
      }
    }
    // An idle connection killed by a server restart fails on first use; one fresh try.
    if (failed.retry_safe && reused && attempt == 0) continue;
    s.stats.connected = false;
    ++s.stats.failed_flushes;
    s.stats.last_flush_seconds = seconds_since(started);
    if (error) {
      try {
        const std::size_t n = s.buffer.size();
        *error = "cannot write " + std::to_string(n) + (n == 1 ? " chunk" : " chunks");
        // Connection failures already name the database.
        if (failed.message.find(s.session.display()) == std::string::npos) {
          *error += " to " + s.session.display();
        }
        *error += ": " + failed.message;
      } catch (...) {
        error->clear();
      }
    }
    return false;
  }
}

writer_stats sample_writer::stats() const { return impl_->stats; }

std::vector<stored_sample_series> load_chunks(const std::string& url, std::int64_t mint,
                                              std::int64_t maxt, std::size_t max_chunks) {
  if (max_chunks >= static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max())) {
    throw error("load_chunks: max_chunks is too large");
  }
  detail::session session(url, {{load_chunks_name, load_chunks_sql}});
  return session.run("cannot load chunks", [&](pqxx::connection& conn) {
    pqxx::read_transaction tx(conn);
    const pqxx::result rows =
        tx.exec_prepared(load_chunks_name, mint, maxt, static_cast<std::int64_t>(max_chunks) + 1);
    if (rows.size() > max_chunks) {
      throw error("more than " + std::to_string(max_chunks) + " chunks overlap [" +
                  std::to_string(mint) + ", " + std::to_string(maxt) + "]; narrow the range");
    }
    std::vector<stored_sample_series> out;
    for (const auto& row : rows) {
      const std::uint64_t fingerprint = to_unsigned(row[0].as<std::int64_t>());
      if (out.empty() || out.back().fingerprint != fingerprint) {
        out.push_back({fingerprint, row[1].as<std::string>(), row[2].as<std::string>(), {}});
      }
      const pqxx::binarystring data(row[4]);
      out.back().chunks.emplace_back(row[3].as<std::int64_t>(), data.str());
    }
    return out;
  });
}

}  // namespace wk::persistence
