// auth/jwt: access token verification. A token from the input (mode byte even), or a header
// and claims from the input signed with the right key (mode byte odd), so that the checks
// after the signature see arbitrary JSON too. A token that passes carries what the options
// demand.

#include "auth/jwt.hpp"

#include "crypto/encoding.hpp"
#include "fuzz.hpp"

namespace {

using namespace chatd;

const crypto::Ed25519PrivateKey& signing_key() {
  static const auto key = crypto::Ed25519PrivateKey::from_seed(crypto::Bytes(32, 7)).value();
  return key;
}

std::string signed_token(std::string_view header, std::string_view payload) {
  std::string input = crypto::base64url_encode(header) + "." + crypto::base64url_encode(payload);
  const auto signature = signing_key().sign(input);
  return input + "." + crypto::base64url_encode(std::span<const std::uint8_t>(signature.data(), signature.size()));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text = fuzz::text_of(data, size);
  const std::uint8_t mode = fuzz::take_byte(text);
  std::string token;
  if (mode & 1) {
    const auto cut = text.find('\n');
    token = cut == std::string_view::npos ? signed_token(R"({"alg":"EdDSA","kid":"k1","typ":"JWT"})", text)
                                          : signed_token(text.substr(0, cut), text.substr(cut + 1));
  } else {
    token = std::string(text);
  }
  auth::KeyLookup keys = [](std::string_view kid) -> std::optional<std::vector<std::uint8_t>> {
    FUZZ_CHECK(auth::is_valid_kid(kid));
    if (kid != "k1") return std::nullopt;
    const auto& pub = signing_key().public_key();
    return std::vector<std::uint8_t>(pub.begin(), pub.end());
  };
  auth::VerifyOptions options;
  options.issuer = "https://chatd.test";
  options.audience = "chatd";
  options.now_seconds = 1'800'000'000;
  auto claims = auth::verify_jwt(token, keys, options);
  if (!claims) {
    FUZZ_CHECK(claims.error().code == Code::unauthenticated);
    return 0;
  }
  FUZZ_CHECK(claims.value().is_object());
  FUZZ_CHECK(claims.value().value("iss", "") == options.issuer);
  return 0;
}
