#include "crypto/encoding.hpp"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace chatd::crypto {
namespace {

std::string decoded(const std::optional<Bytes>& bytes) { return bytes ? to_string(*bytes) : std::string("<nullopt>"); }

// RFC 4648 section 10.
const std::vector<std::pair<std::string, std::string>> kBase64Vectors = {
    {"", ""},
    {"f", "Zg=="},
    {"fo", "Zm8="},
    {"foo", "Zm9v"},
    {"foob", "Zm9vYg=="},
    {"fooba", "Zm9vYmE="},
    {"foobar", "Zm9vYmFy"},
};

TEST(Base64, Rfc4648Vectors) {
  for (const auto& [plain, encoded] : kBase64Vectors) {
    EXPECT_EQ(base64_encode(plain), encoded) << plain;
    EXPECT_EQ(decoded(base64_decode(encoded)), plain) << encoded;
  }
}

TEST(Base64Url, Rfc4648VectorsWithoutPadding) {
  for (const auto& [plain, encoded] : kBase64Vectors) {
    std::string unpadded = encoded.substr(0, encoded.find('='));
    EXPECT_EQ(base64url_encode(plain), unpadded) << plain;
    EXPECT_EQ(decoded(base64url_decode(unpadded)), plain) << unpadded;
  }
}

TEST(Base64Url, UsesTheUrlSafeAlphabet) {
  const Bytes bytes = {0xfb, 0xff, 0xbf};
  EXPECT_EQ(base64_encode(bytes), "+/+/");
  EXPECT_EQ(base64url_encode(bytes), "-_-_");
  EXPECT_EQ(base64url_decode("-_-_"), bytes);
  EXPECT_EQ(base64_decode("+/+/"), bytes);
  // Each decoder refuses the other's alphabet.
  EXPECT_FALSE(base64url_decode("+/+/"));
  EXPECT_FALSE(base64_decode("-_-_"));
}

TEST(Base64Url, RejectsEverythingButTheCanonicalSpelling) {
  for (std::string bad : {"Zg==", "Zg=", "Zm8=", "Zm9v ", " Zm9v", "Zm9v\nYg", "Zm9v\tYg", "Zm9v.Yg", "Zm9v*",
                          "Z",      // 4n+1 characters can't encode whole bytes
                          "Zm9vY",  // same
                          "Zh",     // 'h' leaves unused bits set; "Zg" is the canonical "f"
                          "Zm9",    // '9' leaves unused bits set; "Zm8" is the canonical "fo"
                          "Zm9v\xc3\xa9"}) {
    EXPECT_FALSE(base64url_decode(bad)) << bad;
  }
  EXPECT_FALSE(base64url_decode(std::string("Zm9v\0Yg", 7)));
  // The canonical neighbours of the rejected spellings do decode.
  EXPECT_EQ(decoded(base64url_decode("Zg")), "f");
  EXPECT_EQ(decoded(base64url_decode("Zm8")), "fo");
}

TEST(Base64, IsStrictAboutPaddingWhitespaceAndBits) {
  for (std::string bad :
       {"Zg", "Zg=", "Zg===", "Zm8", "Zm9vYg=", "Zm9v\n", " Zm9v", "Zm9vYg==Zm9v", "Zh==", "Zm9=", "====", "Zm9v-_"}) {
    EXPECT_FALSE(base64_decode(bad)) << bad;
  }
}

TEST(Hex, EncodesLowercaseAndDecodesBothCases) {
  EXPECT_EQ(hex_encode("foobar"), "666f6f626172");
  EXPECT_EQ(hex_encode(Bytes{0x00, 0xab, 0xff}), "00abff");
  EXPECT_EQ(hex_encode(""), "");
  EXPECT_EQ(hex_decode("00abff"), (Bytes{0x00, 0xab, 0xff}));
  EXPECT_EQ(hex_decode("00ABFF"), (Bytes{0x00, 0xab, 0xff}));
  EXPECT_EQ(hex_decode(""), Bytes{});
}

TEST(Hex, RejectsOddLengthAndNonHex) {
  for (std::string bad : {"a", "abc", "zz", "0g", " 0a", "0a ", "0x0a", "0a:0b"}) {
    EXPECT_FALSE(hex_decode(bad)) << bad;
  }
}

TEST(Encoding, RoundTripsEveryByteValue) {
  Bytes all(256);
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = static_cast<std::uint8_t>(i);
  for (std::size_t length = 0; length <= all.size(); length += 37) {
    std::span<const std::uint8_t> part(all.data(), length);
    Bytes expected(part.begin(), part.end());
    EXPECT_EQ(base64url_decode(base64url_encode(part)), expected) << length;
    EXPECT_EQ(base64_decode(base64_encode(part)), expected) << length;
    EXPECT_EQ(hex_decode(hex_encode(part)), expected) << length;
  }
}

}  // namespace
}  // namespace chatd::crypto
