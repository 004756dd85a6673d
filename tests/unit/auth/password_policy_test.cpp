#include "auth/password_policy.hpp"

#include <gtest/gtest.h>

#include <array>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace chatd::auth {
namespace {

const PasswordPolicy kDefault{};

std::vector<std::string> check(std::string_view password, std::span<const std::string_view> inputs = {}) {
  return check_password(password, kDefault, inputs);
}

std::string joined(const std::vector<std::string>& problems) {
  std::string out;
  for (const auto& p : problems) out += "[" + p + "] ";
  return out;
}

// ---------------------------------------------------------------- normalisation

TEST(NormalizePassword, AppliesNfkc) {
  EXPECT_EQ(normalize_password("\xEF\xAC\x81nance-rocket-47"), "finance-rocket-47");  // U+FB01 ligature
  // Full-width Latin letters and digits (U+FF21.. U+FF10..) become ASCII.
  EXPECT_EQ(normalize_password("\xEF\xBC\xA1\xEF\xBD\x82\xEF\xBD\x83\xEF\xBC\x91"), "Abc1");
  // Composed U+00E9 and decomposed e + U+0301 give the same bytes (the composed form).
  auto composed = normalize_password("caf\xC3\xA9 au lait");
  auto decomposed = normalize_password("cafe\xCC\x81 au lait");
  ASSERT_TRUE(composed && decomposed);
  EXPECT_EQ(*composed, *decomposed);
  EXPECT_EQ(*composed, "caf\xC3\xA9 au lait");
  // Superscripts and Roman numerals are compatibility characters too.
  EXPECT_EQ(normalize_password("x\xC2\xB2 \xE2\x85\xAB"), "x2 XII");
}

TEST(NormalizePassword, KeepsWhitespace) {
  EXPECT_EQ(normalize_password("  two  spaces  "), "  two  spaces  ");
  EXPECT_EQ(normalize_password("tab\there"), "tab\there");  // refused later, but not altered
  // NFKC maps the no-break space to a plain space; nothing is trimmed.
  EXPECT_EQ(normalize_password("\xC2\xA0"
                               "a b\xC2\xA0"),
            " a b ");
  EXPECT_EQ(normalize_password(""), "");
}

TEST(NormalizePassword, RefusesInvalidUtf8) {
  for (std::string_view bad : {std::string_view("\xFF"), std::string_view("abc\xC3"),  // truncated
                               std::string_view("\xC0\xAF"),                           // overlong '/'
                               std::string_view("\xED\xA0\x80"),                       // surrogate
                               std::string_view("\xF4\x90\x80\x80"),                   // > U+10FFFF
                               std::string_view("valid then \x80 stray")}) {
    EXPECT_FALSE(normalize_password(bad).has_value());
  }
}

// ---------------------------------------------------------------- length and characters

TEST(CheckPassword, LengthIsCountedInCodePoints) {
  std::string emoji12;
  for (int i = 0; i < 12; ++i) emoji12 += "\xF0\x9F\x98\x80";  // U+1F600, 4 bytes each
  std::string emoji11;
  for (int i = 0; i < 11; ++i) emoji11 += "\xF0\x9F\x98\x80";
  auto problems12 = check(emoji12);
  for (const auto& p : problems12) EXPECT_EQ(p.find("at least"), std::string::npos) << p;
  auto problems11 = check(emoji11);
  ASSERT_FALSE(problems11.empty());
  EXPECT_EQ(problems11[0], "Use at least 12 characters.");

  // 128 code points of 2 bytes each are allowed; 129 are not.
  std::string accents;
  for (int i = 0; i < 128; ++i) accents += (i % 2 ? "\xC3\xA9" : "\xC3\xB8");
  for (const auto& p : check(accents)) EXPECT_EQ(p.find("at most"), std::string::npos) << p;
  auto too_long = check(accents + "a");
  ASSERT_EQ(too_long.size(), 1u);
  EXPECT_EQ(too_long[0], "Use at most 128 characters.");
}

TEST(CheckPassword, PolicyLengthsAreConfigurable) {
  PasswordPolicy policy{20, 40};
  auto problems = check_password("kX9vB2mQ7pL4zR8w", policy, {});
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0], "Use at least 20 characters.");
  EXPECT_TRUE(check_password("kX9vB2mQ7pL4zR8wYt5n", policy, {}).empty());
  EXPECT_EQ(check_password("kX9vB2mQ7pL4zR8wYt5nkX9vB2mQ7pL4zR8wYt5nX", policy, {}).size(), 1u);
  EXPECT_EQ(check_password("", kDefault, {})[0], "Use at least 12 characters.");
}

TEST(CheckPassword, RefusesControlCharacters) {
  for (std::string_view bad : {std::string_view("kX9vB2mQ\0pL4zR8w", 16), std::string_view("kX9vB2mQ\tpL4zR8w"),
                               std::string_view("kX9vB2mQ\npL4zR8w"), std::string_view("kX9vB2mQ\x7fpL4zR8w"),
                               std::string_view("kX9vB2mQ\xC2\x85pL4zR8w")}) {  // U+0085 NEL
    auto problems = check(bad);
    ASSERT_EQ(problems.size(), 1u) << joined(problems);
    EXPECT_EQ(problems[0], "Do not use control characters such as tabs or line breaks.");
  }
  // Spaces are not control characters.
  EXPECT_TRUE(check("kX9v B2mQ 7pL4 zR8w").empty());
}

