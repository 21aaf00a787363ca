// bench_incident_store: durable incident writes per second through incident_store::commit.
// One write is one transition: the incident row (open, then acknowledge against the expected
// version), its alert, 1 timeline entry and 2 outbox rows, committed with
// synchronous_commit = on (set on the scratch database, whatever the server default).
//   export WK_BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:55433/watchkeeper
//   bench_incident_store [--seconds S] [--threads N]... [--batch B]...
// Default: 5 s each for 1 and 4 threads, one change per commit (commit) and 32 changes per
// commit (commit_batch: the changes share one WAL flush). Run against a server with fsync
// on for figures that mean "durable".

#include "persistence/error.hpp"
#include "persistence/incident_store.hpp"
#include "persistence/migrations.hpp"
#include "tests/persistence/pg_test_support.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace wp = wk::persistence;
namespace wi = wk::incidents;
using steady = std::chrono::steady_clock;

namespace {

struct run_result {
  std::size_t writes = 0;
  double seconds = 0;
  std::vector<double> latencies_ms;  // every commit's
  std::size_t errors = 0;
};

wp::incident_change transition(std::int64_t id, bool acknowledge, std::int64_t now_ms) {
  wp::incident_change c;
  auto& i = c.incident;
  i.id = id;
  i.group_key = "svc-" + std::to_string(id);
  i.service = i.group_key;
  i.title = i.service + " is down";
  i.severity = "critical";
  i.opened_at_ms = now_ms;
  i.updated_at_ms = now_ms;
  i.notified_receivers = {"ops-slack", "pd"};
  wi::incident_alert a;
  a.fingerprint = "fp-" + std::to_string(id);
  a.alertname = "ServiceDown";
  a.service = i.service;
  a.labels = {{"alertname", "ServiceDown"}, {"service", i.service}, {"instance", "10.0.0.1:9100"}};
  a.annotations = {{"summary", i.service + " is not answering its health check"}};
  a.value = 1;
  a.starts_at_ms = now_ms;
  i.alerts = {a};
  const std::string transition = acknowledge ? "acknowledged" : "triggered";
  if (acknowledge) {
    i.state = wi::status::acknowledged;
    i.acknowledged_at_ms = now_ms;
    i.acknowledged_by = "alice";
    i.version = 2;
    c.expect_version = 1;
  } else {
    i.version = 1;
    c.expect_version = 0;
  }
  c.timeline = {{id, now_ms, transition == "triggered" ? "opened" : "acknowledged", "system",
                 i.title, {{"fingerprint", a.fingerprint}}}};
  for (const char* receiver : {"ops-slack", "pd"}) {
    wp::outbox_entry o;
    o.receiver = receiver;
    o.channel = std::strcmp(receiver, "pd") == 0 ? "pagerduty" : "slack";
    o.transition = transition;
    o.dedup_key = std::to_string(id) + ":" + receiver + ":" + transition + ":0";
    o.delivery_key = std::to_string(id) + ":" + transition + ":0";
    o.target = "https://hooks.example.com/services/T000/B000/XXXX";
    o.body = std::string(600, 'x');  // about a rendered Slack message
    o.created_ms = now_ms;
    o.next_attempt_ms = now_ms;
    c.outbox.push_back(std::move(o));
  }
  return c;
}

std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// `threads` writers, each with its own store and its own id range, for `seconds`, committing
// `batch` changes at a time. Latency is per commit call.
run_result run(const std::string& url, int threads, int batch, double seconds,
               std::int64_t first_id) {
  std::vector<run_result> per_thread(static_cast<std::size_t>(threads));
  std::atomic<bool> go{false};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      auto& r = per_thread[static_cast<std::size_t>(t)];
      try {
        wp::incident_store store(url);
        store.max_id();  // connect and prepare before the clock starts
        while (!go.load()) std::this_thread::yield();
        const auto start = steady::now();
        const auto until = start + std::chrono::duration<double>(seconds);
        std::int64_t id = first_id + static_cast<std::int64_t>(t) * 100'000'000;
        std::size_t n = 0;
        std::vector<wp::incident_change> changes;
        while (steady::now() < until) {
          changes.clear();
          for (int b = 0; b < batch; ++b, ++n) {
            const bool acknowledge = n % 2 == 1;
            if (!acknowledge) ++id;
            changes.push_back(transition(id, acknowledge, wall_ms()));
          }
          const auto before = steady::now();
          try {
            if (batch == 1) {
              store.commit(changes.front());
              ++r.writes;
            } else {
              for (const auto& result : store.commit_batch(changes)) {
                if (result.state == wp::commit_result::status::committed) {
                  ++r.writes;
                } else if (r.errors++ == 0) {
                  std::fprintf(stderr, "change refused: %s\n", result.message.c_str());
                }
              }
            }
          } catch (const wp::error& e) {
            if (r.errors++ == 0) std::fprintf(stderr, "commit failed: %s\n", e.what());
          }
          r.latencies_ms.push_back(
              std::chrono::duration<double, std::milli>(steady::now() - before).count());
        }
        r.seconds = std::chrono::duration<double>(steady::now() - start).count();
      } catch (const std::exception& e) {
        std::fprintf(stderr, "writer %d: %s\n", t, e.what());
        ++r.errors;
      }
    });
  }
  go = true;
  for (auto& th : pool) th.join();
  run_result total;
  for (auto& r : per_thread) {
    total.writes += r.writes;
    total.errors += r.errors;
    total.seconds = std::max(total.seconds, r.seconds);
    total.latencies_ms.insert(total.latencies_ms.end(), r.latencies_ms.begin(),
                              r.latencies_ms.end());
  }
  std::sort(total.latencies_ms.begin(), total.latencies_ms.end());
  return total;
}

