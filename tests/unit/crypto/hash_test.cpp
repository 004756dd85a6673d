#include "crypto/hash.hpp"

#include "crypto/encoding.hpp"
#include "crypto/secret.hpp"

#include <gtest/gtest.h>

#include <string>

namespace chatd::crypto {
namespace {

TEST(Sha256, KnownVectors) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(hex_encode(sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

// RFC 4231 test cases 1, 2 and 6 (a key longer than the 64-byte block is hashed first).
TEST(HmacSha256, Rfc4231Vectors) {
  EXPECT_EQ(hex_encode(hmac_sha256(std::string(20, '\x0b'), "Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  EXPECT_EQ(hex_encode(hmac_sha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(hex_encode(hmac_sha256(std::string(131, '\xaa'), "Test Using Larger Than Block-Size Key - Hash Key First")),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST(ConstantTimeEqual, ComparesContentAndLength) {
  EXPECT_TRUE(constant_time_equal("", ""));
  EXPECT_TRUE(constant_time_equal("secret-token", "secret-token"));
  EXPECT_FALSE(constant_time_equal("secret-token", "secret-tokeN"));
  EXPECT_FALSE(constant_time_equal("Secret-token", "secret-token"));
  EXPECT_FALSE(constant_time_equal("secret-token", "secret-token-longer"));
  EXPECT_FALSE(constant_time_equal("secret", ""));
  EXPECT_FALSE(constant_time_equal("", "secret"));
  // Bytes after an embedded NUL still count.
  EXPECT_FALSE(constant_time_equal(std::string("a\0b", 3), std::string("a\0c", 3)));
  auto digest = sha256("x");
  auto same = sha256("x");
  auto other = sha256("y");
  EXPECT_TRUE(constant_time_equal(std::span<const std::uint8_t>(digest), std::span<const std::uint8_t>(same)));
  EXPECT_FALSE(constant_time_equal(std::span<const std::uint8_t>(digest), std::span<const std::uint8_t>(other)));
}

TEST(SecretBytes, HoldsCopiesAndMovesWithoutCopying) {
  SecretBytes zeros(4);
  ASSERT_EQ(zeros.size(), 4u);
  EXPECT_EQ(zeros.view(), std::string(4, '\0'));

  SecretBytes secret(std::string_view("hunter2"));
  EXPECT_EQ(secret.view(), "hunter2");
  std::span<const std::uint8_t> bytes = secret;  // passes straight to functions taking bytes
  EXPECT_EQ(bytes.size(), 7u);
  EXPECT_EQ(bytes.data(), secret.data());
  const std::uint8_t* storage = secret.data();

  SecretBytes moved(std::move(secret));
  EXPECT_EQ(moved.view(), "hunter2");
  EXPECT_EQ(moved.data(), storage);  // the buffer changed owner; no second copy exists
  EXPECT_TRUE(secret.empty());       // NOLINT(bugprone-use-after-move): checking the moved-from state
  EXPECT_EQ(secret.data(), nullptr);

  SecretBytes assigned;
  assigned = std::move(moved);
  EXPECT_EQ(assigned.view(), "hunter2");
  EXPECT_TRUE(moved.empty());  // NOLINT(bugprone-use-after-move)

  static_assert(!std::is_copy_constructible_v<SecretBytes>);
  static_assert(!std::is_copy_assignable_v<SecretBytes>);
}

TEST(SecretBytes, SecureZeroClearsTheBuffer) {
  std::string buffer = "top secret";
  secure_zero(buffer.data(), buffer.size());
  EXPECT_EQ(buffer, std::string(10, '\0'));
}

}  // namespace
}  // namespace chatd::crypto
