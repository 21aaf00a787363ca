#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace wk::tsdb {

// Streaming XXH64 (seed 0). Series fingerprints hash "name\xffvalue\xff" for every label in
// name order, the same bytes Prometheus hashes, so a fingerprint never changes across runs,
// builds or machines and is stable enough to persist.
class xxh64 {
 public:
  xxh64();
  void update(const void* data, std::size_t len);
  void update(std::string_view s) { update(s.data(), s.size()); }
  std::uint64_t digest() const;

  static std::uint64_t hash(std::string_view s);

 private:
  std::uint64_t acc_[4];
  unsigned char buf_[32];
  std::size_t buffered_ = 0;
  std::uint64_t total_ = 0;
};

}  // namespace wk::tsdb
