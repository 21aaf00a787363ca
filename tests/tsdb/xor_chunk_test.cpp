#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "tsdb/sample.hpp"
#include "tsdb/xor_chunk.hpp"

using namespace wk::tsdb;

namespace {

xor_chunk encode(const std::vector<sample>& samples) {
  xor_chunk c;
  for (const auto& s : samples) c.append(s.t, s.v);
  return c;
}

// Compares values as bit patterns: NaN payloads and -0.0 must survive exactly.
void check_round_trip(const std::vector<sample>& samples) {
  xor_chunk c = encode(samples);
  REQUIRE(c.num_samples() == samples.size());
  std::vector<sample> out;
  REQUIRE(xor_chunk::decode(c.bytes(), out));
  REQUIRE(out.size() == samples.size());
  for (std::size_t i = 0; i < samples.size(); ++i) {
    INFO("sample " << i);
    CHECK(out[i].t == samples[i].t);
    CHECK(value_bits(out[i].v) == value_bits(samples[i].v));
  }
  auto it = c.begin_iteration();
  std::size_t n = 0;
  while (it.next()) {
    CHECK(it.t() == samples[n].t);
    ++n;
  }
  CHECK_FALSE(it.corrupt());
  CHECK(n == samples.size());
  if (!samples.empty()) {
    CHECK(c.min_time() == samples.front().t);
    CHECK(c.max_time() == samples.back().t);
  }
}

}  // namespace

TEST_CASE("xor chunk: empty chunk is a bare header") {
  xor_chunk c;
  CHECK(c.bytes() == std::string(2, '\0'));
  CHECK(c.num_samples() == 0);
  CHECK(c.min_time() > c.max_time());
  std::vector<sample> out{{1, 1.0}};
  CHECK(xor_chunk::decode(c.bytes(), out));
  CHECK(out.empty());
}

TEST_CASE("xor chunk: byte layout is Prometheus's XOR encoding") {
  xor_chunk c = encode({{1000, 1.0}, {2000, 1.0}, {3000, 2.0}});
  const std::string expected("\x00\x03\xd0\x0f\x3f\xf0\x00\x00\x00\x00\x00\x00\xe8\x07\x30\x97\xff\xc0", 18);
  CHECK(c.bytes() == expected);
}

TEST_CASE("xor chunk: one sample and two samples") {
  check_round_trip({{42, 3.5}});
  check_round_trip({{-5, -1.0}, {7, 1e300}});
}

