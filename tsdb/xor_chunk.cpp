#include "tsdb/xor_chunk.hpp"

#include <algorithm>
#include <limits>
#include <stdexcept>

namespace wk::tsdb {
namespace {

// Writes bits most significant first after the stream's last byte.
class bit_writer {
 public:
  bit_writer(unsigned char* end, std::uint8_t free_bits)
      : last_(end - 1), next_(end), free_(free_bits) {}

  void write(std::uint64_t value, int n) {
    while (n > 0) {
      if (free_ == 0) {
        *next_ = 0;
        last_ = next_++;
        free_ = 8;
      }
      int take = std::min(n, static_cast<int>(free_));
      auto chunk = static_cast<unsigned>((value >> (n - take)) & ((1U << take) - 1U));
      *last_ = static_cast<unsigned char>(*last_ | (chunk << (free_ - take)));
      free_ = static_cast<std::uint8_t>(free_ - take);
      n -= take;
    }
  }

  void write_bit(bool bit) { write(bit ? 1U : 0U, 1); }

  void write_uvarint(std::uint64_t x) {
    while (x >= 0x80) {
      write((x & 0x7f) | 0x80, 8);
      x >>= 7;
    }
    write(x, 8);
  }

  std::size_t written(const unsigned char* end) const { return static_cast<std::size_t>(next_ - end); }
  std::uint8_t free_bits() const { return free_; }

