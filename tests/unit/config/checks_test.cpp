// The checks after parsing: settings that contradict each other, and the refusals of
// CHATD_ENV=production (among them SQLite on a network path or file system).

#include "config/config.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>

#include <ostream>
#include <string>

namespace chatd::config::test {

// ---------------------------------------------------------------------------------------------
// Contradictions

namespace {

struct ContradictionCase {
  Env env;
  std::string expected;  // the whole problem line
};

class ConfigContradiction : public testing::TestWithParam<ContradictionCase> {};

}  // namespace

TEST_P(ConfigContradiction, IsOneProblemLine) {
  LoadResult r = load_env(GetParam().env);
  ASSERT_EQ(r.problems.size(), 1u) << all_problems(r);
  EXPECT_EQ(r.problems[0], GetParam().expected);
}

// clang-format off
INSTANTIATE_TEST_SUITE_P(Settings, ConfigContradiction, testing::Values(
    ContradictionCase{{{"CHATD_ACCESS_TOKEN_TTL", "3600"}, {"CHATD_REFRESH_TOKEN_TTL", "3600"}},
                      "CHATD_REFRESH_TOKEN_TTL: must be longer than CHATD_ACCESS_TOKEN_TTL (3600 seconds) "
                      "(got \"3600\")"},
    ContradictionCase{{{"CHATD_REFRESH_TOKEN_TTL", "600"}},
                      "CHATD_REFRESH_TOKEN_TTL: must be longer than CHATD_ACCESS_TOKEN_TTL (900 seconds) "
                      "(got \"600\")"},
    ContradictionCase{{{"CHATD_MAX_BODY_BYTES", "65536"}, {"CHATD_MAX_MESSAGE_CHARS", "65536"}},
                      "CHATD_MAX_MESSAGE_CHARS: a message this long can never fit in a request body of "
                      "CHATD_MAX_BODY_BYTES (65536 bytes) (got \"65536\")"},
    ContradictionCase{{{"CHATD_MAX_V1_BODY_BYTES", "4000000"}, {"CHATD_MAX_IMAGE_BYTES", "3000000"}},
                      "CHATD_MAX_IMAGE_BYTES: an image this large can never fit base64-encoded in a /v1 body of "
                      "CHATD_MAX_V1_BODY_BYTES (4000000 bytes) (got \"3000000\")"},
    ContradictionCase{{{"AWS_ACCESS_KEY_ID", "AKIA1"}},
                      "AWS_ACCESS_KEY_ID: is set but AWS_SECRET_ACCESS_KEY is not; set both or neither"},
    ContradictionCase{{{"AWS_SECRET_ACCESS_KEY", "secret"}},
                      "AWS_SECRET_ACCESS_KEY: is set but AWS_ACCESS_KEY_ID is not; set both or neither"},
    ContradictionCase{{{"AWS_SESSION_TOKEN", "token"}},
                      "AWS_SESSION_TOKEN: is set without AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"},
    ContradictionCase{{{"CHATD_BEDROCK_MODELS", "m1"}, {"AWS_ACCESS_KEY_ID", "AKIA1"}, {"AWS_SECRET_ACCESS_KEY", "s"}},
                      "CHATD_BEDROCK_MODELS: needs AWS_REGION (or CHATD_BEDROCK_ENDPOINT) to know where Bedrock is"},
    ContradictionCase{{{"CHATD_BEDROCK_MODELS", "m1"}, {"AWS_REGION", "us-east-1"}},
                      "CHATD_BEDROCK_MODELS: is set but AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not, so "
                      "Bedrock would stay off"},
    ContradictionCase{{{"CHATD_OPENAI_MODELS", "llama3"}},
                      "CHATD_OPENAI_MODELS: is set but CHATD_OPENAI_API_KEY is not, so the provider would stay off "
                      "(servers that need no key accept any value)"},
    ContradictionCase{{{"CHATD_ANTHROPIC_MODELS", "claude"}},
                      "CHATD_ANTHROPIC_MODELS: is set but CHATD_ANTHROPIC_API_KEY is not, so the provider would "
                      "stay off"},
    ContradictionCase{{{"CHATD_OPENAI_MODELS", "a,shared"}, {"CHATD_OPENAI_API_KEY", "k"},
                       {"CHATD_ANTHROPIC_MODELS", "shared"}, {"CHATD_ANTHROPIC_API_KEY", "k"}},
                      "CHATD_ANTHROPIC_MODELS: model \"shared\" is also listed in CHATD_OPENAI_MODELS; a model id must "
                      "belong to one provider"}));
// clang-format on

TEST(Config, ConsistentProviderSettingsAreFine) {
  LoadResult r = load_env({{"CHATD_BEDROCK_MODELS", "m1"},
                           {"CHATD_BEDROCK_ENDPOINT", "http://localhost:4566"},
                           {"AWS_ACCESS_KEY_ID", "AKIA1"},
                           {"AWS_SECRET_ACCESS_KEY", "s"},
                           {"AWS_SESSION_TOKEN", "t"},
                           {"CHATD_ACCESS_TOKEN_TTL", "3600"},
                           {"CHATD_REFRESH_TOKEN_TTL", "3601"}});
  EXPECT_TRUE(r.problems.empty()) << all_problems(r);
}

TEST(Config, ProvidersFileOverridesTheProviderVariables) {
  TempFile file("{}");
  LoadResult r = load_env({{"CHATD_PROVIDERS_FILE", file.path()},
                           {"CHATD_OPENAI_MODELS", "m"},
                           {"CHATD_ANTHROPIC_MODELS", "m"},
                           {"CHATD_BEDROCK_MODELS", "m"}});
  EXPECT_TRUE(r.problems.empty()) << all_problems(r);
  // The AWS key pair is still checked: half a credential is always a mistake.
  LoadResult half = load_env({{"CHATD_PROVIDERS_FILE", file.path()}, {"AWS_ACCESS_KEY_ID", "AKIA1"}});
  EXPECT_EQ(half.problems.size(), 1u) << all_problems(half);
}

TEST(Config, AnInvalidSideOfAContradictionIsReportedOnce) {
  LoadResult r = load_env({{"CHATD_REFRESH_TOKEN_TTL", "soon"}, {"CHATD_ACCESS_TOKEN_TTL", "3600"}});
  ASSERT_EQ(r.problems.size(), 1u) << all_problems(r);
  EXPECT_EQ(r.problems[0].rfind("CHATD_REFRESH_TOKEN_TTL: must be an integer", 0), 0u);
}

// ---------------------------------------------------------------------------------------------
// Production

namespace {

Env production() {
  return {{"CHATD_ENV", "production"},
          {"CHATD_PUBLIC_URL", "https://chat.example.com"},
          {"CHATD_SMTP_URL", "smtps://bot:pw@mail.example.com:465"},
          {"CHATD_MAIL_FROM", "Chat <noreply@example.com>"}};
}

struct RefusalCase {
  Env changes;  // "" removes the setting
  std::string expected;
  std::string mounts = {};
};

void PrintTo(const RefusalCase& c, std::ostream* os) { *os << c.expected; }

class ConfigProductionRefusal : public testing::TestWithParam<RefusalCase> {};

LoadResult load_production(const Env& changes, const std::string& mounts = {}) {
  Env env = production();
  for (const auto& [k, v] : changes) {
    if (v.empty())
      env.erase(k);
    else
      env[k] = v;
  }
  Sources s = sources_of(env);
  s.proc_mounts = mounts;
  return load(s);
}

}  // namespace

TEST(Config, SecureProductionSettingsPass) {
  LoadResult r = load_production({});
  EXPECT_TRUE(r.problems.empty()) << all_problems(r);
  EXPECT_TRUE(r.config.production);
  EXPECT_FALSE(r.config.master_key);  // not required: the data directory holds a key
}

TEST_P(ConfigProductionRefusal, IsItsOwnLine) {
  const auto& c = GetParam();
  LoadResult r = load_production(c.changes, c.mounts);
  ASSERT_EQ(r.problems.size(), 1u) << all_problems(r);
  EXPECT_EQ(r.problems[0], c.expected);

  // The same settings are fine in development.
  Env dev = c.changes;
  dev["CHATD_ENV"] = "development";
  EXPECT_TRUE(load_production(dev, c.mounts).problems.empty()) << all_problems(load_production(dev, c.mounts));
}

// clang-format off
INSTANTIATE_TEST_SUITE_P(Settings, ConfigProductionRefusal, testing::Values(
    RefusalCase{{{"CHATD_SMTP_URL", ""}},
                "CHATD_SMTP_URL: must be set in production (without it e-mails are only written to the log)"},
    RefusalCase{{{"CHATD_PUBLIC_URL", "http://chat.example.com"}},
                "CHATD_PUBLIC_URL: must be an https:// URL in production (links in e-mails carry tokens) (got "
                "\"http://chat.example.com\")"},
    RefusalCase{{{"CHATD_PUBLIC_URL", ""}},
                "CHATD_PUBLIC_URL: must be an https:// URL in production (links in e-mails carry tokens) (got "
                "\"http://127.0.0.1:8080\")"},
    RefusalCase{{{"CHATD_DATABASE_URL", "sqlite://fileserver/share/chatd.db"}},
                "CHATD_DATABASE_URL: SQLite on a network path can corrupt the database; use a local disk or "
                "PostgreSQL (got \"sqlite://fileserver/share/chatd.db\")"},
    RefusalCase{{{"CHATD_DATABASE_URL", "sqlite:\\\\fileserver\\share\\chatd.db"}},
                "CHATD_DATABASE_URL: SQLite on a network path can corrupt the database; use a local disk or "
                "PostgreSQL (got \"sqlite:\\\\\\\\fileserver\\\\share\\\\chatd.db\")"},
    RefusalCase{{{"CHATD_DATABASE_URL", "sqlite:/mnt/chatd-nfs/data/chatd.db"}},
                "CHATD_DATABASE_URL: SQLite on a network filesystem (nfs4) can corrupt the database; use a local "
                "disk or PostgreSQL (got \"sqlite:/mnt/chatd-nfs/data/chatd.db\")",
                "overlay / overlay rw 0 0\nsrv:/export /mnt/chatd-nfs nfs4 rw,relatime 0 0\n"},
    RefusalCase{{{"CHATD_DATABASE_URL", "sqlite:/mnt/chatd share/chatd.db"}},
                "CHATD_DATABASE_URL: SQLite on a network filesystem (cifs) can corrupt the database; use a local "
                "disk or PostgreSQL (got \"sqlite:/mnt/chatd share/chatd.db\")",
                "/dev/sda1 / ext4 rw 0 0\n//srv/share /mnt/chatd\\040share cifs rw 0 0\n"},
    RefusalCase{{{"CHATD_CORS_ORIGINS", "https://app.example.com,http://app.example.com"}},
                "CHATD_CORS_ORIGINS: http:// origin \"http://app.example.com\" is not allowed in production; use "
                "https:// (got \"https://app.example.com,http://app.example.com\")"},
    RefusalCase{{{"CHATD_REQUIRE_EMAIL_VERIFICATION", "false"}},
                "CHATD_REQUIRE_EMAIL_VERIFICATION: must not be false in production (got \"false\")"},
    RefusalCase{{{"CHATD_PASSWORD_MIN_LENGTH", "11"}},
                "CHATD_PASSWORD_MIN_LENGTH: must be at least 12 in production (got \"11\")"},
    RefusalCase{{{"CHATD_TRUSTED_PROXIES", "10.0.0.0/8,0.0.0.0/0"}},
                "CHATD_TRUSTED_PROXIES: network \"0.0.0.0/0\" trusts every address, so any client could choose its "
                "own IP (got \"10.0.0.0/8,0.0.0.0/0\")"},
    RefusalCase{{{"CHATD_TRUSTED_PROXIES", "::/0"}},
                "CHATD_TRUSTED_PROXIES: network \"::/0\" trusts every address, so any client could choose its own IP "
                "(got \"::/0\")"},
    RefusalCase{{{"CHATD_MAIL_FROM", ""}},
                "CHATD_MAIL_FROM: must be a deliverable sender address in production (got \"chatd@localhost\")"},
    RefusalCase{{{"CHATD_SMTP_URL", "smtp://bot:pw@mail.example.com:587"}},
                "CHATD_SMTP_URL: sends a password over smtp://, where STARTTLS is used only when offered; use smtps:// "
                "in production (got \"smtp://bot:***@mail.example.com:587\")"}));
// clang-format on

TEST(Config, ProductionAcceptsLocalAndSafeVariants) {
  EXPECT_TRUE(load_production({{"CHATD_CORS_ORIGINS", "http://localhost:3000,http://127.0.0.1:5173,http://[::1]:8080"}})
                  .problems.empty());
  EXPECT_TRUE(load_production({{"CHATD_SMTP_URL", "smtp://bot:pw@localhost:25"}}).problems.empty());
  EXPECT_TRUE(load_production({{"CHATD_SMTP_URL", "smtp://mail.example.com:25"}}).problems.empty());
  EXPECT_TRUE(load_production({{"CHATD_TRUSTED_PROXIES", "2001:db8::/96,10.0.0.0/8"}}).problems.empty());
  EXPECT_TRUE(load_production({{"CHATD_PASSWORD_MIN_LENGTH", "12"}}).problems.empty());
  EXPECT_TRUE(
      load_production({{"CHATD_DATABASE_URL", "sqlite:/var/lib/chatd/chatd.db"}},
                      "/dev/sda1 / ext4 rw 0 0\nsrv:/export /mnt/nfs nfs rw 0 0\ntmpfs /var/lib/chatd tmpfs rw 0 0\n")
          .problems.empty());
  // A later mount over the same point wins.
  EXPECT_TRUE(load_production({{"CHATD_DATABASE_URL", "sqlite:/mnt/x/chatd.db"}},
                              "srv:/export /mnt/x nfs rw 0 0\n/dev/sdb1 /mnt/x ext4 rw 0 0\n")
                  .problems.empty());
  EXPECT_TRUE(
      load_production({{"CHATD_DATABASE_URL", "postgresql://chatd:pw@db.internal/chatd"}}, "srv:/export / nfs rw 0 0\n")
          .problems.empty());
}

TEST(Config, ProductionRefusalsAreEachTheirOwnLine) {
  LoadResult r = load(sources_of(
      {{"CHATD_ENV", "production"}, {"CHATD_REQUIRE_EMAIL_VERIFICATION", "no"}, {"CHATD_PASSWORD_MIN_LENGTH", "8"}}));
  ASSERT_EQ(r.problems.size(), 5u) << all_problems(r);
  EXPECT_EQ(problems_of(r, "CHATD_SMTP_URL").size(), 1u);
  EXPECT_EQ(problems_of(r, "CHATD_PUBLIC_URL").size(), 1u);
  EXPECT_EQ(problems_of(r, "CHATD_REQUIRE_EMAIL_VERIFICATION").size(), 1u);
  EXPECT_EQ(problems_of(r, "CHATD_PASSWORD_MIN_LENGTH").size(), 1u);
  EXPECT_EQ(problems_of(r, "CHATD_MAIL_FROM").size(), 1u);
}

}  // namespace chatd::config::test
