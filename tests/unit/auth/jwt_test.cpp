#include "auth/jwt.hpp"

#include "crypto/encoding.hpp"
#include "crypto/hash.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

namespace chatd::auth {
namespace {

using nlohmann::json;
namespace crypto = chatd::crypto;

constexpr std::int64_t kNow = 1'800'000'000;
const std::string kIssuer = "https://chatd.test";
const std::string kAudience = "chatd";

crypto::Ed25519PrivateKey key_from_byte(std::uint8_t byte) {
  return crypto::Ed25519PrivateKey::from_seed(crypto::Bytes(32, byte)).value();
}

class Jwt : public ::testing::Test {
 protected:
  Jwt() : key_(key_from_byte(1)), attacker_(key_from_byte(2)) {
    lookup_ = [this](std::string_view kid) -> std::optional<std::vector<std::uint8_t>> {
      looked_up_.emplace_back(kid);
      if (kid == "k1") return std::vector<std::uint8_t>(key_.public_key().begin(), key_.public_key().end());
      return std::nullopt;
    };
    options_.issuer = kIssuer;
    options_.audience = kAudience;
    options_.now_seconds = kNow;
  }

  static json claims() {
    return {{"iss", kIssuer}, {"aud", kAudience}, {"sub", "user-1"},    {"exp", kNow + 900},
            {"iat", kNow},    {"jti", "jti-1"},   {"sid", "session-1"}, {"roles", {"user"}}};
  }
  static json without(json c, const char* name) {
    c.erase(name);
    return c;
  }
  static json with(json c, const char* name, json value) {
    c[name] = std::move(value);
    return c;
  }

  // A token from literal header and payload text, signed by `signer`: lets a test put
  // anything (duplicate keys, odd algorithms) into a correctly signed token.
  static std::string raw_token(const std::string& header, const std::string& payload,
                               const crypto::Ed25519PrivateKey& signer) {
    std::string input = crypto::base64url_encode(header) + "." + crypto::base64url_encode(payload);
    return input + "." + crypto::base64url_encode(signer.sign(input));
  }
  std::string token_with_header(const std::string& header) const { return raw_token(header, claims().dump(), key_); }
  std::string token_with_claims(const json& c) const { return sign_jwt(c, "k1", key_); }

  Result<json> verify(std::string_view token) const { return verify_jwt(token, lookup_, options_); }

  // Rejected with the contract's error, and without echoing anything from the token.
  void expect_rejected(const std::string& token, const std::string& why) const {
    auto result = verify(token);
    ASSERT_FALSE(result) << why;
    const Error& e = result.error();
    EXPECT_EQ(e.code, Code::unauthenticated) << why;
    EXPECT_EQ(e.reason, "unauthorized") << why;
    EXPECT_EQ(e.detail, "the access token is missing, invalid or expired") << why;
    EXPECT_TRUE(e.fields.empty()) << why;
    for (const std::string& part : {e.detail, e.internal}) {
      EXPECT_EQ(part.find("eyJ"), std::string::npos) << why << ": " << part;
      EXPECT_EQ(part.find("passwd"), std::string::npos) << why << ": " << part;
      EXPECT_EQ(part.find("OR '1'"), std::string::npos) << why << ": " << part;
    }
  }

