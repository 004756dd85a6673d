#pragma once
// Access tokens: JWS compact serialisation (RFC 7515/7519) signed with EdDSA (Ed25519, RFC 8037)
// and nothing else. The verifier is deliberately narrow: one algorithm, the key chosen only by
// `kid` through the caller's lookup (never from jku/jwk/x5u/x5c in the token), strict base64url,
// no duplicate JSON keys, and every claim the API contract names checked.

#include "core/result.hpp"
#include "crypto/ed25519.hpp"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace chatd::auth {

// The raw 32-byte Ed25519 public key for a key id, or nullopt when the id is unknown (or its key
// retired). A key of any other length makes verification fail.
using KeyLookup = std::function<std::optional<std::vector<std::uint8_t>>(std::string_view kid)>;

struct VerifyOptions {
  std::string issuer;    // required `iss`
  std::string audience;  // must equal `aud`, or be one element of an `aud` array
  std::int64_t now_seconds = 0;
  std::int64_t leeway_seconds = 30;  // clock skew allowed on exp, nbf and iat
  std::size_t max_token_bytes = 8192;
};

// Whether `kid` may appear in a token: 1-64 characters from [A-Za-z0-9_-]. Anything else is
// refused before a key lookup, so no path or SQL text ever reaches the key store.
bool is_valid_kid(std::string_view kid);

// `claims` signed under the header {"alg":"EdDSA","kid":kid,"typ":"JWT"}. Throws
// std::invalid_argument (a programmer error) when `claims` is not an object or `kid` is not
// valid per is_valid_kid.
std::string sign_jwt(const nlohmann::json& claims, std::string_view kid, const crypto::Ed25519PrivateKey& key);

// The claims of `token` once its header, signature and claims all pass (see the rules in
// jwt.cpp). Every failure is Code::unauthenticated with reason "unauthorized" and the same
// generic detail, so a client learns nothing about which check failed; Error::internal names
// the check for the log and never contains token text.
Result<nlohmann::json> verify_jwt(std::string_view token, const KeyLookup& keys, const VerifyOptions& options);

// The RFC 7517/8037 JSON Web Key of an Ed25519 public key, for the JWKS document:
// {"kty":"OKP","crv":"Ed25519","x":<base64url>,"kid":kid,"alg":"EdDSA","use":"sig"}.
// Throws std::invalid_argument (a programmer error) unless `public_key` is 32 bytes.
nlohmann::json jwk_for(std::string_view kid, std::span<const std::uint8_t> public_key);

}  // namespace chatd::auth
