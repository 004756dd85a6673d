#include "auth/password_policy.hpp"

// crack.h uses size_t without including a header that declares it.
#include <crack.h>
#include <uninorm.h>
#include <unistd.h>
#include <unistr.h>
#include <zxcvbn.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <libintl.h>
#include <memory>
#include <mutex>
#include <new>

// Why two estimators:
// - zxcvbn-c is the primary check. Its compiled-in dictionaries hold Xato's 10,000 most
//   common leaked passwords (words-10k-pass.txt in Debian's build), frequent English words
//   (Wikipedia, TV and film scripts), first names and surnames, and it recognises what
//   people do to them: appended digits and years, capitalisation, l33t substitutions,
//   repeats ("sunshinesunshine"), sequences ("abcdefghijkl"), keyboard walks ("1qaz2wsx")
//   and the account's own username and e-mail. It returns an entropy estimate, refused
//   below kMinPasswordEntropyBits. That covers API.md's "10,000 most common leaked
//   passwords and dictionary words".
// - cracklib (FascistCheckUser against the system dictionary of cracklib-runtime) adds a
//   second, larger word list with its own mangling rules (reversed, pluralised, prefixed,
//   suffixed words). Only its dictionary- and user-based verdicts are honoured: its other
//   rules were written for 8-character Unix passwords and misfire on long ones (its
//   "too simplistic/systematic" rule counts adjacent letters such as "de" or "st" anywhere
//   in the string and refuses about 1% of random four-word passphrases and some random
//   base64 strings); length is our own rule, and repeats and sequences are better judged
//   by zxcvbn.
// - zxcvbn-c works on bytes, so a rule of our own refuses passwords with fewer than
//   kMinDistinct different characters (it misses repeats of multi-byte characters).
// All messages are our own fixed sentences, so that nothing the libraries print (and never
// the password) reaches the user.

