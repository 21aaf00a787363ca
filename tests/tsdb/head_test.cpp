#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "tsdb/head.hpp"
#include "tsdb/xor_chunk.hpp"

using namespace wk::tsdb;

namespace {

constexpr std::int64_t t0 = 1'700'000'000'000;

std::vector<std::string> values_of(const std::vector<series_data>& result, std::string_view label) {
  std::vector<std::string> out;
  for (const auto& s : result) out.emplace_back(s.labels.get(label));
  return out;
}

std::vector<std::string> names_of(const std::vector<label_set>& result, std::string_view label) {
  std::vector<std::string> out;
  for (const auto& s : result) out.emplace_back(s.get(label));
  return out;
}

// Five series of one metric with assorted labels, one sample each at t0.
struct fixture {
  head h;
  fixture() : h(head_options{}) {
    add("a", {{"env", "prod"}, {"code", "200"}});
    add("b", {{"env", "prod"}, {"code", "500"}});
    add("c", {{"env", "staging"}, {"code", "200"}});
    add("d", {{"env", "dev"}});
    add("e", {});
  }
  void add(std::string_view id, std::vector<label_view> labels) {
    labels.emplace_back("id", id);
    series_ref ref = h.get_or_create("requests_total", labels);
    REQUIRE(h.append(ref, t0, 1.0) == append_status::ok);
  }
  // Sorted ids of the matches (the result itself is ordered by the full label sets).
  std::vector<std::string> ids(const std::vector<matcher>& ms) {
    auto out = values_of(h.select(ms, t0, t0), "id");
    std::sort(out.begin(), out.end());
    return out;
  }
};

using strings = std::vector<std::string>;

}  // namespace

TEST_CASE("head: options are validated") {
  CHECK_THROWS_AS(head(head_options{0, 16, 120}), std::invalid_argument);
  CHECK_THROWS_AS(head(head_options{1000, 0, 120}), std::invalid_argument);
  CHECK_THROWS_AS(head(head_options{1000, 257, 120}), std::invalid_argument);
  CHECK_THROWS_AS(head(head_options{1000, 4, 0}), std::invalid_argument);
  CHECK_THROWS_AS(head(head_options{1000, 4, 65536}), std::invalid_argument);
  CHECK_NOTHROW(head(head_options{1000, 256, 65535}));
}

TEST_CASE("head: get_or_create finds a series whatever the label order") {
  head h;
  bool created = false;
  series_ref a = h.get_or_create("up", {{"job", "node"}, {"instance", "h1:9100"}}, &created);
  CHECK(created);
  series_ref b = h.get_or_create("up", {{"instance", "h1:9100"}, {"job", "node"}}, &created);
  CHECK_FALSE(created);
  CHECK(a == b);
  CHECK(h.get_or_create(label_set(std::vector<label>{{"__name__", "up"}, {"instance", "h1:9100"}, {"job", "node"}})) == a);
  // An empty value is no label at all.
  CHECK(h.get_or_create("up", {{"job", "node"}, {"instance", "h1:9100"}, {"zone", ""}}) == a);
  series_ref c = h.get_or_create("up", {{"job", "node"}, {"instance", "h2:9100"}}, &created);
  CHECK(created);
  CHECK(c != a);
  CHECK(h.stats().series == 2);
}

TEST_CASE("head: get_or_create rejects bad label sets") {
  head h;
  CHECK_THROWS_AS(h.get_or_create("up", {{"job", "a"}, {"job", "b"}}), std::invalid_argument);
  CHECK_THROWS_AS(h.get_or_create("up", {{"__name__", "x"}}), std::invalid_argument);
  CHECK_THROWS_AS(h.get_or_create("", {}), std::invalid_argument);
  CHECK_THROWS_AS(h.get_or_create("", {{"job", ""}}), std::invalid_argument);
  CHECK_THROWS_AS(h.get_or_create("up", {{"", "x"}}), std::invalid_argument);
  std::vector<std::string> names;
  for (int i = 0; i < 65536; ++i) names.push_back("l" + std::to_string(i));
  std::vector<label_view> many;
  for (const auto& n : names) many.emplace_back(n, "v");
  CHECK_THROWS_AS(h.get_or_create("up", many), std::invalid_argument);
  CHECK(h.stats().series == 0);
  CHECK(h.stats().symbols == 0);
}

