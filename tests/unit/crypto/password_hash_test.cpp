#include "crypto/password_hash.hpp"

#include <gtest/gtest.h>

#include <string>

namespace chatd::crypto::password {
namespace {

// libsodium's minimum cost, so the unit tests stay fast; production uses Params{}.
const Params kFast{1, 8192};

TEST(PasswordHash, HashesAndVerifies) {
  auto encoded = hash("correct horse battery staple", kFast);
  ASSERT_TRUE(encoded) << encoded.error().internal;
  EXPECT_EQ(encoded.value().rfind("$argon2id$v=19$m=8,t=1,p=1$", 0), 0u) << encoded.value();
  EXPECT_TRUE(verify(encoded.value(), "correct horse battery staple"));
  EXPECT_FALSE(verify(encoded.value(), "correct horse battery stapl"));
  EXPECT_FALSE(verify(encoded.value(), "Correct horse battery staple"));
  EXPECT_FALSE(verify(encoded.value(), ""));
}

TEST(PasswordHash, SaltsEveryHash) {
  auto a = hash("same password", kFast);
  auto b = hash("same password", kFast);
  ASSERT_TRUE(a && b);
  EXPECT_NE(a.value(), b.value());
  EXPECT_TRUE(verify(a.value(), "same password"));
  EXPECT_TRUE(verify(b.value(), "same password"));
}

TEST(PasswordHash, KeepsWhitespaceUnicodeAndEmbeddedNul) {
  auto spaced = hash(" pass word ", kFast);
  ASSERT_TRUE(spaced);
  EXPECT_TRUE(verify(spaced.value(), " pass word "));
  EXPECT_FALSE(verify(spaced.value(), "pass word"));

  auto unicode = hash("p\xc3\xa4ssw\xc3\xb6rd-\xe2\x9c\x93", kFast);
  ASSERT_TRUE(unicode);
  EXPECT_TRUE(verify(unicode.value(), "p\xc3\xa4ssw\xc3\xb6rd-\xe2\x9c\x93"));
  EXPECT_FALSE(verify(unicode.value(), "password-"));

  // The length is passed along, so bytes after a NUL are part of the password.
  auto with_nul = hash(std::string("abc\0def", 7), kFast);
  ASSERT_TRUE(with_nul);
  EXPECT_TRUE(verify(with_nul.value(), std::string("abc\0def", 7)));
  EXPECT_FALSE(verify(with_nul.value(), "abc"));
}

TEST(PasswordHash, RejectsMalformedEncodings) {
  auto encoded = hash("pw", kFast);
  ASSERT_TRUE(encoded);
  const std::string& good = encoded.value();
  EXPECT_FALSE(verify("", "pw"));
  EXPECT_FALSE(verify("garbage", "pw"));
  EXPECT_FALSE(verify(good.substr(0, good.size() - 5), "pw"));
  EXPECT_FALSE(verify("$argon2i$" + good.substr(10), "pw"));  // another algorithm
  EXPECT_FALSE(verify(good + std::string(200, 'A'), "pw"));   // longer than any real hash
  EXPECT_FALSE(verify(std::string(good).insert(20, 1, '\0'), "pw"));
}

TEST(PasswordHash, NeedsRehashWhenParametersChange) {
  auto encoded = hash("pw", kFast);
  ASSERT_TRUE(encoded);
  EXPECT_FALSE(needs_rehash(encoded.value(), kFast));
  EXPECT_TRUE(needs_rehash(encoded.value(), Params{2, 8192}));
  EXPECT_TRUE(needs_rehash(encoded.value(), Params{1, 16384}));
  EXPECT_TRUE(needs_rehash(encoded.value(), Params{}));
  EXPECT_TRUE(needs_rehash("garbage", kFast));
  EXPECT_TRUE(needs_rehash("", kFast));
}

TEST(PasswordHash, RefusesParametersBelowTheMinimum) {
  auto too_few_passes = hash("pw", Params{0, 8192});
  ASSERT_FALSE(too_few_passes);
  EXPECT_EQ(too_few_passes.error().code, Code::internal);
  auto too_little_memory = hash("pw", Params{1, 1024});
  ASSERT_FALSE(too_little_memory);
  EXPECT_EQ(too_little_memory.error().code, Code::internal);
}

TEST(PasswordHash, ProductionParametersAreOwaspArgon2id) {
  Params production;
  EXPECT_EQ(production.opslimit, 2u);
  EXPECT_EQ(production.memlimit, 19u * 1024 * 1024);
  auto encoded = hash("a long enough password", production);
  ASSERT_TRUE(encoded);
  EXPECT_EQ(encoded.value().rfind("$argon2id$v=19$m=19456,t=2,p=1$", 0), 0u) << encoded.value();
  EXPECT_FALSE(needs_rehash(encoded.value(), production));
}

TEST(PasswordHash, DummyHashIsCachedAndMatchesNothingGuessable) {
  std::string first = dummy_hash(kFast);
  std::string second = dummy_hash(kFast);
  EXPECT_EQ(first, second);
  EXPECT_EQ(first.rfind("$argon2id$v=19$m=8,t=1,p=1$", 0), 0u) << first;
  EXPECT_FALSE(needs_rehash(first, kFast));
  for (const char* guess : {"", "password", "correct horse battery staple"}) EXPECT_FALSE(verify(first, guess));
  // Other parameters get their own dummy, so its cost matches real hashes made with them.
  std::string other = dummy_hash(Params{2, 8192});
  EXPECT_NE(other, first);
  EXPECT_EQ(other.rfind("$argon2id$v=19$m=8,t=2,p=1$", 0), 0u) << other;
}

}  // namespace
}  // namespace chatd::crypto::password