TEST_CASE("xor chunk: special values round-trip bit for bit") {
  const double values[] = {
      std::numeric_limits<double>::quiet_NaN(),
      stale_nan(),
      value_from_bits(0x7ff8000000000001ULL),  // NaN with another payload
      value_from_bits(0xfff0000000000001ULL),  // negative signalling NaN pattern
      std::numeric_limits<double>::infinity(),
      -std::numeric_limits<double>::infinity(),
      -0.0,
      0.0,
      std::numeric_limits<double>::denorm_min(),
      std::numeric_limits<double>::min(),
      std::numeric_limits<double>::max(),
      std::numeric_limits<double>::lowest(),
      1.0,
      stale_nan(),
      stale_nan(),
      -0.0,
  };
  std::vector<sample> samples;
  std::int64_t t = 1'700'000'000'000;
  for (double v : values) samples.push_back({t += 15'000, v});
  check_round_trip(samples);
  std::vector<sample> out;
  REQUIRE(xor_chunk::decode(encode(samples).bytes(), out));
  CHECK(is_stale_nan(out[1].v));
  CHECK_FALSE(is_stale_nan(out[0].v));
  CHECK(std::signbit(out[6].v));
}

TEST_CASE("xor chunk: every delta-of-delta bucket edge and huge deltas") {
  // dod values at and just past each bucket's bounds: [-(2^(n-1)-1), 2^(n-1)].
  const std::int64_t dods[] = {0,      1,       -1,      8191,   8192,    8193,    -8191,  -8192,
                               65535,  65536,   65537,   -65535, -65536,  524287,  524288, 524289,
                               -524287, -524288, 1LL << 40, -(1LL << 40), 0, 0};
  std::vector<sample> samples{{0, 0.0}, {10'000'000, 1.0}};
  std::int64_t delta = 10'000'000;
  for (std::int64_t dod : dods) {
    delta += dod;
    samples.push_back({samples.back().t + delta, static_cast<double>(samples.size())});
  }
  check_round_trip(samples);
  check_round_trip({{std::numeric_limits<std::int64_t>::min(), 1.0},
                    {std::numeric_limits<std::int64_t>::min() + 1, 2.0},
                    {0, 3.0},
                    {std::numeric_limits<std::int64_t>::max() - 1, 4.0},
                    {std::numeric_limits<std::int64_t>::max(), 5.0}});
}

TEST_CASE("xor chunk: negative timestamps and irregular, even backwards, steps") {
  // The format wraps arithmetic in 64 bits, so even a sequence breaking the caller contract
  // (decreasing t) decodes to exactly what went in.
  check_round_trip({{-100000, 1.0}, {-99000, 1.5}, {-98999, 2.0}, {-50, 2.0}, {3, -7.25}, {2, 0.0}, {-9, 1.0}});
}

TEST_CASE("xor chunk: random series round-trip") {
  std::mt19937_64 rng(7);
  for (int round = 0; round < 50; ++round) {
    std::vector<sample> samples;
    std::int64_t t = static_cast<std::int64_t>(rng() % 2'000'000'000'000ULL) - 1'000'000'000'000LL;
    std::size_t n = 1 + rng() % 400;
    for (std::size_t i = 0; i < n; ++i) {
      t += 1 + static_cast<std::int64_t>(rng() % (round % 2 ? 100 : 1'000'000'000));
      double v;
      switch (rng() % 4) {
        case 0: v = value_from_bits(rng()); break;  // any bit pattern, NaNs included
        case 1: v = static_cast<double>(rng() % 1000); break;
        case 2: v = std::ldexp(static_cast<double>(rng() % 1'000'000), static_cast<int>(rng() % 200) - 100); break;
        default: v = samples.empty() ? 0.0 : samples.back().v; break;
      }
      samples.push_back({t, v});
    }
    check_round_trip(samples);
  }
}

TEST_CASE("xor chunk: 10,000 regular samples compress to about a byte each") {
  std::vector<sample> samples;
  double counter = 0;
  std::mt19937 rng(3);
  for (int i = 0; i < 10000; ++i) {
    counter += rng() % 50;
    samples.push_back({1'700'000'000'000LL + 10'000LL * i, counter});
  }
  check_round_trip(samples);
  xor_chunk c = encode(samples);
  double per_sample = static_cast<double>(c.bytes().size()) / samples.size();
  INFO("bytes per sample " << per_sample);
  CHECK(per_sample < 2.5);
  CHECK(c.memory_bytes() >= c.bytes().size());
}

TEST_CASE("xor chunk: refuses the 65536th sample") {
  xor_chunk c;
  for (std::int64_t i = 0; i < 65535; ++i) c.append(i, 1.0);
  CHECK_THROWS_AS(c.append(65535, 1.0), std::length_error);
  std::vector<sample> out;
  REQUIRE(xor_chunk::decode(c.bytes(), out));
  CHECK(out.size() == 65535);
  CHECK(out.back().t == 65534);
}

TEST_CASE("xor chunk: truncation and trailing bytes are corrupt") {
  xor_chunk c = encode({{1, 1.0}, {2, 2.5}, {4, -3.0}, {1000, 1e9}});
  const std::string& bytes = c.bytes();
  std::vector<sample> out;
  for (std::size_t len = 0; len < bytes.size(); ++len) {
    INFO("prefix " << len);
    CHECK_FALSE(xor_chunk::decode(std::string_view(bytes).substr(0, len), out));
    CHECK(out.empty());
  }
  CHECK_FALSE(xor_chunk::decode(bytes + std::string(1, '\0'), out));
  // A header claiming far more samples than the bytes hold.
  std::string lying = bytes;
  lying[0] = '\xff';
  lying[1] = '\xff';
  CHECK_FALSE(xor_chunk::decode(lying, out));
  // An impossible leading/significant bit split: lead 31 + 64 significant bits.
  std::string bad_width("\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\xff\xc0\x00", 15);
  CHECK_FALSE(xor_chunk::decode(bad_width, out));
  // An over-long varint timestamp.
  CHECK_FALSE(xor_chunk::decode(std::string("\x00\x01\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f", 12), out));
}

TEST_CASE("xor chunk: random corruption never crashes") {
  std::mt19937_64 rng(11);
  std::vector<sample> samples;
  for (int i = 0; i < 200; ++i) samples.push_back({i * 15'000LL + (i % 7), std::sin(i) * 100});
  const std::string good = encode(samples).bytes();
  std::vector<sample> out;
  std::size_t accepted = 0;
  for (int round = 0; round < 20000; ++round) {
    std::string bytes = good;
    switch (round % 3) {
      case 0:
        for (int flips = 1 + static_cast<int>(rng() % 4); flips > 0; --flips) {
          bytes[rng() % bytes.size()] ^= static_cast<char>(1 << (rng() % 8));
        }
        break;
      case 1:
        bytes.resize(rng() % bytes.size());
        break;
      default:
        bytes.resize(rng() % 64);
        for (auto& b : bytes) b = static_cast<char>(rng());
    }
    if (xor_chunk::decode(bytes, out)) {
      ++accepted;
      CHECK(out.size() == xor_encoder::read_count(reinterpret_cast<const unsigned char*>(bytes.data())));
    } else {
      CHECK(out.empty());
    }
  }
  // Flipped value bits usually still decode; truncations never do. Either way: no crash.
  CHECK(accepted < 20000);
}