  crypto::Ed25519PrivateKey key_;
  crypto::Ed25519PrivateKey attacker_;
  std::vector<std::string> looked_up_;
  KeyLookup lookup_;
  VerifyOptions options_;
};

TEST_F(Jwt, RoundTrip) {
  std::string token = sign_jwt(claims(), "k1", key_);
  auto result = verify(token);
  ASSERT_TRUE(result) << result.error().internal;
  EXPECT_EQ(result.value(), claims());
  EXPECT_EQ(looked_up_, std::vector<std::string>{"k1"});

  // The header is exactly {"alg":"EdDSA","kid":"k1","typ":"JWT"}.
  auto header_b64 = token.substr(0, token.find('.'));
  auto header = json::parse(crypto::to_string(crypto::base64url_decode(header_b64).value()));
  EXPECT_EQ(header, (json{{"alg", "EdDSA"}, {"typ", "JWT"}, {"kid", "k1"}}));
  EXPECT_EQ(std::count(token.begin(), token.end(), '.'), 2);
  EXPECT_EQ(token.find('='), std::string::npos);
}

TEST_F(Jwt, AcceptsWhatTheRulesAllow) {
  EXPECT_TRUE(verify(token_with_claims(with(claims(), "aud", {"other", kAudience}))));
  EXPECT_TRUE(verify(token_with_claims(with(claims(), "exp", kNow - 29))));  // within the leeway
  EXPECT_TRUE(verify(token_with_claims(with(claims(), "nbf", kNow + 29))));
  EXPECT_TRUE(verify(token_with_claims(with(claims(), "nbf", kNow))));
  EXPECT_TRUE(verify(token_with_claims(with(claims(), "iat", kNow + 29))));
  EXPECT_TRUE(verify(token_with_claims(with(claims(), "exp", static_cast<double>(kNow) + 0.5))));
  EXPECT_TRUE(verify(token_with_header(R"({"alg":"EdDSA","kid":"k1"})")));  // typ is optional
  // Key-locating headers are ignored, not refused: the key still comes from the lookup.
  EXPECT_TRUE(verify(token_with_header(R"({"alg":"EdDSA","kid":"k1","jku":"https://evil.example/jwks"})")));
}

TEST_F(Jwt, RejectsForbiddenAlgorithms) {
  std::string payload = crypto::base64url_encode(claims().dump());
  // alg none with an empty signature: the classic bypass.
  std::string none_header = crypto::base64url_encode(R"({"alg":"none","typ":"JWT"})");
  expect_rejected(none_header + "." + payload + ".", "alg none, empty signature");
  expect_rejected(token_with_header(R"({"alg":"none","typ":"JWT","kid":"k1"})"), "alg none, real signature");

  // HS256 keyed with the public key bytes (and with their base64url text): key confusion.
  std::string hs_input = crypto::base64url_encode(R"({"alg":"HS256","typ":"JWT","kid":"k1"})") + "." + payload;
  std::string pub(key_.public_key().begin(), key_.public_key().end());
  expect_rejected(hs_input + "." + crypto::base64url_encode(crypto::hmac_sha256(pub, hs_input)), "HS256, raw pub");
  std::string pub_text = crypto::base64url_encode(key_.public_key());
  expect_rejected(hs_input + "." + crypto::base64url_encode(crypto::hmac_sha256(pub_text, hs_input)),
                  "HS256, pub as text");

  for (const char* alg : {"HS256", "ES256", "RS256", "EdDSA ", " EdDSA", "eddsa", "EDDSA", "Ed25519", ""}) {
    expect_rejected(token_with_header(json{{"alg", alg}, {"typ", "JWT"}, {"kid", "k1"}}.dump()), alg);
  }
  expect_rejected(token_with_header(R"({"alg":["EdDSA"],"kid":"k1"})"), "alg array");
  expect_rejected(token_with_header(R"({"typ":"JWT","kid":"k1"})"), "alg missing");
}

TEST_F(Jwt, RejectsBadHeaders) {
  expect_rejected(token_with_header(R"({"alg":"EdDSA","typ":"JWS","kid":"k1"})"), "typ not JWT");
  expect_rejected(token_with_header(R"({"alg":"EdDSA","typ":1,"kid":"k1"})"), "typ not a string");
  expect_rejected(token_with_header(R"({"alg":"EdDSA","kid":"k1","crit":["exp"]})"), "crit present");
  expect_rejected(token_with_header(R"({"alg":"EdDSA","kid":"k1","crit":[]})"), "crit empty");
  expect_rejected(token_with_header(R"({"alg":"EdDSA","typ":"JWT"})"), "kid missing");
  expect_rejected(token_with_header(R"({"alg":"EdDSA","kid":""})"), "kid empty");
  expect_rejected(token_with_header(R"({"alg":"EdDSA","kid":1})"), "kid not a string");
  expect_rejected(token_with_header(R"(["alg","EdDSA"])"), "header an array");
  expect_rejected(token_with_header(R"({"alg":"EdDSA","kid":"k1")"), "header truncated JSON");
  expect_rejected(token_with_header(R"({"alg":"none","alg":"EdDSA","kid":"k1"})"), "duplicate alg");
  expect_rejected(token_with_header(R"({"alg":"none","\u0061lg":"EdDSA","kid":"k1"})"), "duplicate escaped alg");
  expect_rejected(token_with_header(R"({"alg":"EdDSA","kid":"k2","kid":"k1"})"), "duplicate kid");
}

TEST_F(Jwt, RejectsUnknownOrHostileKeyIds) {
  expect_rejected(raw_token(R"({"alg":"EdDSA","kid":"k2"})", claims().dump(), key_), "unknown kid");
  EXPECT_EQ(looked_up_, std::vector<std::string>{"k2"});
  looked_up_.clear();
  // Malformed ids are refused before the lookup ever sees them.
  for (const std::string& kid : {std::string("../../etc/passwd"), std::string("1' OR '1'='1"), std::string(65, 'a'),
                                 std::string("k1 "), std::string("k1\n"), std::string("k\u00e9")}) {
    expect_rejected(token_with_header(json{{"alg", "EdDSA"}, {"kid", kid}}.dump()), kid);
  }
  EXPECT_TRUE(looked_up_.empty());
  EXPECT_TRUE(is_valid_kid(std::string(64, 'a')));
  EXPECT_TRUE(is_valid_kid("2026-01_key-A9"));
}

TEST_F(Jwt, NeverTakesTheKeyFromTheToken) {
  const std::string attacker_x = crypto::base64url_encode(attacker_.public_key());
  // jku pointing elsewhere, signed with an unknown key under an unknown kid.
  expect_rejected(raw_token(R"({"alg":"EdDSA","kid":"attacker","jku":"https://evil.example/jwks.json"})",
                            claims().dump(), attacker_),
                  "jku, attacker kid");
  // ... and under our kid: our key does not verify the attacker's signature.
  expect_rejected(
      raw_token(R"({"alg":"EdDSA","kid":"k1","jku":"https://evil.example/jwks.json"})", claims().dump(), attacker_),
      "jku, our kid");
  // jwk embedding the attacker's public key, with and without a kid of ours.
  json jwk = {{"kty", "OKP"}, {"crv", "Ed25519"}, {"x", attacker_x}};
  expect_rejected(raw_token(json{{"alg", "EdDSA"}, {"kid", "k1"}, {"jwk", jwk}}.dump(), claims().dump(), attacker_),
                  "jwk, our kid");
  expect_rejected(raw_token(json{{"alg", "EdDSA"}, {"jwk", jwk}}.dump(), claims().dump(), attacker_), "jwk, no kid");
  expect_rejected(raw_token(json{{"alg", "EdDSA"}, {"kid", "k1"}, {"x5u", "https://evil.example/cert.pem"}}.dump(),
                            claims().dump(), attacker_),
                  "x5u");
}

TEST_F(Jwt, RejectsTampering) {
  std::string token = sign_jwt(claims(), "k1", key_);
  auto first_dot = token.find('.');
  auto second_dot = token.find('.', first_dot + 1);
  std::string header = token.substr(0, first_dot);
  std::string signature = token.substr(second_dot + 1);
  ASSERT_TRUE(verify(token));

  std::string other_header = crypto::base64url_encode(R"({"alg":"EdDSA","kid":"k1"})");
  expect_rejected(other_header + token.substr(first_dot), "header replaced");
  std::string admin_payload = crypto::base64url_encode(with(claims(), "roles", {"admin"}).dump());
  expect_rejected(header + "." + admin_payload + "." + signature, "payload replaced");

  auto sig_bytes = crypto::base64url_decode(signature).value();
  sig_bytes[0] ^= 0x01;
  expect_rejected(token.substr(0, second_dot + 1) + crypto::base64url_encode(sig_bytes), "signature bit flipped");
  sig_bytes[0] ^= 0x01;
  // (Built by range rather than pop_back: GCC 12 at -O3 warns falsely about pop_back here.)
  std::vector<std::uint8_t> short_sig(sig_bytes.begin(), sig_bytes.begin() + 63);
  expect_rejected(token.substr(0, second_dot + 1) + crypto::base64url_encode(short_sig), "63-byte signature");
  auto long_sig = sig_bytes;
  long_sig.push_back(0);
  expect_rejected(token.substr(0, second_dot + 1) + crypto::base64url_encode(long_sig), "65-byte signature");
  expect_rejected(token.substr(0, second_dot + 1), "empty signature");
}

TEST_F(Jwt, RejectsMalformedSerialisation) {
  std::string token = sign_jwt(claims(), "k1", key_);
  ASSERT_TRUE(verify(token));
  auto first_dot = token.find('.');
  auto second_dot = token.find('.', first_dot + 1);
  expect_rejected("", "empty");
  expect_rejected(token + ".", "4 parts, empty");
  expect_rejected(token + "." + token.substr(second_dot + 1), "4 parts");
  EXPECT_NE(verify(token + "." + token.substr(second_dot + 1)).error().internal.find("three parts"), std::string::npos);
  expect_rejected(token.substr(0, second_dot), "2 parts");
  expect_rejected(token.substr(0, first_dot), "1 part");
  expect_rejected("..", "3 empty parts");
  expect_rejected(token + "=", "padding on the signature");
  expect_rejected(token.substr(0, first_dot) + "=" + token.substr(first_dot), "padding on the header");
  expect_rejected(" " + token, "leading space");
  expect_rejected(token + "\n", "trailing newline");
  std::string plus = token;
  plus[first_dot + 3] = '+';
  expect_rejected(plus, "'+' from the standard alphabet");
  std::string slash = token;
  slash[second_dot + 3] = '/';
  expect_rejected(slash, "'/' from the standard alphabet");
  std::string star = token;
  star[5] = '*';
  expect_rejected(star, "'*'");
}

TEST_F(Jwt, RejectsBadPayloads) {
  const std::string header = R"({"alg":"EdDSA","kid":"k1"})";
  expect_rejected(raw_token(header, "[1,2,3]", key_), "payload an array");
  expect_rejected(raw_token(header, R"("just a string")", key_), "payload a string");
  expect_rejected(raw_token(header, "", key_), "payload empty");
  expect_rejected(raw_token(header, claims().dump().substr(1), key_), "payload broken JSON");
  std::string body = claims().dump();
  body.pop_back();
  expect_rejected(raw_token(header, body + R"(,"sub":"admin"})", key_), "duplicate sub");
  expect_rejected(raw_token(header, body + R"(,"ext":{"a":1,"a":2}})", key_), "nested duplicate");
  EXPECT_TRUE(verify(raw_token(header, body + R"(,"ext":{"a":1,"b":{"a":2}}})", key_))) << "same key, other objects";
}

TEST_F(Jwt, RejectsWrongClaims) {
  expect_rejected(token_with_claims(with(claims(), "aud", "someone-else")), "wrong aud");
  expect_rejected(token_with_claims(with(claims(), "aud", {"a", "b"})), "aud array without ours");
  expect_rejected(token_with_claims(with(claims(), "aud", json::array())), "aud empty array");
  expect_rejected(token_with_claims(with(claims(), "aud", {kAudience, 1})), "aud array with a non-string");
  expect_rejected(token_with_claims(with(claims(), "aud", "CHATD")), "aud differs in case");
  expect_rejected(token_with_claims(without(claims(), "aud")), "aud missing");
  expect_rejected(token_with_claims(with(claims(), "iss", "https://evil.example")), "wrong iss");
  expect_rejected(token_with_claims(with(claims(), "iss", {kIssuer})), "iss array");
  expect_rejected(token_with_claims(without(claims(), "iss")), "iss missing");
  expect_rejected(token_with_claims(with(claims(), "exp", kNow - 31)), "expired beyond leeway");
  expect_rejected(token_with_claims(with(claims(), "exp", std::to_string(kNow + 900))), "exp a string");
  expect_rejected(token_with_claims(without(claims(), "exp")), "exp missing");
  expect_rejected(token_with_claims(with(claims(), "nbf", kNow + 31)), "nbf in the future");
  expect_rejected(token_with_claims(with(claims(), "nbf", "0")), "nbf a string");
  expect_rejected(token_with_claims(with(claims(), "iat", kNow + 31)), "iat in the future");
  expect_rejected(token_with_claims(without(claims(), "iat")), "iat missing");
  expect_rejected(token_with_claims(without(claims(), "sub")), "sub missing");
  expect_rejected(token_with_claims(with(claims(), "sub", "")), "sub empty");
  expect_rejected(token_with_claims(with(claims(), "sub", 42)), "sub a number");
  expect_rejected(token_with_claims(without(claims(), "sid")), "sid missing");
  expect_rejected(token_with_claims(with(claims(), "sid", nullptr)), "sid null");
  expect_rejected(token_with_claims(without(claims(), "jti")), "jti missing");
}

TEST_F(Jwt, LeewayIsConfigurable) {
  std::string just_expired = token_with_claims(with(claims(), "exp", kNow - 1));
  EXPECT_TRUE(verify(just_expired));
  options_.leeway_seconds = 0;
  expect_rejected(just_expired, "expired, no leeway");
  expect_rejected(token_with_claims(with(claims(), "exp", kNow)), "exp == now, no leeway");
}

TEST_F(Jwt, RejectsOversizedTokens) {
  std::string huge = token_with_claims(with(claims(), "pad", std::string(9000, 'x')));
  ASSERT_GT(huge.size(), 8192u);
  expect_rejected(huge, "over max_token_bytes");
  options_.max_token_bytes = 1 << 16;
  EXPECT_TRUE(verify(huge));  // the size, not the content, was the reason
}

TEST_F(Jwt, RejectsWhenMisconfigured) {
  std::string token = sign_jwt(claims(), "k1", key_);
  EXPECT_FALSE(verify_jwt(token, KeyLookup{}, options_));
  // A lookup handing back something that is not a 32-byte key.
  auto short_key = [this](std::string_view) {
    return std::optional<std::vector<std::uint8_t>>(
        std::vector<std::uint8_t>(key_.public_key().begin(), key_.public_key().end() - 1));
  };
  EXPECT_FALSE(verify_jwt(token, short_key, options_));
  VerifyOptions no_audience = options_;
  no_audience.audience.clear();
  EXPECT_FALSE(verify_jwt(token, lookup_, no_audience));
}

TEST_F(Jwt, SignRefusesProgrammerErrors) {
  EXPECT_THROW(sign_jwt(json::array(), "k1", key_), std::invalid_argument);
  EXPECT_THROW(sign_jwt(claims(), "../k1", key_), std::invalid_argument);
  EXPECT_THROW(sign_jwt(claims(), "", key_), std::invalid_argument);
}

TEST(Jwk, Rfc8037PublicKey) {
  auto key = crypto::Ed25519PrivateKey::from_seed(
                 crypto::hex_decode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60").value())
                 .value();
  json jwk = jwk_for("k1", key.public_key());
  EXPECT_EQ(jwk, (json{{"kty", "OKP"},
                       {"crv", "Ed25519"},
                       {"x", "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
                       {"kid", "k1"},
                       {"alg", "EdDSA"},
                       {"use", "sig"}}));
  EXPECT_FALSE(jwk.contains("d"));  // never the private part
  std::vector<std::uint8_t> as_vector(key.public_key().begin(), key.public_key().end());
  EXPECT_EQ(jwk_for("k1", as_vector), jwk);
  as_vector.pop_back();
  EXPECT_THROW(jwk_for("k1", as_vector), std::invalid_argument);
}

}  // namespace
}  // namespace chatd::auth
