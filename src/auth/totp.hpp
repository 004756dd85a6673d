#pragma once
// Second factor: RFC 6238 TOTP (HMAC-SHA1, 6 digits, 30 s steps, the parameters every
// authenticator app understands), its enrolment artefacts (base32 secret, otpauth:// URI, QR
// code as SVG) and single-use recovery codes. Pure functions of their inputs plus the system
// random source, so the auth service can test them with a fixed clock.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace chatd::auth {

inline constexpr int kTotpDigits = 6;
inline constexpr std::int64_t kTotpPeriodSeconds = 30;
// 160 bits, the shared-secret length RFC 4226 (R6) recommends.
inline constexpr std::size_t kTotpSecretBytes = 20;
// RFC 4226 R6's minimum (128 bits); verify_totp refuses shorter secrets.
inline constexpr std::size_t kTotpMinSecretBytes = 16;
// Largest accepted `window` for verify_totp: wider windows make guessing easier and usually
// hide a broken server clock.
inline constexpr int kTotpMaxWindow = 10;

inline constexpr std::size_t kRecoveryCodeLength = 10;  // characters, without the dash
inline constexpr std::size_t kRecoveryCodeCount = 10;

// --- base32 (RFC 4648 section 6) ---

// Uppercase base32 without '=' padding (what authenticator apps expect in otpauth URIs).
std::string encode_base32(std::span<const std::uint8_t> data);

// Case-insensitive; accepts the unpadded form and the correctly padded form. Returns nullopt
// for whitespace or any character outside [A-Za-z2-7=], '=' anywhere but as the exact padding
// of the last group, an impossible length (8n + 1, 3 or 6 characters of data) or non-zero unused
// bits in the last character (so every byte string has only one accepted spelling per case).
std::optional<std::vector<std::uint8_t>> decode_base32(std::string_view text);

// --- enrolment ---

// A fresh secret: kTotpSecretBytes random bytes as unpadded uppercase base32 (32 characters).
std::string new_totp_secret();

// otpauth://totp/<issuer>:<account>?secret=...&issuer=...&algorithm=SHA1&digits=6&period=30
// (Google Authenticator's Key Uri Format). Issuer and account are percent-encoded (RFC 3986,
// everything but unreserved characters, so a ':' inside either cannot move the label's
// separator). With an empty issuer the label is just the account and there is no issuer
// parameter. Never fails.
std::string otpauth_uri(std::string_view issuer, std::string_view account, std::string_view secret_base32);

// `text` as a QR code (byte mode, error correction level M, smallest version that fits) in a
// self-contained SVG document: a white background and one black <path>, a quiet zone of 4
// modules, a viewBox and shape-rendering="crispEdges"; no scripts, styles, links or text.
// Returns an empty string when `text` is empty or too long for any QR version (over 2331
// bytes at level M), or when libqrencode fails to allocate.
std::string qr_svg(std::string_view text);

// --- codes ---

// The time step containing `now_seconds` (floor division, so negative times round down).
std::int64_t totp_step(std::int64_t now_seconds);

// The 6-digit code of `secret` at time step `step`, zero-padded. Returns an empty string for an
// empty secret, a negative step or one whose start time does not fit time_t, or if liboath fails.
std::string totp_code(std::span<const std::uint8_t> secret, std::int64_t step);

// Checks `code` (exactly 6 ASCII digits once surrounding ASCII whitespace is trimmed) against the
// steps within `window` of the step containing `now_seconds`, comparing in constant time.
// Returns the matched step only when it is greater than `last_used_step` (-1 for none), so a
// code is accepted at most once and a code older than the last accepted one never is; the
// caller stores the returned step as the new `last_used_step`. Returns nullopt for a malformed
// code, no match, a replayed or older step, a negative `now_seconds` or a secret shorter than
// kTotpMinSecretBytes. Throws std::invalid_argument when `window` is outside [0, kTotpMaxWindow]
// (a programming error).
std::optional<std::int64_t> verify_totp(std::span<const std::uint8_t> secret, std::string_view code,
                                        std::int64_t now_seconds, std::int64_t last_used_step, int window = 1);

// --- recovery codes ---

// `count` distinct random codes, each kRecoveryCodeLength characters of Crockford's base32
// alphabet in lowercase (0-9 and a-z without i, l, o, u: 5 bits a character, 50 bits a code),
// shown as "xxxxx-xxxxx".
std::vector<std::string> new_recovery_codes(std::size_t count = kRecoveryCodeCount);

// The canonical form of what a user typed: lowercase, without ASCII whitespace and '-', and
// with the letters people confuse with digits read as those digits (o -> 0, i and l -> 1, as
// Crockford's base32 does). Does not validate; see looks_like_recovery_code.
std::string normalize_recovery_code(std::string_view text);

// Whether `text`, normalised, is kRecoveryCodeLength characters of the recovery alphabet, which
// tells a recovery code apart from a 6-digit TOTP code in the login `otp` field.
bool looks_like_recovery_code(std::string_view text);

// What is stored for a recovery code: lowercase hex SHA-256 of the normalised code (a fast
// hash on purpose; totp.cpp explains why). Never fails.
std::string recovery_code_hash(std::string_view normalized);

}  // namespace chatd::auth
