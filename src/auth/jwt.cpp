#include "auth/jwt.hpp"

#include "crypto/encoding.hpp"

#include <set>
#include <stdexcept>
#include <vector>

namespace chatd::auth {

namespace {

using nlohmann::json;

constexpr std::size_t kMaxKidLength = 64;

Error unauthorized(const char* why) {
  Error e = fail(Code::unauthenticated, "the access token is missing, invalid or expired", "unauthorized");
  e.internal = std::string("jwt rejected: ") + why;
  return e;
}

// Parses a JSON object and refuses duplicate member names at any depth. nlohmann silently keeps
// the last duplicate, while another JSON parser (say, a proxy's) may keep the first; a token
// that two parsers read differently must not be accepted.
std::optional<json> parse_object(std::string_view text) {
  std::vector<std::set<std::string>> open_objects;
  bool duplicate = false;
  json::parser_callback_t callback = [&](int /*depth*/, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start: open_objects.emplace_back(); break;
      case json::parse_event_t::key:
        if (!open_objects.empty() && !open_objects.back().insert(parsed.get<std::string>()).second) duplicate = true;
        break;
      case json::parse_event_t::object_end:
        if (!open_objects.empty()) open_objects.pop_back();
        break;
      default: break;
    }
    return true;
  };
  json value = json::parse(text.begin(), text.end(), callback, /*allow_exceptions=*/false);
  if (value.is_discarded() || duplicate || !value.is_object()) return std::nullopt;
  return value;
}

std::optional<std::string> decode_part(std::string_view part) {
  auto bytes = crypto::base64url_decode(part);
  if (!bytes) return std::nullopt;
  return crypto::to_string(*bytes);
}

// A NumericDate (RFC 7519): any JSON number, integral or not.
std::optional<double> numeric_date(const json& claims, const char* name) {
  auto it = claims.find(name);
  if (it == claims.end() || !it->is_number()) return std::nullopt;
  return it->get<double>();
}

bool non_empty_string(const json& claims, const char* name) {
  auto it = claims.find(name);
  return it != claims.end() && it->is_string() && !it->get_ref<const std::string&>().empty();
}

bool audience_matches(const json& aud, const std::string& audience) {
  if (aud.is_string()) return aud.get_ref<const std::string&>() == audience;
  if (!aud.is_array() || aud.empty()) return false;
  bool found = false;
  for (const auto& entry : aud) {
    if (!entry.is_string()) return false;
    if (entry.get_ref<const std::string&>() == audience) found = true;
  }
  return found;
}

Status check_header(const json& header) {
  auto alg = header.find("alg");
  // Exactly "EdDSA": the algorithm is fixed by us, never chosen by the token ("none", HS256
  // with the public key as the HMAC secret, and look-alikes such as "EdDSA " all fail here).
  if (alg == header.end() || !alg->is_string() || alg->get_ref<const std::string&>() != "EdDSA") {
    return unauthorized("alg is not EdDSA");
  }
  if (auto typ = header.find("typ"); typ != header.end() && (!typ->is_string() || typ->get<std::string>() != "JWT")) {
    return unauthorized("typ is not JWT");
  }
  // We understand no critical extension, and RFC 7515 says to reject a token naming one.
  if (header.contains("crit")) return unauthorized("crit header present");
  auto kid = header.find("kid");
  if (kid == header.end() || !kid->is_string() || !is_valid_kid(kid->get_ref<const std::string&>())) {
    return unauthorized("kid missing or malformed");
  }
  // jku, jwk, x5u and x5c are ignored on purpose: a key named by the token itself proves nothing.
  return ok();
}

Status check_claims(const json& claims, const VerifyOptions& options) {
  auto iss = claims.find("iss");
  if (options.issuer.empty() || iss == claims.end() || !iss->is_string() ||
      iss->get_ref<const std::string&>() != options.issuer) {
    return unauthorized("wrong or missing iss");
  }
  auto aud = claims.find("aud");
  if (options.audience.empty() || aud == claims.end() || !audience_matches(*aud, options.audience)) {
    return unauthorized("wrong or missing aud");
  }
  const auto now = static_cast<double>(options.now_seconds);
  const auto leeway = static_cast<double>(options.leeway_seconds);
  auto exp = numeric_date(claims, "exp");
  if (!exp) return unauthorized("exp missing or not a number");
  if (!(now < *exp + leeway)) return unauthorized("expired");
  if (claims.contains("nbf")) {
    auto nbf = numeric_date(claims, "nbf");
    if (!nbf) return unauthorized("nbf not a number");
    if (!(now >= *nbf - leeway)) return unauthorized("not yet valid (nbf)");
  }
  auto iat = numeric_date(claims, "iat");
  if (!iat) return unauthorized("iat missing or not a number");
  if (*iat > now + leeway) return unauthorized("issued in the future (iat)");
  if (!non_empty_string(claims, "sub")) return unauthorized("sub missing or empty");
  if (!non_empty_string(claims, "jti")) return unauthorized("jti missing or empty");
  if (!non_empty_string(claims, "sid")) return unauthorized("sid missing or empty");
  return ok();
}

}  // namespace

