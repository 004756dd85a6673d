#include "auth/validation.hpp"

#include <gtest/gtest.h>

namespace chatd::auth {
namespace {

TEST(NormalizeEmail, FoldsCaseAndCompatibilityFormsIntoOneAddress) {
  EXPECT_EQ(normalize_email("alice@example.com"), "alice@example.com");
  EXPECT_EQ(normalize_email("Alice@Example.COM"), "alice@example.com");
  EXPECT_EQ(normalize_email("\xEF\xBD\x81lice@example.com"), "alice@example.com");             // full-width a
  EXPECT_EQ(normalize_email("alice\xEF\xBC\xA0\xEF\xBD\x85xample.com"), "alice@example.com");  // full-width @ e
  EXPECT_EQ(normalize_email("\xC3\x84rger@example.de"), "\xC3\xA4rger@example.de");            // Ä -> ä
  EXPECT_EQ(normalize_email("A\xCC\x88rger@example.de"), "\xC3\xA4rger@example.de");  // A + combining diaeresis
  EXPECT_EQ(normalize_email("\xEF\xAC\x81le@example.com"), "file@example.com");       // the fi ligature
}

TEST(NormalizeEmail, LeavesInvalidUtf8ForTheCheckToRefuse) {
  std::string bad = "al\xFFice@example.com";
  EXPECT_EQ(normalize_email(bad), bad);
  EXPECT_FALSE(valid_email(bad));
  EXPECT_EQ(normalize_email(""), "");
}

TEST(ValidEmail, AcceptsTheNormalisedFormsOfOrdinaryAddresses) {
  EXPECT_TRUE(valid_email(normalize_email("\xEF\xBD\x81lice@\xEF\xBD\x85xample.com")));
  EXPECT_TRUE(valid_email("\xC3\xA4rger@example.de"));
  EXPECT_FALSE(valid_email("alice@ex\xC3\xA4mple.com"));  // domains stay ASCII (no IDN here)
  EXPECT_FALSE(valid_email("alice@@example.com"));
}

}  // namespace
}  // namespace chatd::auth