TEST(CheckPassword, RefusesInvalidUtf8) {
  auto problems = check("kX9vB2mQ7pL4zR8w\xFF");
  ASSERT_EQ(problems.size(), 1u);
}

// ---------------------------------------------------------------- common and weak passwords

// Well-known entries of leaked-password lists (RockYou, the "top 10,000" lists, NCSC's
// 100k list) that are at least 12 characters long, plus the calibration examples.
const char* const kCommonPasswords[] = {
    "password1234",     "123456789012",     "qwertyuiopas",     "1q2w3e4r5t6y",     "iloveyou1234",
    "abc123abc123",     "passwordpassword", "football1234",     "qwertyuiop123",    "aaaaaaaaaaaa",
    "abcdefghijkl",     "Password1234!",    "Password123!",     "monkey123456",     "letmein12345",
    "baseball1234",     "dragon123456",     "trustno1trustno1", "qwerty123456",     "1234567890qwerty",
    "princess1234",     "welcome12345",     "superman1234",     "michael12345",     "starwars1234",
    "password123456",   "iloveyou123456",   "zaq12wsxcde3",     "1qaz2wsx3edc",     "qazwsxedcrfv",
    "asdfghjkl123",     "computer1234",     "shadow123456",     "master123456",     "1qaz2wsx3edc4rfv",
    "zaq1xsw2cde3vfr4", "qwertyuiopasdfgh", "abcdefghijklmnop", "P@ssw0rd123456",   "Password123456789",
    "Welcome@123456",   "Summer2024!!",     "iloveyouiloveyou", "princessprincess", "starwarsstarwars",
    "manchesterunited", "harrypotter123",   "pokemon1234567",   "1234qwerasdfzxcv", "qweasdzxc123456",
    "111111111111",     "112233445566",     "098765432109",     "passw0rdpassw0rd", "Qwerty123!@#",
    "Zaq12wsx!@#$",     "ThisIsMyPassword", "Liverpool123",     "blink182blink182", "qwer1234asdf",
};

TEST(CheckPassword, RefusesCommonAndLeakedPasswords) {
  for (const char* password : kCommonPasswords) {
    auto problems = check(password);
    EXPECT_FALSE(problems.empty()) << password;
  }
}

TEST(CheckPassword, ContractExampleIsRefusedAtTheDefaultLength) {
  auto problems = check("password1234");
  ASSERT_EQ(problems.size(), 1u) << joined(problems);
  EXPECT_NE(problems[0].find("too common"), std::string::npos) << problems[0];
}

TEST(CheckPassword, RefusesDictionaryWordsPaddedToLength) {
  for (const char* password : {"sunshinesunshine", "dictionarydictionary", "elephantelephant", "Sunshine!2024",
                               "chocolate12345", "butterflybutterfly", "strawberry1234", "everything12"}) {
    EXPECT_FALSE(check(password).empty()) << password;
  }
}

TEST(CheckPassword, RefusesPredictablePatterns) {
  for (const char* password : {"aaaaaaaaaaaa", "abcdefghijkl", "123456789012", "ababababababab", "!@#$%^&*()_+",
                               "            ", "zyxwvutsrqponm"}) {
    auto problems = check(password);
    ASSERT_FALSE(problems.empty()) << password;
  }
  EXPECT_NE(check("abcdefghijkl")[0].find("sequences"), std::string::npos);
  // Repeats of multi-byte characters, which zxcvbn (working on bytes) does not see.
  std::string two_emoji;
  for (int i = 0; i < 6; ++i) two_emoji += "\xF0\x9F\x98\x80\xF0\x9F\x98\x81";
  auto problems = check(two_emoji);
  ASSERT_EQ(problems.size(), 1u) << joined(problems);
  EXPECT_NE(problems[0].find("repeated characters"), std::string::npos);
  std::string kanji;
  for (int i = 0; i < 6; ++i) kanji += "\xE6\x97\xA5\xE6\x9C\xAC";
  EXPECT_FALSE(check(kanji).empty());
}

TEST(CheckPassword, RefusesPasswordsBuiltFromTheAccount) {
  const std::array<std::string_view, 2> inputs = {"alice.smith@example.com", "alice_smith"};
  for (const char* password :
       {"alice_smithalice_smith", "alice.smith@example.com", "alice_smith1234", "ALICE_SMITH2024", "alicesmith1234!",
        "alice.smith@example", "smith.alice99!", "Al1ce_Sm1th2024", "htims_ecila1234"}) {
    auto problems = check(password, inputs);
    ASSERT_FALSE(problems.empty()) << password;
    EXPECT_EQ(problems[0], "Do not base the password on your username or e-mail address.") << password;
  }
}