bool is_valid_kid(std::string_view kid) {
  if (kid.empty() || kid.size() > kMaxKidLength) return false;
  for (char c : kid) {
    bool allowed = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!allowed) return false;
  }
  return true;
}

std::string sign_jwt(const json& claims, std::string_view kid, const crypto::Ed25519PrivateKey& key) {
  if (!claims.is_object()) throw std::invalid_argument("sign_jwt: claims must be a JSON object");
  if (!is_valid_kid(kid)) throw std::invalid_argument("sign_jwt: malformed kid");
  json header = {{"alg", "EdDSA"}, {"typ", "JWT"}, {"kid", std::string(kid)}};
  std::string signing_input = crypto::base64url_encode(header.dump()) + "." + crypto::base64url_encode(claims.dump());
  auto signature = key.sign(signing_input);
  return signing_input + "." + crypto::base64url_encode(signature);
}

Result<json> verify_jwt(std::string_view token, const KeyLookup& keys, const VerifyOptions& options) {
  if (token.empty() || token.size() > options.max_token_bytes) return unauthorized("empty or oversized token");
  auto first_dot = token.find('.');
  auto second_dot = first_dot == std::string_view::npos ? first_dot : token.find('.', first_dot + 1);
  if (second_dot == std::string_view::npos || token.find('.', second_dot + 1) != std::string_view::npos) {
    return unauthorized("not three parts");
  }
  auto header_text = decode_part(token.substr(0, first_dot));
  auto payload_text = decode_part(token.substr(first_dot + 1, second_dot - first_dot - 1));
  auto signature = crypto::base64url_decode(token.substr(second_dot + 1));
  if (!header_text || !payload_text || !signature) return unauthorized("malformed base64url");

  auto header = parse_object(*header_text);
  if (!header) return unauthorized("header is not a JSON object without duplicate keys");
  if (auto checked = check_header(*header); !checked) return std::move(checked).error();

  auto public_key = keys ? keys(header->at("kid").get_ref<const std::string&>()) : std::nullopt;
  if (!public_key) return unauthorized("unknown kid");
  if (public_key->size() != 32) return unauthorized("key lookup returned a key that is not 32 bytes");
  if (signature->size() != 64) return unauthorized("signature is not 64 bytes");
  if (!crypto::ed25519_verify(*public_key, token.substr(0, second_dot), *signature)) {
    return unauthorized("bad signature");
  }

  // Only now, with the signature checked, is the payload worth parsing.
  auto claims = parse_object(*payload_text);
  if (!claims) return unauthorized("payload is not a JSON object without duplicate keys");
  if (auto checked = check_claims(*claims, options); !checked) return std::move(checked).error();
  return std::move(*claims);
}

json jwk_for(std::string_view kid, std::span<const std::uint8_t> public_key) {
  if (public_key.size() != 32) throw std::invalid_argument("jwk_for: an Ed25519 public key is 32 bytes");
  return {{"kty", "OKP"},   {"crv", "Ed25519"}, {"x", crypto::base64url_encode(public_key)}, {"kid", std::string(kid)},
          {"alg", "EdDSA"}, {"use", "sig"}};
}

}  // namespace chatd::auth
