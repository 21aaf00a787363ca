#include <doctest/doctest.h>

#include <stdexcept>
#include <string>

#include "tsdb/hash.hpp"
#include "tsdb/labels.hpp"

using namespace wk::tsdb;

namespace {

// make_labels({{"a", "1"}}) is ambiguous (a vector<label> of one label, or one built from two
// const char* iterators), so tests spell the vector out through this helper.
label_set make_labels(std::vector<label> labels) { return label_set(std::move(labels)); }

}  // namespace

TEST_CASE("xxh64 matches the reference vectors, whole and streamed") {
  CHECK(xxh64::hash("") == 0xEF46DB3751D8E999ULL);
  CHECK(xxh64::hash("a") == 0xD24EC4F1A98C6E5BULL);
  CHECK(xxh64::hash("abc") == 0x44BC2CF5AD770999ULL);
  std::string long_input = "Nobody inspects the spammish repetition";
  CHECK(xxh64::hash(long_input) == 0xFBCEA83C8A378BF1ULL);
  xxh64 streamed;
  for (char c : long_input) streamed.update(&c, 1);
  CHECK(streamed.digest() == 0xFBCEA83C8A378BF1ULL);
}

TEST_CASE("label_set sorts by name, drops empty values and answers get") {
  label_set ls = make_labels({{"zone", "b"}, {"__name__", "up"}, {"job", "node"}, {"empty", ""}});
  REQUIRE(ls.size() == 3);
  CHECK(ls.labels()[0].name == "__name__");
  CHECK(ls.labels()[1].name == "job");
  CHECK(ls.labels()[2].name == "zone");
  CHECK(ls.get("job") == "node");
  CHECK(ls.get("empty").empty());
  CHECK(ls.get("missing").empty());
}

TEST_CASE("label_set rejects repeated and empty names") {
  CHECK_THROWS_AS(make_labels({{"a", "1"}, {"a", "2"}}), std::invalid_argument);
  CHECK_THROWS_AS(make_labels({{"", "1"}}), std::invalid_argument);
  CHECK_THROWS_AS(label_set::from_views("up", {{"__name__", "x"}}), std::invalid_argument);
  // An empty value means "absent", so it cannot conflict with a real one.
  CHECK_NOTHROW(make_labels({{"a", "1"}, {"a", ""}}));
}

TEST_CASE("label_set from_views sets the metric name") {
  label_set ls = label_set::from_views("http_requests_total", {{"code", "200"}, {"method", "get"}});
  CHECK(ls.get("__name__") == "http_requests_total");
  CHECK(ls == make_labels({{"method", "get"}, {"__name__", "http_requests_total"}, {"code", "200"}}));
  CHECK(label_set::from_views("", {{"a", "b"}}).size() == 1);
}

TEST_CASE("label_set equality and Prometheus order") {
  label_set a = make_labels({{"a", "1"}});
  label_set ab = make_labels({{"a", "1"}, {"b", "1"}});
  label_set a2 = make_labels({{"a", "2"}});
  label_set b = make_labels({{"b", "0"}});
  CHECK(a == make_labels({{"a", "1"}}));
  CHECK(a != a2);
  CHECK(a < ab);  // prefix first
  CHECK(ab < a2);
  CHECK(a2 < b);  // name decides before value
  CHECK_FALSE(b < a);
  CHECK_FALSE(a < a);
  CHECK(label_set() < a);
}

TEST_CASE("fingerprint is stable: XXH64 of name 0xff value 0xff pairs") {
  // Hard-coded so that any change of the hash or the byte layout is caught: these values are
  // persisted and must not move between builds.
  label_set up = make_labels({{"job", "node"}, {"__name__", "up"}});
  CHECK(up.fingerprint() == 0x01585E2399CC2DF6ULL);
  CHECK(label_set().fingerprint() == 0xEF46DB3751D8E999ULL);
  std::vector<label_view> views{{"__name__", "up"}, {"job", "node"}};
  CHECK(fingerprint_of(views) == up.fingerprint());
  // The separator keeps ("ab","c") and ("a","bc") apart.
  CHECK(make_labels({{"ab", "c"}}).fingerprint() != make_labels({{"a", "bc"}}).fingerprint());
}

TEST_CASE("to_string writes the Prometheus form with escapes") {
  CHECK(make_labels({{"__name__", "up"}}).to_string() == "up");
  CHECK(make_labels({{"__name__", "up"}, {"job", "node"}, {"a", "x"}}).to_string() == R"(up{a="x",job="node"})");
  CHECK(make_labels({{"job", "a\"b\\c\nd"}}).to_string() == R"({job="a\"b\\c\nd"})");
  CHECK(label_set().to_string() == "{}");
  CHECK(make_labels({{"__name__", "my.metric"}, {"Zone", "z"}}).to_string() == R"({"my.metric",Zone="z"})");
  CHECK(make_labels({{"__name__", "up"}, {"k8s.pod", "p"}}).to_string() == R"(up{"k8s.pod"="p"})");
}

TEST_CASE("normalize_label_views sorts in place and validates") {
  std::vector<label_view> v{{"b", "2"}, {"a", "1"}, {"c", ""}};
  normalize_label_views(v);
  REQUIRE(v.size() == 2);
  CHECK(v[0].first == "a");
  CHECK(v[1].first == "b");
  std::vector<label_view> dup{{"a", "1"}, {"b", "2"}, {"a", "3"}};
  CHECK_THROWS_AS(normalize_label_views(dup), std::invalid_argument);
}