TEST_CASE("head: big label values and many labels are stored intact") {
  head h;
  std::string big(1 << 20, 'x');
  big[12345] = '"';
  std::vector<std::string> names;
  std::vector<label_view> labels{{"big", big}};
  for (int i = 0; i < 1000; ++i) names.push_back("label_" + std::to_string(i));
  for (const auto& n : names) labels.emplace_back(n, n);
  series_ref r = h.get_or_create("wide", labels);
  CHECK(h.get_or_create("wide", labels) == r);
  REQUIRE(h.append(r, t0, 1.0) == append_status::ok);
  auto result = h.select({matcher("big", match_op::regex, "x+\"x+")}, t0, t0);
  REQUIRE(result.size() == 1);
  CHECK(result[0].labels.get("big") == big);
  CHECK(result[0].labels.size() == 1002);
  CHECK(result[0].labels.get("label_999") == "label_999");
}

TEST_CASE("head: append rules") {
  head h;
  series_ref r = h.get_or_create("temp", {{"room", "a"}});
  CHECK(h.append(r, 1000, 20.5) == append_status::ok);
  CHECK(h.append(r, 1000, 20.5) == append_status::duplicate);
  CHECK(h.append(r, 1000, 21.0) == append_status::out_of_order);
  CHECK(h.append(r, 999, 20.5) == append_status::out_of_order);
  CHECK(h.append(r, 2000, stale_nan()) == append_status::ok);
  CHECK(h.append(r, 2000, stale_nan()) == append_status::duplicate);
  CHECK(h.append(r, 2000, std::nan("")) == append_status::out_of_order);  // another NaN is another value
  CHECK(h.append(r, 3000, -0.0) == append_status::ok);
  CHECK(h.append(r, 3000, 0.0) == append_status::out_of_order);
  CHECK(h.append(0xffffffffffffffffULL, 1, 1.0) == append_status::unknown_series);
  CHECK(h.append(r + 1, 4000, 1.0) == append_status::unknown_series);
  auto result = h.select({matcher("room", match_op::equal, "a")}, 0, 10000);
  REQUIRE(result.size() == 1);
  REQUIRE(result[0].samples.size() == 3);
  CHECK(is_stale_nan(result[0].samples[1].v));
  CHECK(std::signbit(result[0].samples[2].v));
  CHECK(h.stats().samples == 3);
}

TEST_CASE("head: select with the four matcher kinds") {
  fixture f;
  using m = matcher;
  CHECK(f.ids({m("env", match_op::equal, "prod")}) == strings{"a", "b"});
  CHECK(f.ids({m("env", match_op::not_equal, "prod")}) == strings{"c", "d", "e"});
  CHECK(f.ids({m("env", match_op::regex, "prod|dev")}) == strings{"a", "b", "d"});
  CHECK(f.ids({m("env", match_op::regex, "pro.*|stag[a-z]+")}) == strings{"a", "b", "c"});
  CHECK(f.ids({m("env", match_op::not_regex, "prod|dev")}) == strings{"c", "e"});
  CHECK(f.ids({m("env", match_op::not_regex, "s.*")}) == strings{"a", "b", "d", "e"});
  // Empty values stand for "label absent".
  CHECK(f.ids({m("code", match_op::equal, "")}) == strings{"d", "e"});
  CHECK(f.ids({m("code", match_op::not_equal, "")}) == strings{"a", "b", "c"});
  CHECK(f.ids({m("code", match_op::regex, "200|")}) == strings{"a", "c", "d", "e"});
  CHECK(f.ids({m("code", match_op::regex, ".+")}) == strings{"a", "b", "c"});
  CHECK(f.ids({m("code", match_op::regex, ".*")}) == strings{"a", "b", "c", "d", "e"});
  CHECK(f.ids({m("nosuch", match_op::equal, "")}).size() == 5);
  CHECK(f.ids({m("nosuch", match_op::equal, "x")}).empty());
  CHECK(f.ids({m("env", match_op::equal, "nosuch")}).empty());
  CHECK(f.ids({m("env", match_op::not_equal, "nosuch")}).size() == 5);
  // Several matchers intersect.
  CHECK(f.ids({m("__name__", match_op::equal, "requests_total"), m("env", match_op::equal, "prod"),
               m("code", match_op::not_equal, "500")}) == strings{"a"});
  CHECK(f.ids({m("env", match_op::regex, "prod|staging"), m("code", match_op::regex, "2..")}) == strings{"a", "c"});
  CHECK(f.ids({m("env", match_op::equal, "prod"), m("env", match_op::equal, "dev")}).empty());
  CHECK(f.ids({}).size() == 5);
  // Ordered by label sets, pairwise by name then value: "code" sorts before "env".
  CHECK(values_of(f.h.select({m("__name__", match_op::equal, "requests_total")}, t0, t0), "id") ==
        strings{"a", "c", "b", "d", "e"});
  auto result = f.h.select({m("id", match_op::equal, "a")}, t0, t0);
  REQUIRE(result.size() == 1);
  CHECK(result[0].labels.to_string() == R"(requests_total{code="200",env="prod",id="a"})");
}