namespace chatd::auth {
namespace {

const char* const kUserBased = "Do not base the password on your username or e-mail address.";
const char* const kCommon =
    "This password is too common: it appears in lists of leaked passwords or is based on a dictionary "
    "word. Try a few unrelated words or a password manager.";
const char* const kPattern =
    "This password is too easy to guess: avoid repeated characters, sequences, keyboard patterns "
    "and dates.";
const char* const kWeak =
    "This password is too easy to guess: choose something less predictable, for example several "
    "unrelated words.";

// Fewer distinct code points than this is refused outright (see check_password).
constexpr std::size_t kMinDistinct = 5;

const std::uint8_t* bytes(std::string_view text) { return reinterpret_cast<const std::uint8_t*>(text.data()); }

void add_unique(std::vector<std::string>& problems, const char* message) {
  if (std::find(problems.begin(), problems.end(), message) == problems.end()) problems.emplace_back(message);
}

bool is_control(ucs4_t c) { return c < 0x20 || (c >= 0x7f && c <= 0x9f); }

std::string ascii_lower(std::string_view text) {
  std::string out(text);
  for (char& ch : out) {
    if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
  }
  return out;
}

// What the account's own data contributes to guessing: the whole username and e-mail, the
// e-mail's local part, each alphanumeric run of 3+ characters ("alice", "smith", "acme"
// from alice.smith@acme.example; not the final domain label) and the runs joined
// ("alicesmith"). zxcvbn treats these as a small, highly likely dictionary, so including
// short pieces only lowers the estimate of the parts they cover.
std::vector<std::string> user_words(std::span<const std::string_view> user_inputs) {
  std::vector<std::string> words;
  auto add = [&](std::string_view w) {
    if (w.size() < 3) return;
    std::string lower = ascii_lower(w);
    if (std::find(words.begin(), words.end(), lower) == words.end()) words.push_back(std::move(lower));
  };
  for (std::string_view input : user_inputs) {
    if (input.empty()) continue;
    add(input);
    std::string_view local = input;
    std::string_view domain;
    if (auto at = input.rfind('@'); at != std::string_view::npos) {
      local = input.substr(0, at);
      domain = input.substr(at + 1);
      add(local);
    }
    auto runs = [&](std::string_view text, bool skip_last, std::string& joined) {
      std::vector<std::string_view> found;
      std::size_t i = 0;
      while (i < text.size()) {
        while (i < text.size() && !std::isalnum(static_cast<unsigned char>(text[i]))) ++i;
        std::size_t start = i;
        while (i < text.size() && std::isalnum(static_cast<unsigned char>(text[i]))) ++i;
        if (i > start) found.push_back(text.substr(start, i - start));
      }
      if (skip_last && !found.empty()) found.pop_back();
      for (auto run : found) {
        add(run);
        joined += run;
      }
    };
    std::string joined_local;
    runs(local, false, joined_local);
    add(joined_local);
    std::string ignored;
    runs(domain, true, ignored);
  }
  return words;
}

// zxcvbn's verdict as one of our messages, chosen by what its best parse consists of.
const char* zxcvbn_problem(const std::string& password, const std::vector<std::string>& words) {
  std::vector<const char*> dict;
  dict.reserve(words.size() + 1);
  for (const auto& w : words) dict.push_back(w.c_str());
  dict.push_back(nullptr);

  ZxcMatch_t* info = nullptr;
  const double entropy = ZxcvbnMatch(password.c_str(), dict.data(), &info);
  std::unique_ptr<ZxcMatch_t, void (*)(ZxcMatch_t*)> guard(info, ZxcvbnFreeInfo);
  if (entropy >= kMinPasswordEntropyBits) return nullptr;

  bool user = false;
  int dictionary_chars = 0;
  int pattern_chars = 0;
  for (const ZxcMatch_t* m = info; m != nullptr; m = m->Next) {
    const int type = static_cast<int>(m->Type);
    const bool repeated = (type & MULTIPLE_MATCH) != 0;  // a part that recurs ("abab", "xyzxyz")
    switch (type & ~static_cast<int>(MULTIPLE_MATCH)) {
      case USER_MATCH:
      case USER_LEET_MATCH: user = true; break;
      case DICTIONARY_MATCH:
      case DICT_LEET_MATCH: dictionary_chars += m->Length; break;
      case REPEATS_MATCH:
      case SEQUENCE_MATCH:
      case SPATIAL_MATCH:
      case DATE_MATCH:
      case YEAR_MATCH: pattern_chars += m->Length; break;
      default:
        if (repeated) pattern_chars += m->Length;
        break;
    }
  }
  if (user) return kUserBased;
  if (dictionary_chars == 0 && pattern_chars == 0) return kWeak;
  return dictionary_chars >= pattern_chars ? kCommon : kPattern;
}

// True when cracklib's answer is `msgid`, in English or in the current locale's translation
// (cracklib passes its messages through gettext).
bool verdict_is(const char* verdict, const char* msgid) {
  return std::strcmp(verdict, msgid) == 0 || std::strcmp(verdict, dgettext("cracklib", msgid)) == 0;
}

bool dictionary_files_readable(const std::string& prefix) {
  // cracklib needs the index and the data file (.hwm is optional). Checking first keeps it
  // from printing an error to stderr on every call when cracklib-runtime is missing.
  return ::access((prefix + ".pwd").c_str(), R_OK) == 0 && ::access((prefix + ".pwi").c_str(), R_OK) == 0;
}

const char* cracklib_problem(const std::string& password, std::span<const std::string_view> user_inputs) {
  const std::string dictionary = GetDefaultCracklibDict();
  if (!dictionary_files_readable(dictionary)) return nullptr;

  // cracklib compares against a Unix account: the user name, and the GECOS full name split
  // into words. Without a user it would look up the account chatd runs as, so pass ours
  // (an empty name when there is none) and the e-mail's local part as the "full name".
  std::string user;
  std::string gecos;
  for (std::string_view input : user_inputs) {
    if (auto at = input.rfind('@'); at != std::string_view::npos) {
      if (gecos.empty()) gecos = std::string(input.substr(0, at));
    } else if (user.empty()) {
      user = std::string(input);
    }
  }
  auto separator = [](char ch) { return ch == '.' || ch == '_' || ch == '-' || ch == '+'; };
  std::replace_if(gecos.begin(), gecos.end(), separator, ' ');

  // cracklib keeps static buffers and is not documented as thread-safe; its verdict is read
  // before the lock is released.
  static std::mutex cracklib_mutex;
  std::lock_guard lock(cracklib_mutex);
  const char* verdict = FascistCheckUser(password.c_str(), dictionary.c_str(), user.c_str(), gecos.c_str());
  if (verdict == nullptr) return nullptr;
  for (const char* msgid : {"it is based on a dictionary word", "it is based on a (reversed) dictionary word"}) {
    if (verdict_is(verdict, msgid)) return kCommon;
  }
  for (const char* msgid : {"it is based on your username", "it is based upon your password entry",
                            "it is derived from your password entry", "it is derivable from your password entry"}) {
    if (verdict_is(verdict, msgid)) return kUserBased;
  }
  return nullptr;  // a structural rule we leave to zxcvbn and the length check (see the top)
}

}  // namespace

std::optional<std::string> normalize_password(std::string_view utf8) {
  if (u8_check(bytes(utf8), utf8.size()) != nullptr) return std::nullopt;
  if (utf8.empty()) return std::string();
  std::size_t length = 0;
  std::unique_ptr<std::uint8_t, decltype(&std::free)> normalized(
      u8_normalize(UNINORM_NFKC, bytes(utf8), utf8.size(), nullptr, &length), &std::free);
  // The input is valid, so the only possible failure is running out of memory.
  if (!normalized) throw std::bad_alloc();
  std::string out(reinterpret_cast<const char*>(normalized.get()), length);
  explicit_bzero(normalized.get(), length);  // a password copy should not linger in freed memory
  return out;
}

std::vector<std::string> check_password(std::string_view normalized, const PasswordPolicy& policy,
                                        std::span<const std::string_view> user_inputs) {
  std::vector<std::string> problems;
  if (u8_check(bytes(normalized), normalized.size()) != nullptr) {
    problems.emplace_back("The password must be valid UTF-8 text.");
    return problems;
  }

  std::size_t code_points = 0;
  bool control = false;
  bool nul = false;
  std::array<ucs4_t, kMinDistinct> distinct{};
  std::size_t distinct_count = 0;
  const std::uint8_t* p = bytes(normalized);
  const std::uint8_t* end = p + normalized.size();
  while (p < end) {
    ucs4_t c = 0;
    p += u8_mbtouc_unsafe(&c, p, static_cast<std::size_t>(end - p));
    ++code_points;
    control = control || is_control(c);
    nul = nul || c == 0;
    if (distinct_count < kMinDistinct &&
        std::find(distinct.begin(), distinct.begin() + distinct_count, c) == distinct.begin() + distinct_count) {
      distinct[distinct_count++] = c;
    }
  }

  if (code_points < static_cast<std::size_t>(std::max(policy.min_length, 0))) {
    problems.push_back("Use at least " + std::to_string(policy.min_length) + " characters.");
  }
  if (code_points > static_cast<std::size_t>(std::max(policy.max_length, 0))) {
    // Stop here: the estimators' cost grows with the length, and the user must shorten it anyway.
    problems.push_back("Use at most " + std::to_string(policy.max_length) + " characters.");
    return problems;
  }
  if (control) problems.emplace_back("Do not use control characters such as tabs or line breaks.");
  // zxcvbn-c works on bytes and does not see "\U0001F600\U0001F601" repeated six times as a
  // repeat; so few distinct characters is never a strong password, in any script.
  if (distinct_count < kMinDistinct && !normalized.empty()) add_unique(problems, kPattern);
  // Both libraries take C strings; an embedded NUL would hide the rest of the password.
  if (nul || normalized.empty()) return problems;

  std::string password(normalized);  // NUL-terminated for the C libraries
  const std::vector<std::string> words = user_words(user_inputs);
  if (const char* problem = zxcvbn_problem(password, words)) add_unique(problems, problem);
  if (const char* problem = cracklib_problem(password, user_inputs)) add_unique(problems, problem);
  explicit_bzero(password.data(), password.size());
  return problems;
}

Status check_password_dictionary() {
  const std::string dictionary = GetDefaultCracklibDict();
  if (dictionary_files_readable(dictionary)) return ok();
  return fail(Code::unavailable,
              "the cracklib dictionary " + dictionary + ".pwd/.pwi cannot be read (install cracklib-runtime)");
}

}  // namespace chatd::auth