TEST(CheckPassword, RefusesTheUsernameRepeated) {
  const std::array<std::string_view, 2> inputs = {"kzq.vortel@example.net", "kzqvortel88"};
  // Random-looking on its own: only the account's data makes it guessable.
  EXPECT_TRUE(check("kzqvortel88kzqvortel88").empty());
  EXPECT_TRUE(check("kzqvortel88kzqvortel88", std::array<std::string_view, 2>{"bob@example.org", "bob"}).empty());
  EXPECT_FALSE(check("kzqvortel88kzqvortel88", inputs).empty());
  EXPECT_FALSE(check("kzq.vortel@example.net", inputs).empty());
}

// ---------------------------------------------------------------- strong passwords

TEST(CheckPassword, AcceptsRandomStrings) {
  for (const char* password : {"kX9vB2mQ7pL4zR8w", "q3Zr8pLx0VnT5sYw", "hD7/kP+2mQ9xZa4B", "ZmFrZS1rZXktMTIz",
                               "Yq2pV+8mWc/4tRz1nLs=", "N5w0eJ3hT8rB6uKc1xVd", "jG4sL9mA2qW7eR1tY6uI",
                               "xjw4kq9tz2mbvh7c", "7f3a9c2e1b4d8e6f"}) {
    auto problems = check(password);
    EXPECT_TRUE(problems.empty()) << password << ": " << joined(problems);
  }
}

TEST(CheckPassword, AcceptsPassphrases) {
  for (const char* password : {"correct horse battery staple", "correcthorsebatterystaple",
                               "purple monkey dishwasher lamp", "river tiger orange cloud", "sofa window banana kettle",
                               "tacocat-bicycle-42", "my dog is called Rex!", "Br1ght-Sky-Tre3-Lamp"}) {
    auto problems = check(password);
    EXPECT_TRUE(problems.empty()) << password << ": " << joined(problems);
  }
}

TEST(CheckPassword, AcceptsNonAsciiPasswords) {
  // Normalised input, as check_password expects.
  const char* const german =
      "Gr\xC3\xBC\xC3\x9F"
      "e aus K\xC3\xB6ln am Rhein";
  // "日本語のパスワードですよ": 12 code points, 36 bytes.
  const char* const japanese =
      "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E\xE3\x81\xAE\xE3\x83\x91\xE3\x82\xB9"
      "\xE3\x83\xAF\xE3\x83\xBC\xE3\x83\x89\xE3\x81\xA7\xE3\x81\x99\xE3\x82\x88";
  for (const char* raw : {german, japanese}) {
    auto normalized = normalize_password(raw);
    ASSERT_TRUE(normalized);
    auto problems = check(*normalized);
    EXPECT_TRUE(problems.empty()) << raw << ": " << joined(problems);
  }
}

// ---------------------------------------------------------------- messages

const std::set<std::string> kKnownMessages = {
    "Use at least 12 characters.",
    "Use at most 128 characters.",
    "Do not use control characters such as tabs or line breaks.",
    "Do not base the password on your username or e-mail address.",
    "This password is too common: it appears in lists of leaked passwords or is based on a dictionary word. "
    "Try a few unrelated words or a password manager.",
    "This password is too easy to guess: avoid repeated characters, sequences, keyboard patterns and dates.",
    "This password is too easy to guess: choose something less predictable, for example several "
    "unrelated words.",
};

TEST(CheckPassword, MessagesNeverContainThePassword) {
  const std::array<std::string_view, 2> inputs = {"alice.smith@example.com", "alice_smith"};
  std::vector<std::string> passwords(std::begin(kCommonPasswords), std::end(kCommonPasswords));
  passwords.push_back("alice_smith1234");
  passwords.push_back("sunshinesunshine");
  passwords.push_back(std::string("short\tone"));
  for (const auto& password : passwords) {
    for (const auto& problem : check(password, inputs)) {
      EXPECT_EQ(problem.find(password), std::string::npos) << password;
      // Every message is one of a few fixed sentences: nothing of the password is interpolated.
      EXPECT_TRUE(kKnownMessages.count(problem)) << problem;
      EXPECT_FALSE(problem.empty());
      EXPECT_EQ(problem.find("it is"), std::string::npos) << "cracklib's own wording leaked: " << problem;
    }
  }
}

TEST(CheckPassword, ReportsEachProblemOnce) {
  auto problems = check("password");  // short and common
  ASSERT_EQ(problems.size(), 2u) << joined(problems);
  EXPECT_EQ(problems[0], "Use at least 12 characters.");
  EXPECT_NE(problems[1].find("too common"), std::string::npos);
}

// ---------------------------------------------------------------- environment

TEST(CheckPassword, DictionaryIsInstalled) {
  // cracklib-runtime is a declared dependency (scripts/install-deps).
  EXPECT_TRUE(check_password_dictionary().has_value());
}

TEST(CheckPassword, IsSafeFromSeveralThreads) {
  std::vector<std::thread> threads;
  std::vector<int> wrong(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        if (check("password1234").empty()) ++wrong[t];
        if (!check("correct horse battery staple").empty()) ++wrong[t];
        if (check("Liverpool123").empty()) ++wrong[t];
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int w : wrong) EXPECT_EQ(w, 0);
}

}  // namespace
}  // namespace chatd::auth
