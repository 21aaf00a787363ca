#include "silences/id.hpp"

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <system_error>

#include <sys/random.h>

namespace wk::silences {
namespace {

bool fill_from_urandom(unsigned char* buf, std::size_t size) {
  std::FILE* f = std::fopen("/dev/urandom", "rbe");
  if (!f)
    return false;
  bool ok = std::fread(buf, 1, size, f) == size;
  std::fclose(f);
  return ok;
}

}  // namespace

std::string new_silence_id() {
  unsigned char bytes[16];
  std::size_t filled = 0;
  while (filled < sizeof bytes) {
    ssize_t n = getrandom(bytes + filled, sizeof bytes - filled, 0);
    if (n > 0) {
      filled += static_cast<std::size_t>(n);
    } else if (n == 0 || errno != EINTR) {
      if (!fill_from_urandom(bytes, sizeof bytes))
        throw std::system_error(errno, std::generic_category(), "no random bytes for a silence id");
      filled = sizeof bytes;
    }
  }
  static constexpr char hex[] = "0123456789abcdef";
  std::string id;
  id.reserve(32);
  for (unsigned char b : bytes) {
    id += hex[b >> 4];
    id += hex[b & 15];
  }
  return id;
}

}  // namespace wk::silences