TEST_CASE("head: results are sorted by labels and samples ascending across chunks") {
  head h(head_options{3'600'000, 4, 5});
  std::vector<series_ref> refs;
  for (int i = 9; i >= 0; --i) refs.push_back(h.get_or_create("m", {{"i", std::to_string(i)}}));
  for (int k = 0; k < 23; ++k) {
    for (auto r : refs) REQUIRE(h.append(r, t0 + k * 10'000, k) == append_status::ok);
  }
  auto all = h.select({matcher("__name__", match_op::equal, "m")}, t0, t0 + 22 * 10'000);
  REQUIRE(all.size() == 10);
  for (std::size_t i = 0; i < all.size(); ++i) {
    CHECK(all[i].labels.get("i") == std::to_string(i));
    REQUIRE(all[i].samples.size() == 23);
    for (int k = 0; k < 23; ++k) CHECK(all[i].samples[k].v == k);
  }
  // Inclusive bounds that cut through chunks of five samples.
  auto mid = h.select({matcher("i", match_op::equal, "3")}, t0 + 40'000, t0 + 120'000);
  REQUIRE(mid.size() == 1);
  REQUIRE(mid[0].samples.size() == 9);
  CHECK(mid[0].samples.front().t == t0 + 40'000);
  CHECK(mid[0].samples.back().t == t0 + 120'000);
  CHECK(h.select({matcher("i", match_op::equal, "3")}, t0 + 1, t0 + 9'999).empty());
  CHECK(h.select({matcher("i", match_op::equal, "3")}, t0 + 10, t0).empty());
  CHECK(h.select({matcher("i", match_op::equal, "3")}, t0 + 220'000, t0 + 999'999)[0].samples.size() == 1);
}

TEST_CASE("head: series, label names and label values") {
  fixture f;
  auto prod = f.h.series({matcher("env", match_op::equal, "prod")});
  CHECK(names_of(prod, "id") == strings{"a", "b"});
  CHECK(f.h.label_names() == strings{"__name__", "code", "env", "id"});
  CHECK(f.h.label_values("env") == strings{"dev", "prod", "staging"});
  CHECK(f.h.label_values("nosuch").empty());
  // A series without samples is still a series.
  f.h.get_or_create("requests_total", {{"id", "f"}});
  CHECK(f.h.series({matcher("id", match_op::equal, "f")}).size() == 1);
  CHECK(f.h.select({matcher("id", match_op::equal, "f")}, 0, t0 * 2).empty());
}

TEST_CASE("head: gc drops old chunks, then empty series, and refuses old samples") {
  head h(head_options{60'000, 2, 4});
  series_ref old_series = h.get_or_create("m", {{"s", "old"}});
  series_ref live = h.get_or_create("m", {{"s", "live"}});
  for (int k = 0; k < 12; ++k) {
    REQUIRE(h.append(old_series, t0 + k * 1000, k) == append_status::ok);
    REQUIRE(h.append(live, t0 + k * 10'000, k) == append_status::ok);
  }
  std::size_t symbols_before = h.stats().symbols;
  // Cutoff t0 + 40s: "old" ends at t0 + 11s, "live" keeps chunks ending at or after the cutoff.
  CHECK(h.gc(t0 + 100'000) == 1);
  CHECK(h.append(old_series, t0 + 200'000, 1.0) == append_status::unknown_series);
  CHECK(h.stats().series == 1);
  CHECK(h.stats().symbols == symbols_before - 1);
  CHECK(h.label_values("s") == strings{"live"});
  auto left = h.select({matcher("s", match_op::equal, "live")}, 0, t0 * 2);
  REQUIRE(left.size() == 1);
  // Chunks of four: [0..3] ends at 30s < 40s and goes; [4..7] ends at 70s and stays.
  CHECK(left[0].samples.front().t == t0 + 40'000);
  CHECK(left[0].samples.size() == 8);
  CHECK(h.stats().samples == 8);
  CHECK(h.append(live, t0 + 39'999, 1.0) == append_status::too_old);
  CHECK(h.append(live, t0 + 120'000, 1.0) == append_status::ok);
  // Re-creating a dropped series gives a working ref.
  series_ref again = h.get_or_create("m", {{"s", "old"}});
  CHECK(again != old_series);
  CHECK(h.append(again, t0 + 120'000, 2.0) == append_status::ok);
}

TEST_CASE("head: gc dropping a few or most series keeps the rest reachable") {
  // Dropping 10 of 100 removes series one by one; dropping 88 of 100 rebuilds the maps.
  for (int keep_every : {10, 9}) {
    head h(head_options{60'000, 1, 120});
    std::vector<series_ref> refs;
    for (int i = 0; i < 100; ++i) {
      refs.push_back(h.get_or_create("m", {{"i", std::to_string(i)}}));
      bool stays = keep_every == 10 ? i % 10 != 0 : i % 9 == 0;
      REQUIRE(h.append(refs[i], stays ? t0 : t0 - 100'000, 1.0) == append_status::ok);
    }
    std::size_t kept = keep_every == 10 ? 90 : 12;
    CHECK(h.gc(t0) == 100 - kept);
    CHECK(h.stats().series == kept);
    CHECK(h.series({matcher("__name__", match_op::equal, "m")}).size() == kept);
    for (int i = 0; i < 100; ++i) {
      bool stays = keep_every == 10 ? i % 10 != 0 : i % 9 == 0;
      CHECK(h.append(refs[i], t0 + 1, 2.0) == (stays ? append_status::ok : append_status::unknown_series));
      bool created = false;
      h.get_or_create("m", {{"i", std::to_string(i)}}, &created);
      CHECK(created == !stays);
    }
  }
}

TEST_CASE("head: a series never written survives one gc, not two") {
  head h(head_options{60'000, 1, 120});
  series_ref r = h.get_or_create("m", {{"s", "idle"}});
  CHECK(h.gc(t0) == 0);
  CHECK(h.gc(t0) == 1);
  CHECK(h.append(r, t0, 1.0) == append_status::unknown_series);
  series_ref r2 = h.get_or_create("m", {{"s", "idle"}});
  CHECK(h.gc(t0) == 0);
  CHECK(h.append(r2, t0, 1.0) == append_status::ok);
  CHECK(h.gc(t0) == 0);
  CHECK(h.stats().series == 1);
}

TEST_CASE("head: collect_unflushed hands out each sample exactly once") {
  head h(head_options{3'600'000, 4, 5});
  series_ref a = h.get_or_create("m", {{"s", "a"}});
  series_ref b = h.get_or_create("m", {{"s", "b"}});
  h.get_or_create("m", {{"s", "empty"}});
  for (int k = 0; k < 12; ++k) REQUIRE(h.append(a, t0 + k, k) == append_status::ok);
  REQUIRE(h.append(b, t0, stale_nan()) == append_status::ok);

  auto first = h.collect_unflushed();
  REQUIRE(first.size() == 2);
  std::size_t total = 0;
  for (const auto& c : first) {
    std::vector<sample> samples;
    REQUIRE(xor_chunk::decode(c.data, samples));
    CHECK(samples.size() == c.count);
    CHECK(samples.front().t == c.min_t);
    CHECK(samples.back().t == c.max_t);
    CHECK(c.fingerprint == c.labels.fingerprint());
    if (c.labels.get("s") == "a") {
      CHECK(c.count == 12);
      for (int k = 0; k < 12; ++k) CHECK(samples[k].v == k);
    } else {
      CHECK(is_stale_nan(samples[0].v));
    }
    total += c.count;
  }
  CHECK(total == 13);
  CHECK(h.collect_unflushed().empty());

  for (int k = 12; k < 15; ++k) REQUIRE(h.append(a, t0 + k, k) == append_status::ok);
  auto second = h.collect_unflushed();
  REQUIRE(second.size() == 1);
  CHECK(second[0].count == 3);
  CHECK(second[0].min_t == t0 + 12);
  CHECK(second[0].max_t == t0 + 14);
  CHECK(h.collect_unflushed().empty());
}

TEST_CASE("head: collect_unflushed after gc hands out what retention kept") {
  head h(head_options{60'000, 1, 4});
  series_ref r = h.get_or_create("m", {{"s", "a"}});
  for (int k = 0; k < 10; ++k) REQUIRE(h.append(r, t0 + k * 10'000, k) == append_status::ok);
  // Cutoff t0 + 40s drops the first chunk [0s..30s]; its samples were never collected.
  REQUIRE(h.gc(t0 + 100'000) == 0);
  auto chunks = h.collect_unflushed();
  REQUIRE(chunks.size() == 1);
  CHECK(chunks[0].count == 6);
  CHECK(chunks[0].min_t == t0 + 40'000);
  CHECK(chunks[0].max_t == t0 + 90'000);
  CHECK(h.collect_unflushed().empty());
}

TEST_CASE("head: collect_unflushed splits more than 65535 samples into several chunks") {
  head h(head_options{1LL << 40, 1, 120});
  series_ref r = h.get_or_create("m", {{"s", "busy"}});
  for (std::int64_t k = 0; k < 70000; ++k) REQUIRE(h.append(r, k, static_cast<double>(k)) == append_status::ok);
  auto chunks = h.collect_unflushed();
  REQUIRE(chunks.size() == 2);
  CHECK(chunks[0].count == 65535);
  CHECK(chunks[1].count == 70000 - 65535);
  CHECK(chunks[1].min_t == 65535);
  CHECK(chunks[1].max_t == 69999);
}

TEST_CASE("head: ids are renumbered when a shard runs out of them") {
  head h(head_options{60'000, 1, 120, 5});
  series_ref a = h.get_or_create("m", {{"s", "a"}});
  series_ref b = h.get_or_create("m", {{"s", "b"}});
  series_ref c = h.get_or_create("m", {{"s", "c"}});
  series_ref d = h.get_or_create("m", {{"s", "d"}});
  REQUIRE(h.append(a, t0, 1.0) == append_status::ok);
  REQUIRE(h.append(b, t0 - 100'000, 2.0) == append_status::ok);
  REQUIRE(h.append(c, t0 - 100'000, 3.0) == append_status::ok);
  REQUIRE(h.append(d, t0, 4.0) == append_status::ok);
  REQUIRE(h.gc(t0) == 2);
  // Ids 1-4 were used and the limit is 5: the next series renumbers a and d.
  series_ref e = h.get_or_create("m", {{"s", "e"}});
  CHECK(h.append(e, t0, 5.0) == append_status::ok);
  CHECK(h.append(a, t0 + 1, 1.0) == append_status::unknown_series);
  series_ref a2 = h.get_or_create("m", {{"s", "a"}});
  CHECK(h.append(a2, t0 + 1, 1.5) == append_status::ok);
  auto result = h.select({matcher("s", match_op::regex, "a|d|e")}, 0, t0 * 2);
  CHECK(values_of(result, "s") == strings{"a", "d", "e"});
  REQUIRE(result[0].samples.size() == 2);
  CHECK(result[0].samples[1].v == 1.5);
  CHECK(h.select({matcher("s", match_op::equal, "d")}, 0, t0 * 2)[0].samples[0].v == 4.0);
  // Three live series and a limit of five leave room for exactly one more.
  h.get_or_create("m", {{"s", "f"}});
  CHECK_THROWS_AS(h.get_or_create("m", {{"s", "g"}}), std::length_error);
}

TEST_CASE("head: stats follow appends and gc") {
  head h(head_options{60'000, 4, 120});
  head_stats empty = h.stats();
  CHECK(empty.series == 0);
  CHECK(empty.samples == 0);
  CHECK(empty.chunk_bytes == 0);
  for (int i = 0; i < 100; ++i) {
    series_ref r = h.get_or_create("m", {{"i", std::to_string(i)}, {"job", "x"}});
    for (int k = 0; k < 30; ++k) REQUIRE(h.append(r, t0 + k * 10'000, i + k) == append_status::ok);
  }
  head_stats full = h.stats();
  CHECK(full.series == 100);
  CHECK(full.samples == 3000);
  CHECK(full.chunk_bytes > 3000);
  CHECK(full.chunk_bytes < 3000 * 4);
  CHECK(full.symbols == 100 + 5);  // the i values plus "__name__", "m", "i", "job", "x"
  CHECK(full.memory_bytes > full.chunk_bytes);
  CHECK(h.gc(t0 + 10'000'000) == 100);
  head_stats after = h.stats();
  CHECK(after.series == 0);
  CHECK(after.samples == 0);
  CHECK(after.chunk_bytes == 0);
  CHECK(after.symbols == 0);
}
