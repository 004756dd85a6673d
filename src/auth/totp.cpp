#include "auth/totp.hpp"

#include "crypto/hash.hpp"
#include "crypto/random.hpp"
#include "crypto/secret.hpp"

#include <climits>
#include <liboath/oath.h>
#include <qrencode.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <limits>
#include <memory>
#include <stdexcept>
#include <unordered_set>

namespace chatd::auth {
namespace {

constexpr std::string_view kBase32Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
// Crockford's base32 alphabet, lowercase: 32 symbols give exactly 5 bits a character (no
// modulo bias from a random byte) and leave out i, l, o and u, which are read as 1, 1, 0 or
// are easily misread.
constexpr std::string_view kRecoveryAlphabet = "0123456789abcdefghjkmnpqrstvwxyz";
static_assert(kRecoveryAlphabet.size() == 32);
constexpr std::size_t kRecoveryGroup = 5;  // characters before the dash in the shown form

constexpr int kQuietZoneModules = 4;  // the margin ISO/IEC 18004 requires around the symbol
constexpr int kPixelsPerModule = 5;   // default rendered size only; the viewBox lets CSS scale it

void ensure_oath_initialised() {
  // liboath must be initialised before use; a function-local static runs oath_init exactly once
  // even when the first calls race. oath_done is deliberately never called: worker threads may
  // still verify codes while static objects are destroyed, and the library holds nothing that
  // needs releasing at exit.
  static const bool initialised = [] {
    if (oath_init() != OATH_OK) {
      std::fputs("fatal: liboath could not be initialised\n", stderr);
      std::abort();
    }
    return true;
  }();
  (void)initialised;
}

constexpr bool is_ascii_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

std::string_view trim_ascii_space(std::string_view s) {
  while (!s.empty() && is_ascii_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_ascii_space(s.back())) s.remove_suffix(1);
  return s;
}

constexpr char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// 0-31 for a base32 digit of either case, -1 for anything else.
constexpr int base32_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a';
  if (c >= '2' && c <= '7') return c - '2' + 26;
  return -1;
}

// RFC 3986 unreserved characters and '@' (legal in both a path segment and a query, and
// common in account names) pass through; everything else, including ':', '&', '=', '+', '#',
// '/', '?', '%', space and every non-ASCII byte, becomes %XX, which authenticator apps decode.
std::string percent_encode(std::string_view text) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    const bool keep = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
                      c == '.' || c == '_' || c == '~' || c == '@';
    if (keep) {
      out += c;
    } else {
      const auto byte = static_cast<unsigned char>(c);
      out += '%';
      out += hex[byte >> 4];
      out += hex[byte & 0xf];
    }
  }
  return out;
}

struct QrcodeDeleter {
  void operator()(QRcode* code) const { QRcode_free(code); }
};

std::string random_recovery_code() {
  std::array<std::uint8_t, kRecoveryCodeLength> raw{};
  crypto::random_bytes(raw);
  std::string code;
  code.reserve(kRecoveryCodeLength + 1);
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (i == kRecoveryGroup) code += '-';
    code += kRecoveryAlphabet[raw[i] & 0x1f];  // 256 is a multiple of 32: uniform
  }
  crypto::secure_zero(raw.data(), raw.size());
  return code;
}

}  // namespace

std::string encode_base32(std::span<const std::uint8_t> data) {
  std::string out;
  out.reserve((data.size() * 8 + 4) / 5);
  std::uint32_t buffer = 0;
  int bits = 0;
  for (std::uint8_t byte : data) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += kBase32Alphabet[(buffer >> bits) & 0x1f];
    }
    buffer &= (1u << bits) - 1;  // keep only the bits not yet written
  }
  if (bits > 0) out += kBase32Alphabet[(buffer << (5 - bits)) & 0x1f];
  return out;
}

