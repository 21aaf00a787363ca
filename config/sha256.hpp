#pragma once

#include <array>
#include <string_view>

namespace wk::config {

// SHA-256 (FIPS 180-4). Implemented here so config/ stays free of OpenSSL.
std::array<unsigned char, 32> sha256(std::string_view data);

}  // namespace wk::config
