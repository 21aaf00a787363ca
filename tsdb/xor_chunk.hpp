#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tsdb/sample.hpp"

namespace wk::tsdb {

// Stream layout (Prometheus's XOR chunk, so chunks stay readable by the same rules):
//   2 bytes big-endian sample count
//   sample 0: zig-zag varint t, 64 raw value bits
//   sample 1: uvarint t delta, XOR-encoded value
//   sample n: delta-of-delta t in buckets 0 / 14 / 17 / 20 / 64 bits, XOR-encoded value
// All timestamp arithmetic wraps in 64 bits, so any int64 sequence round-trips.

// The encoder state of one stream, kept apart from the storage so the head can keep its bytes
// in a compact buffer while xor_chunk keeps a std::string.
class xor_encoder {
 public:
  static constexpr std::size_t header_bytes = 2;
  static constexpr std::size_t max_samples = 65535;
  // Upper bound of the new bytes one sample can add (157 bits at worst, plus the partial byte).
  static constexpr std::size_t max_sample_bytes = 24;

  // Appends sample (t, v) to a stream whose last existing byte is end[-1] (the header at least):
  // free bits of that byte are filled, new bytes are written from end[0]. end[0] through
  // end[max_sample_bytes - 1] must be writable. Returns how many new bytes were written; the
  // caller then stores count() into the header with write_count(). Caller ensures
  // count() < max_samples.
  std::size_t encode(std::int64_t t, double v, unsigned char* end);

  // Starts a new stream after its header; last_t() and last_v_bits() keep the previous sample.
  void restart();

  // A copy of the state, to undo an encode() whose bytes could not be stored. Field-wise on
  // purpose: the head packs its own fields into this class's tail padding, which a copy of
  // the whole object would overwrite.
  struct saved_state {
    std::int64_t t;
    std::uint64_t v;
    std::uint64_t t_delta;
    std::uint16_t count;
    std::uint8_t leading;
    std::uint8_t trailing;
    std::uint8_t free_bits;
  };
  saved_state save() const { return {t_, v_, t_delta_, count_, leading_, trailing_, free_bits_}; }
  void restore(const saved_state& s);

  std::uint16_t count() const { return count_; }
  std::int64_t last_t() const { return t_; }
  std::uint64_t last_v_bits() const { return v_; }

  static void write_count(unsigned char* header, std::uint16_t count);
  static std::uint16_t read_count(const unsigned char* header);

 private:
  std::int64_t t_ = 0;
  std::uint64_t v_ = 0;
  std::uint64_t t_delta_ = 0;
  std::uint16_t count_ = 0;
  std::uint8_t leading_ = 0xff;  // 0xff: no leading/trailing window yet
  std::uint8_t trailing_ = 0;
  std::uint8_t free_bits_ = 0;  // unused low bits of the stream's last byte
};

class xor_chunk {
 public:
  xor_chunk();

  // Caller guarantees t strictly increasing. Throws std::length_error past max_samples.
  void append(std::int64_t t, double v);

  std::size_t num_samples() const { return encoder_.count(); }
  // An empty chunk reports the empty range [INT64_MAX, INT64_MIN].
  std::int64_t min_time() const;
  std::int64_t max_time() const;
  const std::string& bytes() const { return bytes_; }
  // Moves the encoded stream out, leaving an empty chunk.
  std::string take_bytes();
  std::size_t memory_bytes() const;

  // Reads a stream sample by sample; never reads outside the bytes it was given.
  class iterator {
   public:
    explicit iterator(std::string_view bytes);
    // False at the end of the stream, or when the stream is corrupt (then corrupt() is true).
    bool next();
    std::int64_t t() const { return t_; }
    double v() const { return value_from_bits(v_); }
    std::uint64_t v_bits() const { return v_; }
    bool corrupt() const { return corrupt_; }
    std::size_t declared_samples() const { return total_; }

   private:
    void refill();
    std::uint64_t take(int n);
    bool read_bits(int n, std::uint64_t& out);
    bool read_uvarint(std::uint64_t& out);
    bool read_value();
    bool fail();

    const unsigned char* p_;
    const unsigned char* end_;
    std::uint64_t buf_ = 0;  // unread bits, most significant first
    int avail_ = 0;
    std::uint16_t total_ = 0;
    std::uint16_t read_ = 0;
    std::int64_t t_ = 0;
    std::uint64_t v_ = 0;
    std::uint64_t t_delta_ = 0;
    std::uint8_t leading_ = 0;
    std::uint8_t trailing_ = 0;
    bool corrupt_ = false;
  };

  iterator begin_iteration() const { return iterator(bytes_); }

  // Replaces out with the samples of bytes. False (and out empty) on any corruption: a short
  // header, a truncated stream, impossible bit widths or trailing bytes.
  static bool decode(std::string_view bytes, std::vector<sample>& out);

 private:
  std::string bytes_;
  xor_encoder encoder_;
  std::int64_t min_t_ = 0;
};

}  // namespace wk::tsdb
