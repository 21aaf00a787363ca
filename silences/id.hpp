#pragma once

// Identifiers of silences created over the API.

#include <string>

namespace wk::silences {

// 32 lowercase hex characters (128 bits) from the kernel's CSPRNG (getrandom, or /dev/urandom
// where the system call is missing). Throws std::system_error only when the kernel offers no
// randomness at all.
std::string new_silence_id();

}  // namespace wk::silences
