#include <doctest/doctest.h>

#include <cmath>

#include "tsdb/head.hpp"
#include "tsdb/matcher.hpp"
#include "tsdb/sample.hpp"
#include "watch/scrape_ingester.hpp"

using namespace wk;

namespace {

watch::scrape_target target(std::uint64_t limit = 0, bool honor = false) {
  watch::scrape_target t;
  t.labels = {{"instance", "h:1"}, {"job", "api"}, {"service", "api"}};
  t.sample_limit = limit;
  t.honor_labels = honor;
  return t;
}

std::vector<tsdb::series_data> select_name(tsdb::head& h, const std::string& name) {
  return h.select({tsdb::matcher("__name__", tsdb::match_op::equal, name)}, 0, 1LL << 50);
}

}  // namespace

TEST_CASE("samples land with target labels; explicit timestamps are honoured") {
  tsdb::head h;
  watch::scrape_ingester ing(h, target());
  auto out = ing.ingest("a{x=\"1\"} 5\nb 7 1234\n", "text/plain; version=0.0.4", 1000);
  REQUIRE(out.ok);
  CHECK(out.samples_scraped == 2);
  CHECK(out.series_added == 2);
  auto a = select_name(h, "a");
  REQUIRE(a.size() == 1);
  CHECK(a[0].labels.get("service") == "api");
  CHECK(a[0].labels.get("job") == "api");
  CHECK(a[0].labels.get("instance") == "h:1");
  CHECK(a[0].labels.get("x") == "1");
  REQUIRE(a[0].samples.size() == 1);
  CHECK(a[0].samples[0].t == 1000);
  CHECK(a[0].samples[0].v == 5);
  auto b = select_name(h, "b");
  REQUIRE(b.size() == 1);
  CHECK(b[0].samples[0].t == 1234);
}

TEST_CASE("conflicting labels become exported_ unless honor_labels") {
  tsdb::head h;
  watch::scrape_ingester plain(h, target());
  REQUIRE(plain.ingest("m{job=\"other\"} 1\n", "", 1000).ok);
  auto m = select_name(h, "m");
  REQUIRE(m.size() == 1);
  CHECK(m[0].labels.get("job") == "api");
  CHECK(m[0].labels.get("exported_job") == "other");

  tsdb::head h2;
  watch::scrape_ingester honor(h2, target(0, true));
  REQUIRE(honor.ingest("m{job=\"other\"} 1\n", "", 1000).ok);
  auto m2 = select_name(h2, "m");
  REQUIRE(m2.size() == 1);
  CHECK(m2[0].labels.get("job") == "other");
  CHECK(m2[0].labels.get("exported_job") == "");
}

TEST_CASE("a malformed body or a sample_limit breach appends nothing") {
  tsdb::head h;
  watch::scrape_ingester ing(h, target(2));
  auto bad = ing.ingest("ok 1\nbroken{ 2\n", "", 1000);
  CHECK_FALSE(bad.ok);
  CHECK(bad.error.find("line 2") != std::string::npos);
  for (const auto& s : select_name(h, "ok"))
    CHECK(s.samples.empty());
  auto over = ing.ingest("a 1\nb 2\nc 3\n", "", 2000);
  CHECK_FALSE(over.ok);
  CHECK(over.error.find("sample_limit") == 0);
  for (const auto& s : select_name(h, "a"))
    CHECK(s.samples.empty());
}

TEST_CASE("series that vanish get a staleness marker; a failed scrape marks all stale") {
  tsdb::head h;
  watch::scrape_ingester ing(h, target());
  REQUIRE(ing.ingest("a 1\nb 2\n", "", 1000).ok);
  REQUIRE(ing.ingest("a 1\n", "", 2000).ok);
  auto b = select_name(h, "b");
  REQUIRE(b.size() == 1);
  REQUIRE(b[0].samples.size() == 2);
  CHECK(tsdb::is_stale_nan(b[0].samples[1].v));
  CHECK(b[0].samples[1].t == 2000);
  ing.mark_all_stale(3000);
  auto a = select_name(h, "a");
  REQUIRE(a[0].samples.size() == 3);
  CHECK(tsdb::is_stale_nan(a[0].samples[2].v));
}

TEST_CASE("the report writes up, duration, samples and series added") {
  tsdb::head h;
  watch::scrape_ingester ing(h, target());
  auto out = ing.ingest("a 1\nb 2\n", "", 1000);
  ing.write_report(out, 0.25, 1000);
  auto up = select_name(h, "up");
  REQUIRE(up.size() == 1);
  CHECK(up[0].samples[0].v == 1);
  CHECK(up[0].labels.get("service") == "api");
  CHECK(select_name(h, "scrape_duration_seconds")[0].samples[0].v == 0.25);
  CHECK(select_name(h, "scrape_samples_scraped")[0].samples[0].v == 2);
  CHECK(select_name(h, "scrape_series_added")[0].samples[0].v == 2);
  watch::scrape_outcome failed;
  ing.write_report(failed, 1.5, 2000);
  CHECK(select_name(h, "up")[0].samples[1].v == 0);
}

TEST_CASE("OpenMetrics bodies are recognised by content type") {
  tsdb::head h;
  watch::scrape_ingester ing(h, target());
  auto out = ing.ingest("# TYPE c counter\nc_total 3 1.5\n# EOF\n",
                        "application/openmetrics-text; version=1.0.0; charset=utf-8", 1000);
  REQUIRE(out.ok);
  auto c = select_name(h, "c_total");
  REQUIRE(c.size() == 1);
  CHECK(c[0].samples[0].t == 1500);
}

TEST_CASE("the scrape cache maps a target's series to the same head series every scrape") {
  tsdb::head h;
  watch::scrape_ingester ing(h, target());
  for (int i = 0; i < 5; ++i) {
    auto out = ing.ingest("a{x=\"1\"} 1\na{x=\"2\"} 2\n", "", 1000 * (i + 1));
    REQUIRE(out.ok);
    CHECK(out.series_added == (i == 0 ? 2 : 0));
  }
  auto a = select_name(h, "a");
  REQUIRE(a.size() == 2);
  CHECK(a[0].samples.size() == 5);
  CHECK(h.stats().series == 2);
  // A series that comes back after retention dropped it is created again, not lost for good.
  REQUIRE(ing.ingest("b 1\n", "", 6000).ok);
  h.gc(6000 + 3 * 3600 * 1000);
  h.gc(6000 + 3 * 3600 * 1000);
  CHECK(select_name(h, "a").empty());
  REQUIRE(ing.ingest("a{x=\"1\"} 7\n", "", 6000 + 3 * 3600 * 1000 + 1).ok);
  REQUIRE(ing.ingest("a{x=\"1\"} 8\n", "", 6000 + 3 * 3600 * 1000 + 2).ok);
  auto back = select_name(h, "a");
  REQUIRE(back.size() == 1);
  CHECK(back[0].samples.back().v == 8);
}
