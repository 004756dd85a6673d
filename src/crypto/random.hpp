#pragma once
// Cryptographically secure random bytes (OpenSSL's DRBG, seeded by the kernel).

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace chatd::crypto {

// Fills `out`; aborts the process if the system random source fails, since nothing
// secure can be done without it.
void random_bytes(std::span<std::uint8_t> out);

// `bytes` random bytes as lowercase hex (2 * bytes characters).
std::string random_hex(std::size_t bytes);

}  // namespace chatd::crypto
