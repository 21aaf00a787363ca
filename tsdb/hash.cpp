#include "tsdb/hash.hpp"

#include <cstring>

namespace wk::tsdb {
namespace {

constexpr std::uint64_t prime1 = 0x9E3779B185EBCA87ULL;
constexpr std::uint64_t prime2 = 0xC2B2AE3D27D4EB4FULL;
constexpr std::uint64_t prime3 = 0x165667B19E3779F9ULL;
constexpr std::uint64_t prime4 = 0x85EBCA77C2B2AE63ULL;
constexpr std::uint64_t prime5 = 0x27D4EB2F165667C5ULL;

std::uint64_t rotl(std::uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

// Little-endian loads regardless of host order, so the hash is the same everywhere.
std::uint64_t load64(const unsigned char* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

std::uint32_t load32(const unsigned char* p) {
  std::uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

std::uint64_t round(std::uint64_t acc, std::uint64_t input) {
  acc += input * prime2;
  acc = rotl(acc, 31);
  return acc * prime1;
}

std::uint64_t merge_round(std::uint64_t acc, std::uint64_t val) {
  acc ^= round(0, val);
  return acc * prime1 + prime4;
}

}  // namespace

xxh64::xxh64() : acc_{prime1 + prime2, prime2, 0, 0ULL - prime1}, buf_{} {}

void xxh64::update(const void* data, std::size_t len) {
  auto p = static_cast<const unsigned char*>(data);
  total_ += len;
  if (buffered_ + len < sizeof buf_) {
    if (len > 0) std::memcpy(buf_ + buffered_, p, len);
    buffered_ += len;
    return;
  }
  if (buffered_ > 0) {
    std::size_t fill = sizeof buf_ - buffered_;
    std::memcpy(buf_ + buffered_, p, fill);
    for (int i = 0; i < 4; ++i) acc_[i] = round(acc_[i], load64(buf_ + 8 * i));
    p += fill;
    len -= fill;
    buffered_ = 0;
  }
  while (len >= 32) {
    for (int i = 0; i < 4; ++i) acc_[i] = round(acc_[i], load64(p + 8 * i));
    p += 32;
    len -= 32;
  }
  if (len > 0) std::memcpy(buf_, p, len);
  buffered_ = len;
}

std::uint64_t xxh64::digest() const {
  std::uint64_t h;
  if (total_ >= 32) {
    h = rotl(acc_[0], 1) + rotl(acc_[1], 7) + rotl(acc_[2], 12) + rotl(acc_[3], 18);
    for (int i = 0; i < 4; ++i) h = merge_round(h, acc_[i]);
  } else {
    h = acc_[2] + prime5;
  }
  h += total_;
  const unsigned char* p = buf_;
  std::size_t len = buffered_;
  while (len >= 8) {
    h ^= round(0, load64(p));
    h = rotl(h, 27) * prime1 + prime4;
    p += 8;
    len -= 8;
  }
  if (len >= 4) {
    h ^= static_cast<std::uint64_t>(load32(p)) * prime1;
    h = rotl(h, 23) * prime2 + prime3;
    p += 4;
    len -= 4;
  }
  while (len > 0) {
    h ^= static_cast<std::uint64_t>(*p) * prime5;
    h = rotl(h, 11) * prime1;
    ++p;
    --len;
  }
  h ^= h >> 33;
  h *= prime2;
  h ^= h >> 29;
  h *= prime3;
  h ^= h >> 32;
  return h;
}

std::uint64_t xxh64::hash(std::string_view s) {
  xxh64 h;
  h.update(s);
  return h.digest();
}

}  // namespace wk::tsdb
