#include "auth/totp.hpp"

#include "crypto/encoding.hpp"
#include "crypto/hash.hpp"
#include "crypto/random.hpp"

#include <gtest/gtest.h>
#include <liboath/oath.h>
#include <qrencode.h>

#include <array>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <regex>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <sys/wait.h>
#include <system_error>
#include <vector>

namespace chatd::auth {
namespace {

namespace crypto = chatd::crypto;

// RFC 6238 Appendix B uses this ASCII string as the SHA-1 key.
const std::string kRfcSecretText = "12345678901234567890";

std::vector<std::uint8_t> rfc_secret() {
  const auto bytes = crypto::as_bytes(kRfcSecretText);
  return {bytes.begin(), bytes.end()};
}

std::vector<std::uint8_t> random_secret(std::size_t size = kTotpSecretBytes) {
  std::vector<std::uint8_t> secret(size);
  crypto::random_bytes(secret);
  return secret;
}

// The 8-digit code liboath computes directly, as a reference independent of totp_code.
std::string oath_code8(const std::vector<std::uint8_t>& secret, std::int64_t time) {
  EXPECT_EQ(oath_init(), OATH_OK);
  std::array<char, 9> out{};
  const int rc = oath_totp_generate2(reinterpret_cast<const char*>(secret.data()), secret.size(),
                                     static_cast<time_t>(time), 30, 0, 8, 0, out.data());
  EXPECT_EQ(rc, OATH_OK) << oath_strerror(rc);
  return out.data();
}

struct FreeDeleter {
  void operator()(char* p) const { std::free(p); }
};
struct QrcodeDeleter {
  void operator()(QRcode* code) const { QRcode_free(code); }
};

struct CommandResult {
  int status = -1;  // as from pclose: 0 only for a normal exit with code 0
  std::string output;
};

CommandResult run_command(const std::string& command) {
  CommandResult result;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return result;
  std::array<char, 256> buffer{};
  std::size_t n = 0;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0) result.output.append(buffer.data(), n);
  result.status = pclose(pipe);
  return result;
}

std::int64_t random_time() {
  std::array<std::uint8_t, 8> raw{};
  crypto::random_bytes(raw);
  std::uint64_t value = 0;
  for (auto b : raw) value = (value << 8) | b;
  return static_cast<std::int64_t>(value % (std::uint64_t{1} << 34));  // 1970 to the year 2514
}

// --- RFC 6238 and oathtool ---

TEST(Totp, Rfc6238AppendixBSha1Vectors) {
  struct Vector {
    std::int64_t time;
    const char* code8;
  };
  const Vector vectors[] = {{59, "94287082"},         {1111111109, "07081804"}, {1111111111, "14050471"},
                            {1234567890, "89005924"}, {2000000000, "69279037"}, {20000000000, "65353130"}};
  const auto secret = rfc_secret();
  for (const auto& v : vectors) {
    SCOPED_TRACE(v.time);
    EXPECT_EQ(oath_code8(secret, v.time), v.code8);
    const std::string six = std::string(v.code8).substr(2);
    EXPECT_EQ(totp_code(secret, totp_step(v.time)), six);
    EXPECT_EQ(verify_totp(secret, six, v.time, -1), totp_step(v.time));
  }
}

TEST(Totp, AgreesWithOathtoolCli) {
  // An independent implementation (oathtool reads the base32 secret and the time itself).
  // scripts/install-deps installs oathtool, so its absence fails the test rather than skipping.
  for (int i = 0; i < 6; ++i) {
    const std::string secret_text = new_totp_secret();
    const auto secret = decode_base32(secret_text);
    ASSERT_TRUE(secret);
    for (const std::int64_t time : {std::int64_t{0}, std::int64_t{59}, random_time(), random_time()}) {
      const std::string command = "oathtool --totp -b -N @" + std::to_string(time) + " " + secret_text + " 2>&1";
      const CommandResult result = run_command(command);
      ASSERT_EQ(result.status, 0) << command << "\n" << result.output << "(is oathtool installed?)";
      EXPECT_EQ(result.output, totp_code(*secret, totp_step(time)) + "\n") << command;
    }
  }
}

TEST(Totp, StepIsFloorOfThirtySeconds) {
  EXPECT_EQ(totp_step(0), 0);
  EXPECT_EQ(totp_step(29), 0);
  EXPECT_EQ(totp_step(30), 1);
  EXPECT_EQ(totp_step(59), 1);
  EXPECT_EQ(totp_step(60), 2);
  EXPECT_EQ(totp_step(-1), -1);
  EXPECT_EQ(totp_step(-30), -1);
  EXPECT_EQ(totp_step(-31), -2);
}

TEST(Totp, CodesAreSixZeroPaddedDigits) {
  const auto secret = rfc_secret();
  bool saw_leading_zero = false;
  for (std::int64_t step = 0; step < 2000; ++step) {
    const std::string code = totp_code(secret, step);
    ASSERT_EQ(code.size(), 6u) << step;
    ASSERT_EQ(code.find_first_not_of("0123456789"), std::string::npos) << code;
    saw_leading_zero = saw_leading_zero || code[0] == '0';
  }
  EXPECT_TRUE(saw_leading_zero);
}

TEST(Totp, CodeFailuresAreEmpty) {
  EXPECT_EQ(totp_code(rfc_secret(), -1), "");
  EXPECT_EQ(totp_code({}, 1), "");
}

// --- base32 ---

TEST(TotpBase32, Rfc4648Vectors) {
  struct Vector {
    const char* plain;
    const char* padded;
  };
  const Vector vectors[] = {{"", ""},
                            {"f", "MY======"},
                            {"fo", "MZXQ===="},
                            {"foo", "MZXW6==="},
                            {"foob", "MZXW6YQ="},
                            {"fooba", "MZXW6YTB"},
                            {"foobar", "MZXW6YTBOI======"}};
  for (const auto& v : vectors) {
    SCOPED_TRACE(v.plain);
    const std::string padded = v.padded;
    const std::string unpadded = padded.substr(0, padded.find('='));
    EXPECT_EQ(encode_base32(crypto::as_bytes(v.plain)), unpadded);
    for (const std::string& text : {padded, unpadded}) {
      const auto decoded = decode_base32(text);
      ASSERT_TRUE(decoded) << text;
      EXPECT_EQ(crypto::to_string(*decoded), v.plain);
      std::string lower = text;
      for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      const auto decoded_lower = decode_base32(lower);
      ASSERT_TRUE(decoded_lower) << lower;
      EXPECT_EQ(crypto::to_string(*decoded_lower), v.plain);
    }
  }
}

TEST(TotpBase32, RoundTripsAndMatchesLiboath) {
  ASSERT_EQ(oath_init(), OATH_OK);
  for (std::size_t size = 0; size <= 64; ++size) {
    const auto data = random_secret(size);
    const std::string text = encode_base32(data);
    EXPECT_EQ(decode_base32(text), data) << text;

    char* oath_text = nullptr;
    std::size_t oath_length = 0;
    ASSERT_EQ(oath_base32_encode(reinterpret_cast<const char*>(data.data()), data.size(), &oath_text, &oath_length),
              OATH_OK);
    const std::unique_ptr<char, FreeDeleter> owned(oath_text);
    const std::string padded(oath_text, oath_length);
    EXPECT_EQ(padded.substr(0, padded.find('=')), text);
    EXPECT_EQ(decode_base32(padded), data) << padded;
  }
}

TEST(TotpBase32, DecodeIsStrict) {
  for (const char* bad : {
           "M",                 // 1 character cannot hold a byte
           "MZX",               // neither can 3 or 6 leftover characters
           "MZXW6Y",            //
           "A",                 // the same with all-zero bits
           "AAA",               //
           "AAAAAA",            //
           "MZ",                // non-zero unused bits ("f" is "MY")
           "MZXW6YTBOJ",        // the same in a longer input
           "MY=====",           // too little padding
           "MY=======",         // too much
           "MY====",            // not a multiple of 8 once padded
           "MZXW6Y==",          // 6 data characters cannot be padded
           "MY======MY======",  // data after padding
           "M=Y=====",          // '=' inside the data
           "========",          // padding alone
           "MZXW 6YTB",         // whitespace
           " MZXW6YTB",         //
           "MZXW6YTB\n",        //
           "MZXW6YT0",          // digits outside 2-7
           "MZXW6YT1",          //
           "MZXW6YT8",          //
           "MZXW6YT9",          //
           "MZXW6-TB",          // other punctuation
           "MZXW6YT\xC3\x84",   // non-ASCII
       }) {
    EXPECT_FALSE(decode_base32(bad)) << '"' << bad << '"';
  }
  EXPECT_FALSE(decode_base32(std::string_view("MZXW6YT\0", 8)));
}

// --- enrolment ---

TEST(TotpEnrolment, NewSecretIs160RandomBits) {
  const std::string a = new_totp_secret();
  const std::string b = new_totp_secret();
  EXPECT_EQ(a.size(), 32u);
  EXPECT_EQ(a.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"), std::string::npos) << a;
  const auto decoded = decode_base32(a);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->size(), kTotpSecretBytes);
  EXPECT_NE(a, b);
}

TEST(TotpEnrolment, OtpauthUriExact) {
  EXPECT_EQ(otpauth_uri("chatd", "alice@example.com", "JBSWY3DPEHPK3PXP"),
            "otpauth://totp/chatd:alice@example.com?secret=JBSWY3DPEHPK3PXP&issuer=chatd"
            "&algorithm=SHA1&digits=6&period=30");
}

TEST(TotpEnrolment, OtpauthUriPercentEncodesIssuerAndAccount) {
  EXPECT_EQ(otpauth_uri("Acme Chat: EU",
                        "b\xC3\xB6"
                        "b&x=1+2#/?%",
                        "JBSWY3DPEHPK3PXP"),
            "otpauth://totp/Acme%20Chat%3A%20EU:b%C3%B6b%26x%3D1%2B2%23%2F%3F%25"
            "?secret=JBSWY3DPEHPK3PXP&issuer=Acme%20Chat%3A%20EU&algorithm=SHA1&digits=6&period=30");
  // Without an issuer there is nothing to prefix, and no empty issuer parameter.
  EXPECT_EQ(otpauth_uri("", "a:b", "JBSWY3DPEHPK3PXP"),
            "otpauth://totp/a%3Ab?secret=JBSWY3DPEHPK3PXP&algorithm=SHA1&digits=6&period=30");
}

// Reads the modules back out of the path ("M<x> <y>h<n>v1h-<n>z" per run of dark modules).
// Parsed by hand: std::regex recurses once per character and overflows the stack under ASan.
std::set<std::pair<int, int>> dark_modules_of_svg(const std::string& svg) {
  std::set<std::pair<int, int>> dark;
  const std::size_t path = svg.find("<path ");
  const std::size_t start = svg.find("d=\"", path);
  if (path == std::string::npos || start == std::string::npos) {
    ADD_FAILURE() << "no path data";
    return dark;
  }
  const std::size_t end = svg.find('"', start + 3);
  std::string_view d(svg.data() + start + 3, end - start - 3);
  const auto literal = [&d](std::string_view expected) {
    if (d.substr(0, expected.size()) != expected) return false;
    d.remove_prefix(expected.size());
    return true;
  };
  const auto number = [&d](int& out) {
    const auto [ptr, ec] = std::from_chars(d.data(), d.data() + d.size(), out);
    if (ec != std::errc() || ptr == d.data()) return false;
    d.remove_prefix(static_cast<std::size_t>(ptr - d.data()));
    return true;
  };
  while (!d.empty()) {
    int x = 0, y = 0, run = 0, back = 0;
    if (!(literal("M") && number(x) && literal(" ") && number(y) && literal("h") && number(run) && literal("v1h-") &&
          number(back) && literal("z") && run > 0 && back == run)) {
      ADD_FAILURE() << "unexpected path data at: " << d.substr(0, 40);
      return dark;
    }
    for (int i = 0; i < run; ++i) dark.emplace(x + i, y);
  }
  return dark;
}

TEST(TotpEnrolment, QrSvgIsSelfContainedAndEncodesTheText) {
  const std::string text = otpauth_uri("chatd", "alice@example.com", new_totp_secret());
  const std::string svg = qr_svg(text);
  ASSERT_FALSE(svg.empty());
  EXPECT_EQ(svg.rfind("<svg ", 0), 0u) << svg.substr(0, 80);
  EXPECT_EQ(svg.substr(svg.size() - 6), "</svg>");
  EXPECT_NE(svg.find("shape-rendering=\"crispEdges\""), std::string::npos);
  EXPECT_EQ(svg.find("<script"), std::string::npos);
  EXPECT_EQ(svg.find("href"), std::string::npos);
  EXPECT_EQ(svg.find("style"), std::string::npos);
  EXPECT_EQ(svg.find("<path"), svg.rfind("<path")) << "one path";
  // The only URL is the SVG namespace name, which nothing fetches.
  EXPECT_EQ(svg.find("http"), svg.rfind("http"));

  // Same symbol as libqrencode produces for the text in byte mode at level M, moved by the
  // 4-module quiet zone, and a viewBox that includes the quiet zone on every side.
  const std::unique_ptr<QRcode, QrcodeDeleter> expected(QRcode_encodeData(
      static_cast<int>(text.size()), reinterpret_cast<const unsigned char*>(text.data()), 0, QR_ECLEVEL_M));
  ASSERT_TRUE(expected);
  const int size = expected->width + 8;
  EXPECT_NE(svg.find("viewBox=\"0 0 " + std::to_string(size) + " " + std::to_string(size) + "\""), std::string::npos)
      << svg.substr(0, 200);
  std::set<std::pair<int, int>> want;
  for (int y = 0; y < expected->width; ++y) {
    for (int x = 0; x < expected->width; ++x) {
      if (expected->data[y * expected->width + x] & 1) want.emplace(x + 4, y + 4);
    }
  }
  EXPECT_EQ(dark_modules_of_svg(svg), want);
}

TEST(TotpEnrolment, QrSvgFailuresAreEmpty) {
  EXPECT_EQ(qr_svg(""), "");
  EXPECT_EQ(qr_svg(std::string(3000, 'x')), "");         // over a version-40 symbol's capacity at M
  EXPECT_FALSE(qr_svg(std::string(2331, 'x')).empty());  // exactly the capacity
}

// --- verify_totp ---

class VerifyTotp : public ::testing::Test {
 protected:
  // 15 s into a step, so "now" is not at a boundary.
  static constexpr std::int64_t kNow = 1'700'000'025;
  const std::vector<std::uint8_t> secret_ = rfc_secret();
  const std::int64_t step_ = totp_step(kNow);

