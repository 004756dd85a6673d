#pragma once
// Helpers the fuzz targets share: the input as text, a deterministic way to cut it into
// chunks (so that incremental parsers see every split), and FUZZ_CHECK for the invariants a
// target asserts beyond "no crash".

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <vector>

#define FUZZ_CHECK(cond)                                                                   \
  do {                                                                                     \
    if (!(cond)) {                                                                         \
      std::fprintf(stderr, "FUZZ_CHECK failed: %s at %s:%d\n", #cond, __FILE__, __LINE__); \
      std::abort();                                                                        \
    }                                                                                      \
  } while (0)

namespace chatd::fuzz {

inline std::string_view text_of(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// Takes the first byte of `text` (0 when empty) as a small number the target uses to choose
// a mode or a split pattern.
inline std::uint8_t take_byte(std::string_view& text) {
  if (text.empty()) return 0;
  auto b = static_cast<std::uint8_t>(text[0]);
  text.remove_prefix(1);
  return b;
}

// `text` cut into pieces of 1 to 16 bytes, sizes drawn from `seed` (a tiny LCG).
inline std::vector<std::string_view> split(std::string_view text, std::uint8_t seed) {
  std::vector<std::string_view> out;
  std::uint32_t state = seed * 2654435761u + 1;
  while (!text.empty()) {
    state = state * 1103515245u + 12345u;
    std::size_t n = 1 + (state >> 16) % 16;
    if (n > text.size()) n = text.size();
    out.push_back(text.substr(0, n));
    text.remove_prefix(n);
  }
  return out;
}

}  // namespace chatd::fuzz