std::optional<std::vector<std::uint8_t>> decode_base32(std::string_view text) {
  // Padding, when present, must be exactly what RFC 4648 writes for the data length.
  if (const auto first_pad = text.find('='); first_pad != std::string_view::npos) {
    if (text.size() % 8 != 0) return std::nullopt;
    const std::string_view padding = text.substr(first_pad);
    if (padding.find_first_not_of('=') != std::string_view::npos) return std::nullopt;
    text = text.substr(0, first_pad);
    // Data characters in the last group -> padding characters: 2->6, 4->4, 5->3, 7->1.
    static constexpr std::array<int, 8> kPadFor = {-1, -1, 6, -1, 4, 3, -1, 1};
    if (kPadFor[text.size() % 8] != static_cast<int>(padding.size())) return std::nullopt;
  }
  // 1, 3 and 6 leftover characters cannot come from whole bytes.
  const std::size_t rest = text.size() % 8;
  if (rest == 1 || rest == 3 || rest == 6) return std::nullopt;

  std::vector<std::uint8_t> out;
  out.reserve(text.size() * 5 / 8);
  std::uint32_t buffer = 0;
  int bits = 0;
  for (char c : text) {
    const int value = base32_value(c);
    if (value < 0) return std::nullopt;
    buffer = (buffer << 5) | static_cast<std::uint32_t>(value);
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<std::uint8_t>(buffer >> bits));
      buffer &= (1u << bits) - 1;
    }
  }
  // Leftover bits must be zero, or two spellings would decode to the same bytes.
  if (buffer != 0) return std::nullopt;
  return out;
}

std::string new_totp_secret() {
  crypto::SecretBytes raw(kTotpSecretBytes);
  crypto::random_bytes(raw.span());
  return encode_base32(raw.span());
}

std::string otpauth_uri(std::string_view issuer, std::string_view account, std::string_view secret_base32) {
  std::string uri = "otpauth://totp/";
  if (!issuer.empty()) {
    uri += percent_encode(issuer);
    uri += ':';
  }
  uri += percent_encode(account);
  uri += "?secret=";
  uri += percent_encode(secret_base32);
  if (!issuer.empty()) {
    // Repeated as a parameter because that is what current apps read; the label prefix is
    // for older ones.
    uri += "&issuer=";
    uri += percent_encode(issuer);
  }
  uri += "&algorithm=SHA1&digits=";
  uri += std::to_string(kTotpDigits);
  uri += "&period=";
  uri += std::to_string(kTotpPeriodSeconds);
  return uri;
}

std::string qr_svg(std::string_view text) {
  if (text.empty() || text.size() > static_cast<std::size_t>(INT_MAX)) return {};
  // QRcode_encodeData is byte (8-bit) mode with an explicit length, so the text is encoded
  // byte for byte, embedded NULs included; version 0 picks the smallest symbol that fits.
  const std::unique_ptr<QRcode, QrcodeDeleter> code(QRcode_encodeData(
      static_cast<int>(text.size()), reinterpret_cast<const unsigned char*>(text.data()), 0, QR_ECLEVEL_M));
  if (!code) return {};

  const int width = code->width;
  const int size = width + 2 * kQuietZoneModules;
  const std::string size_text = std::to_string(size);
  const std::string pixels = std::to_string(size * kPixelsPerModule);

  // Only numbers generated here go into the document, so nothing needs escaping. Each run of
  // dark modules in a row becomes one rectangle of the path, which keeps the SVG small.
  std::string path;
  for (int y = 0; y < width; ++y) {
    const unsigned char* row = code->data + static_cast<std::ptrdiff_t>(y) * width;
    for (int x = 0; x < width;) {
      if ((row[x] & 1) == 0) {  // bit 0 is "dark"; the other bits describe the module's role
        ++x;
        continue;
      }
      int run = 1;
      while (x + run < width && (row[x + run] & 1) != 0) ++run;
      path += 'M' + std::to_string(x + kQuietZoneModules) + ' ' + std::to_string(y + kQuietZoneModules) + 'h' +
              std::to_string(run) + "v1h-" + std::to_string(run) + 'z';
      x += run;
    }
  }

  std::string svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 " + size_text + ' ' + size_text +
                    "\" width=\"" + pixels + "\" height=\"" + pixels + "\" shape-rendering=\"crispEdges\">";
  // An explicit light background: scanners need dark-on-light, whatever the page behind is.
  svg += "<rect width=\"" + size_text + "\" height=\"" + size_text + "\" fill=\"#ffffff\"/>";
  svg += "<path fill=\"#000000\" d=\"" + path + "\"/>";
  svg += "</svg>";
  return svg;
}

std::int64_t totp_step(std::int64_t now_seconds) {
  std::int64_t step = now_seconds / kTotpPeriodSeconds;
  if (now_seconds % kTotpPeriodSeconds < 0) --step;
  return step;
}

