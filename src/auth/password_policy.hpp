#pragma once
// Password rules (API.md, "Accounts and authentication"): 12-128 characters by default,
// Unicode allowed and NFKC-normalised, whitespace kept, common, leaked and dictionary-based
// passwords refused.
//
// Callers normalise first (normalize_password), then check and hash the normalised bytes,
// both at registration and at login, so that the same password typed with a different
// keyboard or input method (composed vs decomposed accents, full-width letters) matches.
//
// The checks take up to a few milliseconds for long passwords; run them on a worker pool,
// never on a network thread. Every function here is safe to call from several threads.

#include "core/result.hpp"

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace chatd::auth {

// NFKC normalisation of a UTF-8 password. Whitespace is kept as typed (no trimming, no
// collapsing); NFKC itself maps compatibility spaces such as U+00A0 to U+0020. Returns
// nullopt when `utf8` is not valid UTF-8.
std::optional<std::string> normalize_password(std::string_view utf8);

struct PasswordPolicy {
  int min_length = 12;   // CHATD_PASSWORD_MIN_LENGTH, in code points after NFKC
  int max_length = 128;  // bounds the cost of hashing and of the strength estimate
};

// zxcvbn estimates below this many bits refuse a password. Calibrated on zxcvbn-c 2.5
// (Debian 12): every common or leaked password we tried scores at most ~36 bits (e.g.
// "password1234" 3, "1q2w3e4r5t6y" 24, "1qaz2wsx3edc4rfv" 32, "zaq1xsw2cde3vfr4" 36), while
// random 16-character base64 strings score at least ~57, random 12-character alphanumeric
// ones at least ~42 and four random dictionary words separated by spaces or dashes at
// least ~58. 40 bits (about 10^12 guesses) sits in that gap with margin on both sides;
// against an Argon2id hash that is years of offline guessing. It refuses a small share of
// weaker but not-leaked choices (about 1% of random 12-letter lowercase strings and of
// three common words run together), which then get a clear message.
inline constexpr double kMinPasswordEntropyBits = 40.0;

// Problems with a normalised password, as short sentences for the end user that never
// repeat the password; empty means acceptable. `user_inputs` are the account's e-mail
// address and username (either may be empty): passwords built from them are refused.
// Does not fail: a missing cracklib dictionary only skips that one check (see
// check_password_dictionary()).
std::vector<std::string> check_password(std::string_view normalized, const PasswordPolicy& policy,
                                        std::span<const std::string_view> user_inputs = {});

// Whether cracklib's dictionary (at GetDefaultCracklibDict(), package cracklib-runtime) can
// be opened; an error names the missing file. For a startup or readiness check: without it
// check_password still refuses common passwords through zxcvbn but not cracklib's words.
Status check_password_dictionary();

}  // namespace chatd::auth