  std::string code_at(std::int64_t offset) const { return totp_code(secret_, step_ + offset); }

  void SetUp() override {
    // The assertions below assume the fixed secret has different codes at these five steps.
    std::set<std::string> codes;
    for (int offset = -2; offset <= 2; ++offset) codes.insert(code_at(offset));
    ASSERT_EQ(codes.size(), 5u);
  }
};

TEST_F(VerifyTotp, AcceptsTheCurrentStep) { EXPECT_EQ(verify_totp(secret_, code_at(0), kNow, -1), step_); }

TEST_F(VerifyTotp, AcceptsOneStepOfSkewEitherSide) {
  EXPECT_EQ(verify_totp(secret_, code_at(-1), kNow, -1), step_ - 1);
  EXPECT_EQ(verify_totp(secret_, code_at(1), kNow, -1), step_ + 1);
}

TEST_F(VerifyTotp, RefusesTwoStepsOff) {
  EXPECT_FALSE(verify_totp(secret_, code_at(-2), kNow, -1));
  EXPECT_FALSE(verify_totp(secret_, code_at(2), kNow, -1));
}

TEST_F(VerifyTotp, WindowZeroAcceptsOnlyTheCurrentStep) {
  EXPECT_EQ(verify_totp(secret_, code_at(0), kNow, -1, 0), step_);
  EXPECT_FALSE(verify_totp(secret_, code_at(-1), kNow, -1, 0));
  EXPECT_FALSE(verify_totp(secret_, code_at(1), kNow, -1, 0));
}

TEST_F(VerifyTotp, WiderWindowAcceptsFurther) {
  EXPECT_EQ(verify_totp(secret_, code_at(-2), kNow, -1, 2), step_ - 2);
  EXPECT_EQ(verify_totp(secret_, code_at(2), kNow, -1, 2), step_ + 2);
}

TEST_F(VerifyTotp, RefusesReplayAndOlderSteps) {
  const auto first = verify_totp(secret_, code_at(0), kNow, -1);
  ASSERT_EQ(first, step_);
  // The same code again, also later in its window.
  EXPECT_FALSE(verify_totp(secret_, code_at(0), kNow, *first));
  EXPECT_FALSE(verify_totp(secret_, code_at(0), kNow + 30, *first));
  // A code of an earlier step, though still within the skew window.
  EXPECT_FALSE(verify_totp(secret_, code_at(-1), kNow, *first));
  // The next step's code is still fine.
  EXPECT_EQ(verify_totp(secret_, code_at(1), kNow, *first), step_ + 1);
  // Once a future step was used, the current one is refused too.
  EXPECT_FALSE(verify_totp(secret_, code_at(0), kNow, step_ + 1));
}

TEST_F(VerifyTotp, SharedCodeRecordsTheNewestStep) {
  // With the RFC secret, steps 57017782 and 57017784 happen to share their code (found by a
  // search; about one pair in a million). Accepting it must record the newer step, or the
  // same code could be accepted again for it.
  constexpr std::int64_t kOlder = 57'017'782;
  ASSERT_EQ(totp_code(secret_, kOlder), totp_code(secret_, kOlder + 2));
  ASSERT_NE(totp_code(secret_, kOlder), totp_code(secret_, kOlder + 1));
  const std::int64_t now = (kOlder + 1) * kTotpPeriodSeconds + 5;
  const auto first = verify_totp(secret_, totp_code(secret_, kOlder), now, -1);
  EXPECT_EQ(first, kOlder + 2);
  EXPECT_FALSE(verify_totp(secret_, totp_code(secret_, kOlder), now, first.value_or(kOlder)));
}

TEST_F(VerifyTotp, AcceptsSurroundingWhitespaceOnly) {
  const std::string code = code_at(0);
  EXPECT_EQ(verify_totp(secret_, " " + code + "\r\n", kNow, -1), step_);
  EXPECT_EQ(verify_totp(secret_, "\t" + code, kNow, -1), step_);
  EXPECT_FALSE(verify_totp(secret_, code.substr(0, 3) + " " + code.substr(3), kNow, -1));
  EXPECT_FALSE(verify_totp(secret_, code.substr(0, 3) + "-" + code.substr(3), kNow, -1));
}

TEST_F(VerifyTotp, RefusesMalformedCodes) {
  const std::string code = code_at(0);
  for (const std::string& bad : {
           std::string(), std::string("      "), code.substr(0, 5),  // 5 digits
           code.substr(1),                                           //
           code + "0",                                               // 7 digits
           "0" + code,                                               //
           code.substr(0, 5) + "a",                                  // non-digit
           "+" + code.substr(1),                                     //
           "-" + code.substr(1),                                     //
           std::string("\xEF\xBC\x91\xEF\xBC\x92\xEF\xBC\x93"),      // full-width digits
           code + std::string(1, '\0'),                              // embedded NUL
           std::string(1, '\0') + code,                              //
           code + code,                                              //
       }) {
    EXPECT_FALSE(verify_totp(secret_, bad, kNow, -1)) << '"' << bad << '"';
  }
}

TEST_F(VerifyTotp, RefusesShortSecretsAndNegativeTime) {
  const std::vector<std::uint8_t> short_secret(secret_.begin(), secret_.begin() + 15);
  EXPECT_FALSE(verify_totp(short_secret, totp_code(short_secret, step_), kNow, -1));
  const std::vector<std::uint8_t> min_secret(secret_.begin(), secret_.begin() + 16);
  EXPECT_EQ(verify_totp(min_secret, totp_code(min_secret, step_), kNow, -1), step_);
  EXPECT_FALSE(verify_totp(secret_, totp_code(secret_, 0), -1, -1));
  EXPECT_FALSE(verify_totp({}, "123456", kNow, -1));
}

TEST_F(VerifyTotp, WorksAtTheEpoch) {
  // Step -1 does not exist; the window just ends at step 0.
  EXPECT_EQ(verify_totp(secret_, totp_code(secret_, 0), 0, -1), 0);
  EXPECT_EQ(verify_totp(secret_, totp_code(secret_, 1), 0, -1), 1);
  EXPECT_EQ(verify_totp(secret_, totp_code(secret_, 0), 0, 0), std::nullopt);
}

TEST_F(VerifyTotp, WindowOutOfRangeIsAProgrammingError) {
  EXPECT_THROW(verify_totp(secret_, code_at(0), kNow, -1, -1), std::invalid_argument);
  EXPECT_THROW(verify_totp(secret_, code_at(0), kNow, -1, kTotpMaxWindow + 1), std::invalid_argument);
}

TEST_F(VerifyTotp, RandomSecretsAgreeWithTotpCode) {
  for (int i = 0; i < 20; ++i) {
    const auto secret = random_secret();
    const std::int64_t now = random_time();
    EXPECT_EQ(verify_totp(secret, totp_code(secret, totp_step(now)), now, -1), totp_step(now));
  }
}

// --- recovery codes ---

const std::regex kShownRecoveryCode("^[0-9a-hjkmnp-tv-z]{5}-[0-9a-hjkmnp-tv-z]{5}$");

TEST(TotpRecoveryCodes, TenUniqueWellFormedCodes) {
  const auto codes = new_recovery_codes();
  ASSERT_EQ(codes.size(), 10u);
  EXPECT_EQ(std::set<std::string>(codes.begin(), codes.end()).size(), codes.size());
  for (const auto& code : codes) {
    EXPECT_TRUE(std::regex_match(code, kShownRecoveryCode)) << code;
    EXPECT_TRUE(looks_like_recovery_code(code)) << code;
    const std::string normalized = normalize_recovery_code(code);
    EXPECT_EQ(normalized, code.substr(0, 5) + code.substr(6));
    EXPECT_EQ(normalize_recovery_code(normalized), normalized);
  }
  EXPECT_TRUE(new_recovery_codes(0).empty());
  EXPECT_EQ(new_recovery_codes(3).size(), 3u);
}

TEST(TotpRecoveryCodes, UseTheWholeAlphabet) {
  // 1000 characters drawn uniformly from 32 miss one with probability about 5e-13; a biased or
  // truncated alphabet shows up here.
  std::set<char> seen;
  for (const auto& code : new_recovery_codes(100)) {
    for (char c : normalize_recovery_code(code)) seen.insert(c);
  }
  EXPECT_EQ(std::string(seen.begin(), seen.end()), "0123456789abcdefghjkmnpqrstvwxyz");
}

TEST(TotpRecoveryCodes, NormalisationForgivesTyping) {
  EXPECT_EQ(normalize_recovery_code(" AB3DE - FGH9K\n"), "ab3defgh9k");
  EXPECT_EQ(normalize_recovery_code("abcde-fghjk"), "abcdefghjk");
  EXPECT_EQ(normalize_recovery_code("ab cd ef gh jk"), "abcdefghjk");
  // Letters read as digits.
  EXPECT_EQ(normalize_recovery_code("OoIiLl-01"), "00111101");
  EXPECT_TRUE(looks_like_recovery_code("ABCDE FGHJK"));
  EXPECT_TRUE(looks_like_recovery_code("abcdefghjk"));
  EXPECT_TRUE(looks_like_recovery_code("oilOI-LIoo0"));
}

TEST(TotpRecoveryCodes, TellsThemApartFromTotpCodes) {
  EXPECT_FALSE(looks_like_recovery_code("123456"));
  EXPECT_FALSE(looks_like_recovery_code(" 123456 "));
  EXPECT_FALSE(looks_like_recovery_code(totp_code(rfc_secret(), 1)));
  EXPECT_FALSE(looks_like_recovery_code(""));
  EXPECT_FALSE(looks_like_recovery_code("abcde-fghj"));    // 9
  EXPECT_FALSE(looks_like_recovery_code("abcde-fghjkm"));  // 11
  EXPECT_FALSE(looks_like_recovery_code("abcde-fghju"));   // 'u' is not in the alphabet
  EXPECT_FALSE(looks_like_recovery_code("abcde_fghjk"));   // other separators
  EXPECT_FALSE(looks_like_recovery_code("abcde-fgh\xC3\xA9"));
}

TEST(TotpRecoveryCodes, HashIsSha256HexOfTheNormalisedCode) {
  const std::string hash = recovery_code_hash("abcdefghjk");
  EXPECT_EQ(hash, crypto::sha256_hex("abcdefghjk"));
  EXPECT_EQ(hash.size(), 64u);
  EXPECT_EQ(hash.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(recovery_code_hash(normalize_recovery_code("ABCDE-FGHJK")), hash);
  EXPECT_NE(recovery_code_hash("abcdefghjm"), hash);
  // SHA-256("abc"), FIPS 180-2 appendix B.1.
  EXPECT_EQ(recovery_code_hash("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

}  // namespace
}  // namespace chatd::auth
