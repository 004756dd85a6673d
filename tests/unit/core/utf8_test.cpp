#include "core/utf8.hpp"

#include <gtest/gtest.h>

namespace chatd::utf8 {
namespace {

constexpr std::string_view kMixed = "a\xC3\xA9\xE4\xBD\xA0\xF0\x9F\x98\x80z";  // a é 你 😀 z: 5 code points, 11 bytes

TEST(Utf8, CountsCodePoints) {
  EXPECT_EQ(code_points(""), 0u);
  EXPECT_EQ(code_points("abc"), 3u);
  EXPECT_EQ(code_points(kMixed), 5u);
  EXPECT_EQ(code_points("\x80\x80"), 0u);  // stray continuation bytes start nothing
}

TEST(Utf8, PrefixByBytesNeverSplitsACodePoint) {
  EXPECT_EQ(prefix_bytes(kMixed, 100), kMixed);
  EXPECT_EQ(prefix_bytes(kMixed, 11), kMixed);
  EXPECT_EQ(prefix_bytes(kMixed, 1), "a");
  EXPECT_EQ(prefix_bytes(kMixed, 2), "a");  // inside é
  EXPECT_EQ(prefix_bytes(kMixed, 3), "a\xC3\xA9");
  EXPECT_EQ(prefix_bytes(kMixed, 9), "a\xC3\xA9\xE4\xBD\xA0");  // inside 😀
  EXPECT_EQ(prefix_bytes(kMixed, 0), "");
}

TEST(Utf8, PrefixByCodePoints) {
  EXPECT_EQ(prefix_points(kMixed, 0), "");
  EXPECT_EQ(prefix_points(kMixed, 2), "a\xC3\xA9");
  EXPECT_EQ(prefix_points(kMixed, 4), "a\xC3\xA9\xE4\xBD\xA0\xF0\x9F\x98\x80");
  EXPECT_EQ(prefix_points(kMixed, 5), kMixed);
  EXPECT_EQ(prefix_points(kMixed, 50), kMixed);
}

}  // namespace
}  // namespace chatd::utf8