double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  const auto index = static_cast<std::size_t>(p * static_cast<double>(sorted.size() - 1));
  return sorted[index];
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 5;
  std::vector<int> thread_counts, batches;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--seconds" && i + 1 < argc) {
      seconds = std::atof(argv[++i]);
    } else if (arg == "--threads" && i + 1 < argc) {
      thread_counts.push_back(std::atoi(argv[++i]));
    } else if (arg == "--batch" && i + 1 < argc) {
      batches.push_back(std::atoi(argv[++i]));
    } else {
      std::fprintf(stderr, "usage: %s [--seconds S] [--threads N]... [--batch B]...\n", argv[0]);
      return 2;
    }
  }
  if (thread_counts.empty()) thread_counts = {1, 4};
  if (batches.empty()) batches = {1, 32};
  const auto outside = [](const std::vector<int>& v, int max) {
    return std::any_of(v.begin(), v.end(), [&](int n) { return n < 1 || n > max; });
  };
  if (!(seconds > 0) || outside(thread_counts, 64) ||
      outside(batches, static_cast<int>(wp::incident_store::max_batch))) {
    std::fprintf(stderr, "--seconds must be positive, --threads within 1..64, --batch 1..1000\n");
    return 2;
  }
  const char* server = std::getenv("WK_BENCH_DATABASE_URL");
  if (server == nullptr || *server == '\0') server = std::getenv("WK_TEST_DATABASE_URL");
  if (server == nullptr || *server == '\0') {
    std::fprintf(stderr, "set WK_BENCH_DATABASE_URL (or WK_TEST_DATABASE_URL)\n");
    return 2;
  }
  try {
    const wp::test::scratch_database db{std::string(server)};
    wp::apply_migrations(db.url());
    wp::test::sql_client(server).exec("ALTER DATABASE " + db.name() +
                                      " SET synchronous_commit = on");
    wp::test::sql_client sql(db.url());
    std::printf("server: fsync=%s synchronous_commit=%s (in the scratch database)\n",
                sql.scalar("SHOW fsync").c_str(), sql.scalar("SHOW synchronous_commit").c_str());
    if (sql.scalar("SHOW fsync") != "on")
      std::printf("warning: fsync is off on this server: the figures are not durable writes\n");
    std::printf("one write = incident row + 1 alert + 1 timeline entry + 2 outbox rows "
                "(open, then acknowledge with expect_version)\n");
    std::int64_t first_id = 1;
    for (int batch : batches) {
      for (int threads : thread_counts) {
        const run_result r = run(db.url(), threads, batch, seconds, first_id);
        first_id += 100'000'000LL * threads;
        std::printf("threads=%d batch=%d writes=%zu errors=%zu seconds=%.2f writes/s=%.0f "
                    "commit_latency_ms p50=%.2f p99=%.2f max=%.2f\n",
                    threads, batch, r.writes, r.errors, r.seconds,
                    r.seconds > 0 ? static_cast<double>(r.writes) / r.seconds : 0.0,
                    percentile(r.latencies_ms, 0.50), percentile(r.latencies_ms, 0.99),
                    r.latencies_ms.empty() ? 0.0 : r.latencies_ms.back());
        if (r.errors != 0) return 1;
      }
    }
    std::printf("rows: incidents=%s timeline=%s outbox=%s\n",
                sql.scalar("SELECT count(*) FROM incidents").c_str(),
                sql.scalar("SELECT count(*) FROM incident_timeline").c_str(),
                sql.scalar("SELECT count(*) FROM notification_outbox").c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_incident_store: %s\n", e.what());
    return 1;
  }
  return 0;
}
