// bench_persistence: sample_writer COPY throughput (120-sample chunks) and the CPU seconds
// PostgreSQL (postmaster and all its processes) and this client spend per million samples.
//   export WK_BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:55433/watchkeeper
//   bench_persistence [--series N] [--rounds R] [--chunk-bytes B]
// Runs in a scratch database on that server; also measures the schema without its indexes.

#include "persistence/migrations.hpp"
#include "persistence/sample_writer.hpp"
#include "tests/persistence/pg_test_support.hpp"

#include <dirent.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace wp = wk::persistence;

namespace {

constexpr std::uint32_t samples_per_chunk = 120;

struct settings {
  int series = 10000;
  int rounds = 20;
  int chunk_bytes = 180;  // ~1.4 bytes/sample, typical of Gorilla-style chunks
};

double process_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// utime+stime and parent pid from /proc/<pid>/stat; false when the process is gone.
bool read_stat(int pid, double& cpu_seconds, int& parent) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return false;
  const auto close = line.rfind(')');
  if (close == std::string::npos) return false;
  std::istringstream fields(line.substr(close + 2));
  std::string state;
  long long ppid = 0, skip = 0, utime = 0, stime = 0;
  fields >> state >> ppid;
  for (int i = 0; i < 9; ++i) fields >> skip;  // pgrp .. cmajflt
  fields >> utime >> stime;
  if (!fields) return false;
  parent = static_cast<int>(ppid);
  cpu_seconds = static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
  return true;
}

// CPU seconds of the postmaster and every process it forked (backends, WAL writer,
// checkpointer...), read from /proc.
double server_cpu_seconds(int postmaster) {
  double total = 0, cpu = 0;
  int parent = 0;
  if (read_stat(postmaster, cpu, parent)) total += cpu;
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return total;
  while (const dirent* entry = readdir(proc)) {
    const int pid = std::atoi(entry->d_name);
    if (pid > 0 && read_stat(pid, cpu, parent) && parent == postmaster) total += cpu;
  }
  closedir(proc);
  return total;
}

std::vector<wp::chunk_record> make_round(const settings& cfg, int round, std::mt19937_64& rng) {
  std::vector<wp::chunk_record> chunks;
  chunks.reserve(static_cast<std::size_t>(cfg.series));
  std::string data(static_cast<std::size_t>(cfg.chunk_bytes), '\0');
  for (int s = 0; s < cfg.series; ++s) {
    for (char& c : data) c = static_cast<char>(rng());
    wp::chunk_record c;
    c.fingerprint = 0x9E3779B97F4A7C15ull * static_cast<std::uint64_t>(s + 1);
    c.metric = "node_cpu_seconds_total";
    c.labels_json = R"({"instance":"host-)" + std::to_string(s / 100) +
                    R"(:9100","job":"node","cpu":")" + std::to_string(s % 100) +
                    R"(","mode":"user"})";
    c.min_t = static_cast<std::int64_t>(round) * 1'200'000;  // 120 samples at 10 s
    c.max_t = c.min_t + 1'190'000;
    c.count = samples_per_chunk;
    c.data = data;
    chunks.push_back(std::move(c));
  }
  return chunks;
}

struct phase_result {
  std::uint64_t chunks = 0;
  double wall = 0, client_cpu = 0, server_cpu = 0;
};

// `rounds` flushes of one chunk per series; times only enqueue + flush.
phase_result run_phase(wp::sample_writer& writer, const settings& cfg, int first_round, int rounds,
                       int postmaster, std::mt19937_64& rng) {
  phase_result result;
  for (int r = 0; r < rounds; ++r) {
    auto chunks = make_round(cfg, first_round + r, rng);
    const double server_before = server_cpu_seconds(postmaster);
    const double client_before = process_cpu_seconds();
    const auto start = std::chrono::steady_clock::now();
    writer.enqueue(std::move(chunks));
    std::string error;
    if (!writer.flush(&error)) {
      std::fprintf(stderr, "flush failed: %s\n", error.c_str());
      std::exit(1);
    }
    result.wall += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    result.client_cpu += process_cpu_seconds() - client_before;
    result.server_cpu += server_cpu_seconds(postmaster) - server_before;
    result.chunks += static_cast<std::uint64_t>(cfg.series);
  }
  return result;
}

void report(const char* name, const phase_result& r) {
  const double samples = static_cast<double>(r.chunks) * samples_per_chunk;
  std::printf(
      "%-28s %9.0f chunks/s %11.0f samples/s   CPU-s per M samples: server %.3f"
      " client %.3f total %.3f\n",
      name, static_cast<double>(r.chunks) / r.wall, samples / r.wall, r.server_cpu / samples * 1e6,
      r.client_cpu / samples * 1e6, (r.server_cpu + r.client_cpu) / samples * 1e6);
}

}  // namespace

int main(int argc, char** argv) {
  settings cfg;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const int value = std::atoi(argv[i + 1]);
    if (value <= 0) {
      std::fprintf(stderr, "bad value for %s\n", flag.c_str());
      return 2;
    }
    if (flag == "--series")
      cfg.series = value;
    else if (flag == "--rounds")
      cfg.rounds = value;
    else if (flag == "--chunk-bytes")
      cfg.chunk_bytes = value;
    else {
      std::fprintf(stderr, "unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  const char* server = std::getenv("WK_BENCH_DATABASE_URL");
  if (server == nullptr || *server == '\0') {
    std::fprintf(stderr,
                 "WK_BENCH_DATABASE_URL is not set (a local PostgreSQL, e.g. from "
                 "scripts/pg_cluster.sh start DIR PORT)\n");
    return 2;
  }

  try {
    const wp::test::scratch_database db{std::string(server)};
    wp::apply_migrations(db.url());
    wp::test::sql_client sql(db.url());
    const int backend = std::stoi(sql.scalar("SELECT pg_backend_pid()"));
    double unused = 0;
    int postmaster = 0;
    if (!read_stat(backend, unused, postmaster)) {
      std::fprintf(stderr, "cannot read /proc/%d/stat: is the server on this machine?\n", backend);
      return 1;
    }
    std::printf(
        "server: fsync=%s synchronous_commit=%s; %d series x %d rounds, %d-byte chunks "
        "of %u samples\n",
        sql.scalar("SHOW fsync").c_str(), sql.scalar("SHOW synchronous_commit").c_str(), cfg.series,
        cfg.rounds, cfg.chunk_bytes, samples_per_chunk);

    std::mt19937_64 rng(42);
    wp::sample_writer writer(db.url(), {});
    const phase_result first = run_phase(writer, cfg, 0, 1, postmaster, rng);
    std::printf("%-28s %9.0f series/s (first flush: series rows + chunks)\n", "new series",
                cfg.series / first.wall);

    report("brin(min_t) + btree", run_phase(writer, cfg, 1, cfg.rounds, postmaster, rng));
    sql.exec("DROP INDEX sample_chunks_fingerprint_min_t");
    report("brin(min_t) only", run_phase(writer, cfg, 1 + cfg.rounds, cfg.rounds, postmaster, rng));
    sql.exec("DROP INDEX sample_chunks_min_t_brin");
    report("no index", run_phase(writer, cfg, 1 + 2 * cfg.rounds, cfg.rounds, postmaster, rng));
    std::printf(
        "table size: %s for %s chunks\n",
        sql.scalar("SELECT pg_size_pretty(pg_total_relation_size('sample_chunks'))").c_str(),
        sql.scalar("SELECT count(*) FROM sample_chunks").c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_persistence: %s\n", e.what());
    return 1;
  }
  return 0;
}