std::string totp_code(std::span<const std::uint8_t> secret, std::int64_t step) {
  if (secret.empty() || step < 0 || step > std::numeric_limits<std::time_t>::max() / kTotpPeriodSeconds) return {};
  ensure_oath_initialised();
  std::array<char, kTotpDigits + 1> buffer{};
  // Asking for the code at the step's first second with the standard period and epoch is exactly
  // HOTP with the step as counter (RFC 6238 section 4.2).
  const int rc = oath_totp_generate2(reinterpret_cast<const char*>(secret.data()), secret.size(),
                                     static_cast<std::time_t>(step * kTotpPeriodSeconds),
                                     static_cast<unsigned>(kTotpPeriodSeconds), OATH_TOTP_DEFAULT_START_TIME,
                                     static_cast<unsigned>(kTotpDigits), 0 /* HMAC-SHA1 */, buffer.data());
  std::string code;
  if (rc == OATH_OK) code.assign(buffer.data(), kTotpDigits);
  crypto::secure_zero(buffer.data(), buffer.size());
  return code;
}

std::optional<std::int64_t> verify_totp(std::span<const std::uint8_t> secret, std::string_view code,
                                        std::int64_t now_seconds, std::int64_t last_used_step, int window) {
  if (window < 0 || window > kTotpMaxWindow) throw std::invalid_argument("verify_totp: window out of range");
  if (secret.size() < kTotpMinSecretBytes || now_seconds < 0) return std::nullopt;

  const std::string_view candidate = trim_ascii_space(code);
  if (candidate.size() != static_cast<std::size_t>(kTotpDigits)) return std::nullopt;
  for (char c : candidate) {
    if (c < '0' || c > '9') return std::nullopt;
  }

  // Every step in the window is computed and compared, without stopping at a match, so the
  // time taken says nothing about which step (if any) matched. When two steps share the code
  // (about one in a million), the newest wins: recording the older one would let the same
  // code be accepted a second time for the newer step.
  const std::int64_t current = totp_step(now_seconds);
  std::optional<std::int64_t> matched;
  for (std::int64_t step = current - window; step <= current + window; ++step) {
    std::string expected = totp_code(secret, step);  // empty for a negative step: never equal
    const bool equal = crypto::constant_time_equal(expected, candidate);
    crypto::secure_zero(expected.data(), expected.size());
    if (equal) matched = step;
  }
  if (!matched || *matched <= last_used_step) return std::nullopt;
  return matched;
}

std::vector<std::string> new_recovery_codes(std::size_t count) {
  std::vector<std::string> codes;
  codes.reserve(count);
  // A repeat is astronomically unlikely (2^-50 a pair) but would leave the user fewer usable
  // codes than shown, so it is drawn again.
  std::unordered_set<std::string> seen;
  while (codes.size() < count) {
    std::string code = random_recovery_code();
    if (seen.insert(code).second) codes.push_back(std::move(code));
  }
  return codes;
}

std::string normalize_recovery_code(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (is_ascii_space(c) || c == '-') continue;
    c = ascii_lower(c);
    if (c == 'o') c = '0';
    if (c == 'i' || c == 'l') c = '1';
    out += c;
  }
  return out;
}

bool looks_like_recovery_code(std::string_view text) {
  const std::string normalized = normalize_recovery_code(text);
  return normalized.size() == kRecoveryCodeLength &&
         normalized.find_first_not_of(kRecoveryAlphabet) == std::string::npos;
}

// Why SHA-256 and not Argon2id as for passwords: a recovery code is 50 bits drawn uniformly by
// the server, not something a person chose, so there is no dictionary for a slow hash to slow
// down, and online guessing is stopped by the login rate limits and lockout long before 2^50
// tries. A deterministic hash can also be looked up directly, where a salted slow one would
// have to be run against each of the user's ten stored codes on every login attempt. What a
// fast hash gives up is resistance to an offline search of the 2^50 space by someone holding
// a copy of the database (hours of GPU time, not years); that is accepted because a recovery
// code only stands in for the second factor: such an attacker still needs the user's
// password, which is Argon2id-hashed.
std::string recovery_code_hash(std::string_view normalized) { return crypto::sha256_hex(normalized); }

}  // namespace chatd::auth
