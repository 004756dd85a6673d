#include "crypto/ed25519.hpp"

#include "crypto/encoding.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <string>

namespace chatd::crypto {
namespace {

Bytes hex(std::string_view text) {
  auto bytes = hex_decode(text);
  EXPECT_TRUE(bytes) << text;
  return bytes.value_or(Bytes{});
}

std::string as_text(const Bytes& bytes) { return to_string(bytes); }

// RFC 8032 section 7.1, TEST 1 (empty message) and TEST 2 (one byte).
TEST(Ed25519, Rfc8032Vectors) {
  struct Vector {
    const char* seed;
    const char* public_key;
    const char* message;
    const char* signature;
  };
  const Vector vectors[] = {
      {"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
       "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
       "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe2"
       "4655141438e7a100b"},
      {"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
       "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
       "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302ae"
       "eb00d291612bb0c00"},
  };
  for (const auto& v : vectors) {
    auto key = Ed25519PrivateKey::from_seed(hex(v.seed));
    ASSERT_TRUE(key);
    EXPECT_EQ(hex_encode(key.value().public_key()), v.public_key);
    EXPECT_EQ(hex_encode(key.value().seed().span()), v.seed);
    std::string message = as_text(hex(v.message));
    auto signature = key.value().sign(message);
    EXPECT_EQ(hex_encode(signature), v.signature);
    EXPECT_TRUE(ed25519_verify(hex(v.public_key), message, hex(v.signature)));
    EXPECT_FALSE(ed25519_verify(hex(v.public_key), message + "x", hex(v.signature)));
  }
}

// RFC 8037 appendix A.4: the JWS "Example of Ed25519 signing" with the TEST 1 key.
TEST(Ed25519, Rfc8037JwsExample) {
  auto key = Ed25519PrivateKey::from_seed(hex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"));
  ASSERT_TRUE(key);
  EXPECT_EQ(base64url_encode(key.value().public_key()), "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo");
  const std::string signing_input = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc";
  const std::string expected = "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";
  EXPECT_EQ(base64url_encode(key.value().sign(signing_input)), expected);
  EXPECT_TRUE(ed25519_verify(key.value().public_key(), signing_input, base64url_decode(expected).value()));
}

TEST(Ed25519, GeneratedKeysSignAndVerify) {
  auto key = Ed25519PrivateKey::generate();
  auto other = Ed25519PrivateKey::generate();
  EXPECT_NE(key.public_key(), other.public_key());
  auto signature = key.sign("hello");
  EXPECT_TRUE(ed25519_verify(key.public_key(), "hello", signature));
  EXPECT_FALSE(ed25519_verify(other.public_key(), "hello", signature));
  EXPECT_FALSE(ed25519_verify(key.public_key(), "hellO", signature));
  auto flipped = signature;
  flipped[10] ^= 0x20;
  EXPECT_FALSE(ed25519_verify(key.public_key(), "hello", flipped));

  // A key restored from its seed is the same key.
  auto restored = Ed25519PrivateKey::from_seed(key.seed().span());
  ASSERT_TRUE(restored);
  EXPECT_EQ(restored.value().public_key(), key.public_key());
  EXPECT_EQ(restored.value().sign("hello"), signature);  // Ed25519 is deterministic
}

TEST(Ed25519, RejectsMalformedInputs) {
  auto key = Ed25519PrivateKey::generate();
  auto signature = key.sign("m");
  const auto& pub = key.public_key();
  std::span<const std::uint8_t> sig(signature);
  EXPECT_FALSE(ed25519_verify(std::span<const std::uint8_t>(pub).first(31), "m", sig));
  Bytes long_key(pub.begin(), pub.end());
  long_key.push_back(0);
  EXPECT_FALSE(ed25519_verify(long_key, "m", sig));
  EXPECT_FALSE(ed25519_verify(pub, "m", sig.first(63)));
  Bytes long_sig(sig.begin(), sig.end());
  long_sig.push_back(0);
  EXPECT_FALSE(ed25519_verify(pub, "m", long_sig));
  EXPECT_FALSE(ed25519_verify(pub, "m", Bytes{}));
  EXPECT_FALSE(ed25519_verify(Bytes(32, 0), "m", sig));
  EXPECT_FALSE(ed25519_verify(pub, "m", Bytes(64, 0)));

  EXPECT_FALSE(Ed25519PrivateKey::from_seed(Bytes(31, 1)));
  EXPECT_FALSE(Ed25519PrivateKey::from_seed(Bytes(33, 1)));
  EXPECT_FALSE(Ed25519PrivateKey::from_seed(Bytes{}));
}

// Project Wycheproof's EdDSA verification vectors (tests/data/wycheproof, Apache-2.0): every
// `valid` signature verifies, every `invalid` one (malleable S, bad encodings, truncations,
// wrong lengths) is rejected.
TEST(Ed25519, WycheproofVectors) {
  const auto path = std::filesystem::path(CHATD_TEST_DATA_DIR) / "wycheproof/ed25519_test.json";
  std::ifstream in(path);
  ASSERT_TRUE(in) << "missing test data: " << path;
  auto suite = nlohmann::json::parse(in);
  ASSERT_EQ(suite.at("algorithm"), "EDDSA");
  const int declared = suite.at("numberOfTests").get<int>();

  int ran = 0, valid = 0, invalid = 0;
  for (const auto& group : suite.at("testGroups")) {
    ASSERT_EQ(group.at("publicKey").at("curve"), "edwards25519");
    Bytes pub = hex(group.at("publicKey").at("pk").get<std::string>());
    for (const auto& test : group.at("tests")) {
      const auto id = test.at("tcId").get<int>();
      const auto result = test.at("result").get<std::string>();
      std::string message = as_text(hex(test.at("msg").get<std::string>()));
      auto sig = hex_decode(test.at("sig").get<std::string>());
      bool verified = sig && ed25519_verify(pub, message, *sig);
      if (result == "valid") {
        EXPECT_TRUE(verified) << "tcId " << id << ": " << test.at("comment");
        ++valid;
      } else if (result == "invalid") {
        EXPECT_FALSE(verified) << "tcId " << id << ": " << test.at("comment");
        ++invalid;
      } else {
        ADD_FAILURE() << "tcId " << id << ": unexpected result kind " << result;
      }
      ++ran;
    }
  }
  EXPECT_EQ(ran, declared);
  EXPECT_EQ(ran, 150);
  EXPECT_GT(valid, 0);
  EXPECT_GT(invalid, 0);
}

}  // namespace
}  // namespace chatd::crypto