 private:
  unsigned char* last_;
  unsigned char* next_;
  std::uint8_t free_;
};

// bitRange in Prometheus: the bucket holds [-(2^(n-1) - 1), 2^(n-1)].
bool fits(std::int64_t x, int nbits) {
  std::int64_t half = std::int64_t{1} << (nbits - 1);
  return x >= -(half - 1) && x <= half;
}

int leading_zeros(std::uint64_t x) { return __builtin_clzll(x); }
int trailing_zeros(std::uint64_t x) { return __builtin_ctzll(x); }

}  // namespace

void xor_encoder::write_count(unsigned char* header, std::uint16_t count) {
  header[0] = static_cast<unsigned char>(count >> 8);
  header[1] = static_cast<unsigned char>(count & 0xff);
}

std::uint16_t xor_encoder::read_count(const unsigned char* header) {
  return static_cast<std::uint16_t>((header[0] << 8) | header[1]);
}

void xor_encoder::restart() {
  count_ = 0;
  free_bits_ = 0;
  leading_ = 0xff;
  trailing_ = 0;
  t_delta_ = 0;
}

void xor_encoder::restore(const saved_state& s) {
  t_ = s.t;
  v_ = s.v;
  t_delta_ = s.t_delta;
  count_ = s.count;
  leading_ = s.leading;
  trailing_ = s.trailing;
  free_bits_ = s.free_bits;
}

std::size_t xor_encoder::encode(std::int64_t t, double v, unsigned char* end) {
  bit_writer w(end, free_bits_);
  std::uint64_t bits = value_bits(v);
  auto ut = static_cast<std::uint64_t>(t);
  if (count_ == 0) {
    // Zig-zag: small negative timestamps stay short.
    w.write_uvarint(t < 0 ? ~(ut << 1) : (ut << 1));
    w.write(bits, 64);
    t_delta_ = 0;
    leading_ = 0xff;
    trailing_ = 0;
  } else {
    std::uint64_t delta = ut - static_cast<std::uint64_t>(t_);
    if (count_ == 1) {
      w.write_uvarint(delta);
    } else {
      auto dod = static_cast<std::int64_t>(delta - t_delta_);
      if (dod == 0) {
        w.write_bit(false);
      } else if (fits(dod, 14)) {
        w.write(0b10, 2);
        w.write(static_cast<std::uint64_t>(dod), 14);
      } else if (fits(dod, 17)) {
        w.write(0b110, 3);
        w.write(static_cast<std::uint64_t>(dod), 17);
      } else if (fits(dod, 20)) {
        w.write(0b1110, 4);
        w.write(static_cast<std::uint64_t>(dod), 20);
      } else {
        w.write(0b1111, 4);
        w.write(static_cast<std::uint64_t>(dod), 64);
      }
    }
    t_delta_ = delta;
    std::uint64_t x = bits ^ v_;
    if (x == 0) {
      w.write_bit(false);
    } else {
      w.write_bit(true);
      int lead = std::min(leading_zeros(x), 31);
      int trail = trailing_zeros(x);
      if (leading_ != 0xff && lead >= leading_ && trail >= trailing_) {
        w.write_bit(false);
        w.write(x >> trailing_, 64 - leading_ - trailing_);
      } else {
        leading_ = static_cast<std::uint8_t>(lead);
        trailing_ = static_cast<std::uint8_t>(trail);
        int sig = 64 - lead - trail;
        w.write_bit(true);
        w.write(static_cast<std::uint64_t>(lead), 5);
        // 64 significant bits do not fit in 6 bits; 0 never occurs otherwise, so it stands for 64.
        w.write(static_cast<std::uint64_t>(sig & 63), 6);
        w.write(x >> trail, sig);
      }
    }
  }
  t_ = t;
  v_ = bits;
  ++count_;
  free_bits_ = w.free_bits();
  return w.written(end);
}

xor_chunk::xor_chunk() : bytes_(xor_encoder::header_bytes, '\0') {}

void xor_chunk::append(std::int64_t t, double v) {
  if (encoder_.count() >= xor_encoder::max_samples) {
    throw std::length_error("xor_chunk: a chunk holds at most 65535 samples");
  }
  if (encoder_.count() == 0) min_t_ = t;
  std::size_t old_size = bytes_.size();
  bytes_.resize(old_size + xor_encoder::max_sample_bytes);
  auto data = reinterpret_cast<unsigned char*>(bytes_.data());
  std::size_t added = encoder_.encode(t, v, data + old_size);
  bytes_.resize(old_size + added);
  xor_encoder::write_count(reinterpret_cast<unsigned char*>(bytes_.data()), encoder_.count());
}

std::string xor_chunk::take_bytes() {
  std::string out = std::move(bytes_);
  *this = xor_chunk();
  return out;
}

std::int64_t xor_chunk::min_time() const {
  return num_samples() == 0 ? std::numeric_limits<std::int64_t>::max() : min_t_;
}

std::int64_t xor_chunk::max_time() const {
  return num_samples() == 0 ? std::numeric_limits<std::int64_t>::min() : encoder_.last_t();
}

std::size_t xor_chunk::memory_bytes() const { return sizeof(*this) + bytes_.capacity(); }

xor_chunk::iterator::iterator(std::string_view bytes)
    : p_(reinterpret_cast<const unsigned char*>(bytes.data())), end_(p_ + bytes.size()) {
  if (bytes.size() < xor_encoder::header_bytes) {
    corrupt_ = true;
    p_ = end_;
    return;
  }
  total_ = xor_encoder::read_count(p_);
  p_ += xor_encoder::header_bytes;
}

bool xor_chunk::iterator::fail() {
  corrupt_ = true;
  read_ = total_;
  return false;
}

void xor_chunk::iterator::refill() {
  while (avail_ <= 56 && p_ < end_) {
    buf_ |= static_cast<std::uint64_t>(*p_++) << (56 - avail_);
    avail_ += 8;
  }
}

std::uint64_t xor_chunk::iterator::take(int n) {
  if (n == 0) return 0;
  std::uint64_t v = buf_ >> (64 - n);
  buf_ = n == 64 ? 0 : buf_ << n;
  avail_ -= n;
  return v;
}

bool xor_chunk::iterator::read_bits(int n, std::uint64_t& out) {
  if (avail_ < n) refill();
  if (avail_ >= n) {
    out = take(n);
    return true;
  }
  // Only a read longer than the refilled window gets here: split it in two.
  int first = avail_;
  std::uint64_t high = take(first);
  refill();
  int rest = n - first;
  if (avail_ < rest) return false;
  out = (high << rest) | take(rest);
  return true;
}

bool xor_chunk::iterator::read_uvarint(std::uint64_t& out) {
  std::uint64_t x = 0;
  for (int i = 0, shift = 0; i < 10; ++i, shift += 7) {
    std::uint64_t b;
    if (!read_bits(8, b)) return false;
    if (b < 0x80) {
      if (i == 9 && b > 1) return false;  // more than 64 bits
      out = x | (b << shift);
      return true;
    }
    x |= (b & 0x7f) << shift;
  }
  return false;
}

bool xor_chunk::iterator::read_value() {
  std::uint64_t bit;
  if (!read_bits(1, bit)) return fail();
  if (bit == 0) return true;
  if (!read_bits(1, bit)) return fail();
  if (bit == 1) {
    std::uint64_t lead;
    std::uint64_t sig;
    if (!read_bits(5, lead) || !read_bits(6, sig)) return fail();
    if (sig == 0) sig = 64;
    if (lead + sig > 64) return fail();
    leading_ = static_cast<std::uint8_t>(lead);
    trailing_ = static_cast<std::uint8_t>(64 - lead - sig);
  }
  int sig = 64 - leading_ - trailing_;
  std::uint64_t x;
  if (!read_bits(sig, x)) return fail();
  v_ ^= x << trailing_;
  return true;
}

bool xor_chunk::iterator::next() {
  if (read_ >= total_) {
    // Bytes past the last sample's partial byte mean the count or the stream is wrong.
    if (!corrupt_ && avail_ + 8 * (end_ - p_) >= 8) corrupt_ = true;
    return false;
  }
  if (read_ == 0) {
    std::uint64_t zz;
    if (!read_uvarint(zz) || !read_bits(64, v_)) return fail();
    t_ = static_cast<std::int64_t>((zz & 1) ? ~(zz >> 1) : (zz >> 1));
    ++read_;
    return true;
  }
  if (read_ == 1) {
    if (!read_uvarint(t_delta_)) return fail();
  } else {
    int ones = 0;
    std::uint64_t bit = 1;
    while (ones < 4) {
      if (!read_bits(1, bit)) return fail();
      if (bit == 0) break;
      ++ones;
    }
    static constexpr int widths[] = {0, 14, 17, 20, 64};
    int width = widths[ones];
    if (width > 0) {
      std::uint64_t raw;
      if (!read_bits(width, raw)) return fail();
      if (width < 64 && raw > (std::uint64_t{1} << (width - 1))) raw -= std::uint64_t{1} << width;
      t_delta_ += raw;
    }
  }
  t_ = static_cast<std::int64_t>(static_cast<std::uint64_t>(t_) + t_delta_);
  if (!read_value()) return false;
  ++read_;
  return true;
}

bool xor_chunk::decode(std::string_view bytes, std::vector<sample>& out) {
  out.clear();
  iterator it(bytes);
  // Every sample takes at least two bits, so a hostile count cannot force a large reservation.
  out.reserve(std::min<std::size_t>(it.declared_samples(), bytes.size() * 4));
  while (it.next()) out.push_back({it.t(), it.v()});
  if (it.corrupt()) {
    out.clear();
    return false;
  }
  return true;
}

}  // namespace wk::tsdb
