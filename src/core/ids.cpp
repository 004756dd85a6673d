#include "core/ids.hpp"

#include "core/time.hpp"
#include "crypto/random.hpp"

#include <algorithm>
#include <array>

namespace chatd {

namespace {

// Ids are minted on every request (request ids) and row: drawing their random bits from a
// per-thread block filled by the CSPRNG 4 KiB at a time keeps that off the hot path
// (OpenSSL's RAND_bytes costs a getpid() call each time) without weakening the bits.
void id_random(std::span<std::uint8_t> out) {
  thread_local std::array<std::uint8_t, 4096> block;
  thread_local std::size_t used = block.size();
  if (block.size() - used < out.size()) {
    crypto::random_bytes(block);
    used = 0;
  }
  std::copy_n(block.begin() + static_cast<std::ptrdiff_t>(used), out.size(), out.begin());
  std::fill_n(block.begin() + static_cast<std::ptrdiff_t>(used), out.size(), std::uint8_t{0});
  used += out.size();
}

}  // namespace

std::string new_uuid_v7(std::int64_t epoch_ms) {
  std::array<std::uint8_t, 16> b{};
  id_random(std::span<std::uint8_t>(b.data() + 6, 10));
  auto ms = static_cast<std::uint64_t>(epoch_ms);
  for (int i = 0; i < 6; ++i) b[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(ms >> (40 - 8 * i));
  b[6] = static_cast<std::uint8_t>(0x70 | (b[6] & 0x0f));
  b[8] = static_cast<std::uint8_t>(0x80 | (b[8] & 0x3f));
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (std::size_t i = 0; i < b.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += hex[b[i] >> 4];
    out += hex[b[i] & 0xf];
  }
  return out;
}

std::string new_uuid_v7() { return new_uuid_v7(system_now_ms()); }

bool is_uuid(const std::string& s) {
  if (s.size() != 36) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
      return false;
    }
  }
  return true;
}

}  // namespace chatd
