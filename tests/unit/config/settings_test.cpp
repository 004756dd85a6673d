// Every setting's values, one table row each: the bad ones (one problem line for that setting,
// the value shown unless secret) and the good ones (accepted and shown canonically), the
// parsed values in the Config, the providers file and the master key's decoding.

#include "config/config.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <ostream>
#include <string>
#include <sys/stat.h>
#include <vector>

namespace chatd::config::test {

// ---------------------------------------------------------------------------------------------
// Bad values: every validation path, one row each

namespace {

struct BadCase {
  std::string name;
  std::string value;
  std::string expected;  // substring of the problem line
};

void PrintTo(const BadCase& c, std::ostream* os) { *os << c.name << "=" << c.value; }

class ConfigBadValue : public testing::TestWithParam<BadCase> {};

bool is_secret(const std::string& name) {
  return name == "CHATD_OPENAI_API_KEY" || name == "CHATD_ANTHROPIC_API_KEY" || name == "AWS_SECRET_ACCESS_KEY" ||
         name == "AWS_SESSION_TOKEN" || name == "CHATD_MASTER_KEY" || name == "CHATD_ADMIN_PASSWORD";
}

}  // namespace

TEST_P(ConfigBadValue, IsOneProblemLine) {
  const auto& c = GetParam();
  // A .env line holds the value in single quotes, so it cannot hold a quote or a line end.
  bool dotenv_can_hold = c.value.find_first_of("'\n") == std::string::npos;
  for (bool from_dotenv : {false, true}) {
    if (from_dotenv && !dotenv_can_hold) continue;
    SCOPED_TRACE(from_dotenv ? "from .env" : "from env");
    Sources s = from_dotenv ? sources_of({}, c.name + "='" + c.value + "'\n") : sources_of({{c.name, c.value}});
    LoadResult r = load(s);
    auto mine = problems_of(r, c.name);
    ASSERT_EQ(mine.size(), 1u) << all_problems(r);
    EXPECT_NE(mine[0].find(c.expected), std::string::npos) << mine[0];
    EXPECT_EQ(mine[0].find('\n'), std::string::npos);
    if (is_secret(c.name)) {
      EXPECT_TRUE(mine[0].ends_with("(value not shown)")) << mine[0];
    } else {
      EXPECT_NE(mine[0].find(" (got \""), std::string::npos) << mine[0];
    }
    // The effective listing shows what was given (not a default) and where it came from.
    EXPECT_EQ(effective(r, c.name).origin, from_dotenv ? ".env" : "env");
  }
}

// clang-format off
INSTANTIATE_TEST_SUITE_P(Settings, ConfigBadValue, testing::Values(
    BadCase{"CHATD_ENV", "prod", "CHATD_ENV: must be development or production (got \"prod\")"},
    BadCase{"CHATD_ENV", "Production", "must be development or production"},
    BadCase{"CHATD_ADDR", "8080", "must be host:port, the port is missing"},
    BadCase{"CHATD_ADDR", "127.0.0.1", "must be host:port, the port is missing"},
    BadCase{"CHATD_ADDR", "127.0.0.1:", "the port must be a number"},
    BadCase{"CHATD_ADDR", "127.0.0.1:-1", "the port must be a number"},
    BadCase{"CHATD_ADDR", "127.0.0.1:65536", "the port must be from 0 to 65535"},
    BadCase{"CHATD_ADDR", "127.0.0.1:123456", "the port must be a number"},
    BadCase{"CHATD_ADDR", "::1:8080", "IPv6 addresses must be in brackets, e.g. [::1]:8080"},
    BadCase{"CHATD_ADDR", "[::1]8080", "unexpected text after ']'"},
    BadCase{"CHATD_ADDR", "[::1", "unclosed '['"},
    BadCase{"CHATD_ADDR", "[1.2.3.4]:80", "the host in brackets must be an IPv6 address"},
    BadCase{"CHATD_ADDR", "example.com:80", "the host must be an IP address or localhost"},
    BadCase{"CHATD_ADDR", ":8080", "the host is missing"},
    BadCase{"CHATD_ADDR", "1.2.3.999:80", "the host must be an IP address or localhost"},
    BadCase{"CHATD_THREADS", "0", "CHATD_THREADS: must be an integer from 1 to 256 (got \"0\")"},
    BadCase{"CHATD_THREADS", "257", "must be an integer from 1 to 256"},
    BadCase{"CHATD_THREADS", "abc", "must be an integer from 1 to 256"},
    BadCase{"CHATD_THREADS", " 4", "must be an integer from 1 to 256"},
    BadCase{"CHATD_THREADS", "4.0", "must be an integer from 1 to 256"},
    BadCase{"CHATD_THREADS", "+4", "must be an integer from 1 to 256"},
    BadCase{"CHATD_THREADS", "0x10", "must be an integer from 1 to 256"},
    BadCase{"CHATD_THREADS", "-", "must be an integer from 1 to 256"},
    BadCase{"CHATD_THREADS", "99999999999999999999", "must be an integer from 1 to 256"},
    BadCase{"CHATD_DATA_DIR", "data\x01", "must not contain control characters (got \"data\\x01\")"},
    BadCase{"CHATD_DATABASE_URL", "chatd.db", "must be sqlite:PATH or postgresql://user:pass@host:port/db"},
    BadCase{"CHATD_DATABASE_URL", "mysql://h/db", "must be sqlite:PATH or postgresql://"},
    BadCase{"CHATD_DATABASE_URL", "sqlite:", "sqlite: needs a file path"},
    BadCase{"CHATD_DATABASE_URL", "postgresql:///chatd", "must name a host"},
    BadCase{"CHATD_DATABASE_URL", "postgres://u@/chatd", "must name a host"},
    BadCase{"CHATD_DATABASE_URL", "postgresql://h:99999/db", "the port must be from 1 to 65535"},
    BadCase{"CHATD_DATABASE_URL", "postgresql://h:x/db", "the port must be a number"},
    BadCase{"CHATD_DATABASE_URL", "postgresql://h1,,h2/db", "the host is missing"},
    BadCase{"CHATD_DATABASE_URL", "postgresql://bad host/db", "must not contain spaces"},
    BadCase{"CHATD_REDIS_URL", "http://h:6379", "must be redis://host:port[/db]"},
    BadCase{"CHATD_REDIS_URL", "rediss://h:6379", "uses rediss:// (TLS), which chatd's Redis client (hiredis 0.14) cannot speak"},
    BadCase{"CHATD_REDIS_URL", "h:6379", "must be a URL"},
    BadCase{"CHATD_REDIS_URL", "redis://h", "must name a port"},
    BadCase{"CHATD_REDIS_URL", "redis://:6379", "must name a host"},
    BadCase{"CHATD_REDIS_URL", "redis://h:6379/x", "the database after '/' must be a non-negative integer"},
    BadCase{"CHATD_REDIS_URL", "redis://h:6379/-1", "the database after '/' must be a non-negative integer"},
    BadCase{"CHATD_REDIS_URL", "redis://h:6379?timeout=1", "must not have a query"},
    BadCase{"CHATD_PUBLIC_URL", "chat.example.com", "must be a URL"},
    BadCase{"CHATD_PUBLIC_URL", "ftp://chat.example.com", "must be an http:// or https:// URL"},
    BadCase{"CHATD_PUBLIC_URL", "https://", "must name a host"},
    BadCase{"CHATD_PUBLIC_URL", "https://u:p@chat.example.com", "must not contain credentials"},
    BadCase{"CHATD_PUBLIC_URL", "https://chat.example.com/?a=1", "must not have a query or fragment"},
    BadCase{"CHATD_PUBLIC_URL", "https://chat.example.com/#x", "must not have a query or fragment"},
    BadCase{"CHATD_PUBLIC_URL", "https://chat example.com", "must not contain spaces"},
    BadCase{"CHATD_PUBLIC_URL", "https://chat.example.com:0", "the port must be from 1 to 65535"},
    BadCase{"CHATD_SMTP_URL", "mail.example.com:587", "must be a URL"},
    BadCase{"CHATD_SMTP_URL", "http://mail.example.com:25", "must be smtp://[user:pass@]host:port or smtps://"},
    BadCase{"CHATD_SMTP_URL", "smtp://mail.example.com", "must name a port"},
    BadCase{"CHATD_SMTP_URL", "smtp://:25", "must name a host"},
    BadCase{"CHATD_SMTP_URL", "smtp://mail.example.com:25/x", "must not have a path, query or fragment"},
    BadCase{"CHATD_SMTP_URL", "smtp://:pw@mail.example.com:25", "has a password but no user name"},
    BadCase{"CHATD_MAIL_FROM", "chatd", "must be local@domain or Name <local@domain>"},
    BadCase{"CHATD_MAIL_FROM", "chatd@", "must be local@domain"},
    BadCase{"CHATD_MAIL_FROM", "@example.com", "must be local@domain"},
    BadCase{"CHATD_MAIL_FROM", "Chat <chat@example.com", "must be local@domain"},
    BadCase{"CHATD_MAIL_FROM", "a b@example.com", "must be local@domain"},
    BadCase{"CHATD_MAIL_FROM", "a@example.com, b@example.com", "must be local@domain"},
    BadCase{"CHATD_MAIL_FROM", "a@exa mple.com", "must be local@domain"},
    BadCase{"CHATD_MAIL_FROM", "a@ex!ample.com", "must be local@domain"},
    BadCase{"CHATD_MAIL_FROM", "a@b.com <c@d.com>", "a display name with '@' must be in double quotes"},
    BadCase{"CHATD_MAIL_FROM", "a@example.com\nBcc: x@evil.com", "must not contain control characters"},
    BadCase{"CHATD_REQUIRE_EMAIL_VERIFICATION", "on", "must be true or false (also accepted: 1/0, yes/no)"},
    BadCase{"CHATD_REQUIRE_EMAIL_VERIFICATION", "2", "must be true or false"},
    BadCase{"CHATD_REQUIRE_EMAIL_VERIFICATION", "tru", "must be true or false"},
    BadCase{"CHATD_REGISTRATION", "invite", "must be open, invite_only or closed"},
    BadCase{"CHATD_REGISTRATION", "Open", "must be open, invite_only or closed"},
    BadCase{"CHATD_PASSWORD_MIN_LENGTH", "7", "must be an integer from 8 to 128"},
    BadCase{"CHATD_PASSWORD_MIN_LENGTH", "129", "must be an integer from 8 to 128"},
    BadCase{"CHATD_PASSWORD_MIN_LENGTH", "twelve", "must be an integer from 8 to 128"},
    BadCase{"CHATD_ACCESS_TOKEN_TTL", "0", "must be an integer from 1 to 315360000"},
    BadCase{"CHATD_ACCESS_TOKEN_TTL", "-5", "must be an integer from 1 to 315360000"},
    BadCase{"CHATD_ACCESS_TOKEN_TTL", "15m", "must be an integer from 1 to 315360000"},
    BadCase{"CHATD_REFRESH_TOKEN_TTL", "0", "must be an integer from 1 to 315360000"},
    BadCase{"CHATD_REFRESH_TOKEN_TTL", "315360001", "must be an integer from 1 to 315360000"},
    BadCase{"CHATD_LOCKOUT_THRESHOLD", "0", "must be an integer from 1 to 100"},
    BadCase{"CHATD_LOCKOUT_THRESHOLD", "101", "must be an integer from 1 to 100"},
    BadCase{"CHATD_LOCKOUT_SECONDS", "0", "must be an integer from 1 to 315360000"},
    BadCase{"CHATD_LOCKOUT_SECONDS", "-900", "must be an integer from 1 to 315360000"},
    BadCase{"CHATD_RATE_LIMITS", "login", "item \"login\" must be bucket=N/W, e.g. login=10/60s"},
    BadCase{"CHATD_RATE_LIMITS", "login=10", "bucket \"login\" must be N/W"},
    BadCase{"CHATD_RATE_LIMITS", "login=10/60", "bucket \"login\" must be N/W"},
    BadCase{"CHATD_RATE_LIMITS", "login=10/60d", "bucket \"login\" must be N/W"},
    BadCase{"CHATD_RATE_LIMITS", "login=0/60s", "bucket \"login\" must be N/W"},
    BadCase{"CHATD_RATE_LIMITS", "login=-1/60s", "bucket \"login\" must be N/W"},
    BadCase{"CHATD_RATE_LIMITS", "login=10/0s", "bucket \"login\" must be N/W"},
    BadCase{"CHATD_RATE_LIMITS", "login=10/25h", "bucket \"login\" must be N/W"},
    BadCase{"CHATD_RATE_LIMITS", "login=10/86401s", "bucket \"login\" must be N/W"},
    BadCase{"CHATD_RATE_LIMITS", "login=1000000001/1s", "bucket \"login\" must be N/W"},
    BadCase{"CHATD_RATE_LIMITS", "login=10/s", "bucket \"login\" must be N/W"},
    BadCase{"CHATD_RATE_LIMITS", "login=10/60s,,otp=1/1s", "has an empty item in its comma list"},
    BadCase{"CHATD_RATE_LIMITS", "login=10/60s,", "has an empty item in its comma list"},
    BadCase{"CHATD_RATE_LIMITS", "logon=10/60s",
            "unknown bucket \"logon\" (buckets: login, register, verify, otp, refresh, message, global)"},
    BadCase{"CHATD_RATE_LIMITS", "login=10/60s,login=5/60s", "names bucket \"login\" twice"},
    BadCase{"CHATD_USER_INVITES", "maybe", "must be true or false"},
    BadCase{"CHATD_MAX_BODY_BYTES", "1023", "must be an integer from 1024 to 1073741824"},
    BadCase{"CHATD_MAX_BODY_BYTES", "1073741825", "must be an integer from 1024 to 1073741824"},
    BadCase{"CHATD_MAX_BODY_BYTES", "1MiB", "must be an integer from 1024 to 1073741824"},
    BadCase{"CHATD_MAX_MESSAGE_CHARS", "0", "must be an integer from 1 to 1000000"},
    BadCase{"CHATD_MAX_MESSAGE_CHARS", "1000001", "must be an integer from 1 to 1000000"},
    BadCase{"CHATD_USER_TOKEN_QUOTA", "-1", "must be an integer of at least 0"},
    BadCase{"CHATD_USER_TOKEN_QUOTA", "lots", "must be an integer of at least 0"},
    BadCase{"CHATD_USER_TOKEN_QUOTA", "9223372036854775808", "must be an integer of at least 0"},
    BadCase{"CHATD_CORS_ORIGINS", "*", "\"*\" is not accepted; list each allowed origin"},
    BadCase{"CHATD_CORS_ORIGINS", "https://a.example.com,*", "\"*\" is not accepted"},
    BadCase{"CHATD_CORS_ORIGINS", "https://a.example.com/", "without a path, not even a trailing '/'"},
    BadCase{"CHATD_CORS_ORIGINS", "https://a.example.com/app",
            "origin \"https://a.example.com/app\" must be scheme://host[:port] without a path"},
    BadCase{"CHATD_CORS_ORIGINS", "https://a.example.com?x", "without a path"},
    BadCase{"CHATD_CORS_ORIGINS", "a.example.com",
            "origin \"a.example.com\" must be scheme://host[:port] (must be a URL"},
    BadCase{"CHATD_CORS_ORIGINS", "null", "must be scheme://host[:port]"},
    BadCase{"CHATD_CORS_ORIGINS", "ftp://a.example.com", "must be http:// or https://"},
    BadCase{"CHATD_CORS_ORIGINS", "https://u@a.example.com", "must not contain credentials"},
    BadCase{"CHATD_CORS_ORIGINS", "https://", "must name a host"},
    BadCase{"CHATD_CORS_ORIGINS", "https://a.example.com:99999", "the port must be from 1 to 65535"},
    BadCase{"CHATD_CORS_ORIGINS", "https://a.example.com,,https://b.example.com", "has an empty item"},
    BadCase{"CHATD_TRUSTED_PROXIES", "10.0.0.0/33", "item \"10.0.0.0/33\" is not an IPv4/IPv6 address or CIDR network"},
    BadCase{"CHATD_TRUSTED_PROXIES", "10.0.0.1/", "is not an IPv4/IPv6 address or CIDR network"},
    BadCase{"CHATD_TRUSTED_PROXIES", "::1/129", "is not an IPv4/IPv6 address or CIDR network"},
    BadCase{"CHATD_TRUSTED_PROXIES", "proxy.internal", "is not an IPv4/IPv6 address or CIDR network"},
    BadCase{"CHATD_TRUSTED_PROXIES", "10.0.0.0/8,192.168.0.300", "item \"192.168.0.300\" is not"},
    BadCase{"CHATD_TRUSTED_PROXIES", "10.0.0.0/8,", "has an empty item"},
    BadCase{"CHATD_TRUSTED_PROXIES", "*", "item \"*\" is not"},
    BadCase{"CHATD_LOG_LEVEL", "verbose", "must be debug, info, warn or error"},
    BadCase{"CHATD_LOG_LEVEL", "INFO", "must be debug, info, warn or error"},
    BadCase{"CHATD_LOG_FORMAT", "xml", "must be json or text"},
    BadCase{"CHATD_OPENAI_BASE_URL", "api.openai.com", "must be a URL"},
    BadCase{"CHATD_OPENAI_BASE_URL", "ws://api.openai.com", "must be an http:// or https:// URL"},
    BadCase{"CHATD_OPENAI_BASE_URL", "https://user@api.openai.com/v1", "must not contain credentials"},
    BadCase{"CHATD_OPENAI_BASE_URL", "https://api.openai.com/v1?x=1", "must not have a query or fragment"},
    BadCase{"CHATD_OPENAI_BASE_URL", "http://", "must name a host"},
    BadCase{"CHATD_OPENAI_API_KEY", "sk-abc def", "must not contain spaces or control characters"},
    BadCase{"CHATD_OPENAI_MODELS", "gpt-4o,,gpt-4", "has an empty item"},
    BadCase{"CHATD_OPENAI_MODELS", ",", "has an empty item"},
    BadCase{"CHATD_OPENAI_MODELS", "gpt 4", "model \"gpt 4\" contains a space"},
    BadCase{"CHATD_OPENAI_MODELS", "gpt-4o, gpt-4o", "lists model \"gpt-4o\" twice"},
    BadCase{"CHATD_ANTHROPIC_BASE_URL", "file:///etc/passwd", "must be an http:// or https:// URL"},
    BadCase{"CHATD_ANTHROPIC_API_KEY", "sk-ant key", "must not contain spaces"},
    BadCase{"CHATD_ANTHROPIC_MODELS", "claude-x,", "has an empty item"},
    BadCase{"AWS_REGION", "US-EAST-1", "must be a region name such as us-east-1"},
    BadCase{"AWS_REGION", "us east 1", "must be a region name"},
    BadCase{"AWS_ACCESS_KEY_ID", "AKIA-123", "must be letters and digits"},
    BadCase{"AWS_SECRET_ACCESS_KEY", "abc def", "must not contain spaces"},
    BadCase{"AWS_SESSION_TOKEN", "abc def", "must not contain spaces"},
    BadCase{"CHATD_BEDROCK_ENDPOINT", "bedrock.local", "must be a URL"},
    BadCase{"CHATD_BEDROCK_ENDPOINT", "grpc://bedrock.local", "must be an http:// or https:// URL"},
    BadCase{"CHATD_BEDROCK_MODELS", "a,,b", "has an empty item"},
    BadCase{"CHATD_PROVIDERS_FILE", "/nonexistent/providers.json", "cannot be opened (No such file or directory)"},
    BadCase{"CHATD_PROVIDERS_FILE", "/", "is not a regular file"},
    BadCase{"CHATD_DEFAULT_MODEL", "gpt\t4", "must not contain control characters"},
    BadCase{"CHATD_LLM_TIMEOUT_MS", "999", "must be an integer from 1000 to 3600000"},
    BadCase{"CHATD_LLM_TIMEOUT_MS", "3600001", "must be an integer from 1000 to 3600000"},
    BadCase{"CHATD_HTTP_HEADER_TIMEOUT_MS", "99", "must be an integer from 100 to 600000"},
    BadCase{"CHATD_HTTP_HEADER_TIMEOUT_MS", "600001", "must be an integer from 100 to 600000"},
    BadCase{"CHATD_HTTP_BODY_TIMEOUT_MS", "99", "must be an integer from 100 to 3600000"},
    BadCase{"CHATD_HTTP_BODY_TIMEOUT_MS", "3600001", "must be an integer from 100 to 3600000"},
    BadCase{"CHATD_HTTP_IDLE_TIMEOUT_MS", "99", "must be an integer from 100 to 3600000"},
    BadCase{"CHATD_HTTP_IDLE_TIMEOUT_MS", "3600001", "must be an integer from 100 to 3600000"},
    BadCase{"CHATD_MAX_HEADER_BYTES", "1023", "must be an integer from 1024 to 1048576"},
    BadCase{"CHATD_MAX_HEADER_BYTES", "1048577", "must be an integer from 1024 to 1048576"},
    BadCase{"CHATD_MAX_CONNECTIONS", "0", "must be an integer from 1 to 1000000"},
    BadCase{"CHATD_MAX_CONNECTIONS", "1000001", "must be an integer from 1 to 1000000"},
    BadCase{"CHATD_SHUTDOWN_GRACE_MS", "-1", "must be an integer from 0 to 600000"},
    BadCase{"CHATD_SHUTDOWN_GRACE_MS", "600001", "must be an integer from 0 to 600000"},
    BadCase{"CHATD_WORKERS", "0", "must be an integer from 1 to 256"},
    BadCase{"CHATD_WORKERS", "257", "must be an integer from 1 to 256"},
    BadCase{"CHATD_WORKER_QUEUE", "0", "must be an integer from 1 to 1000000"},
    BadCase{"CHATD_WORKER_QUEUE", "1000001", "must be an integer from 1 to 1000000"},
    BadCase{"CHATD_DB_POOL_SIZE", "0", "must be an integer from 1 to 256"},
    BadCase{"CHATD_DB_POOL_SIZE", "257", "must be an integer from 1 to 256"},
    BadCase{"CHATD_MASTER_KEY", "abc", "must be 64 hex digits or the base64 of 32 bytes"},
    BadCase{"CHATD_MASTER_KEY", std::string(63, 'a'), "must be 64 hex digits"},
    BadCase{"CHATD_MASTER_KEY", std::string(65, 'a'), "must be 64 hex digits"},
    BadCase{"CHATD_MASTER_KEY", std::string(63, 'a') + "g", "must be 64 hex digits"},
    BadCase{"CHATD_MASTER_KEY", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==", "the base64 of 32 bytes"}));
// clang-format on

// ---------------------------------------------------------------------------------------------
// Good values: accepted, and shown canonically in the effective listing

namespace {

struct GoodCase {
  std::string name;
  std::string value;
  std::string effective;  // expected effective value
  Env extra = {};         // settings the value needs to be consistent
};

void PrintTo(const GoodCase& c, std::ostream* os) { *os << c.name << "=" << c.value; }

class ConfigGoodValue : public testing::TestWithParam<GoodCase> {};

}  // namespace

TEST_P(ConfigGoodValue, IsAccepted) {
  const auto& c = GetParam();
  Env env = c.extra;
  env[c.name] = c.value;
  LoadResult r = load_env(env);
  EXPECT_TRUE(r.problems.empty()) << all_problems(r);
  EXPECT_EQ(effective(r, c.name).value, c.effective);
  EXPECT_EQ(effective(r, c.name).origin, "env");
}

const std::string kHexKey = "000102030405060708090a0b0c0d0e0f101112131415161718191A1B1C1D1E1F";

// clang-format off
INSTANTIATE_TEST_SUITE_P(Settings, ConfigGoodValue, testing::Values(
    GoodCase{"CHATD_ENV", "development", "development"},
    GoodCase{"CHATD_ADDR", "0.0.0.0:0", "0.0.0.0:0"},
    GoodCase{"CHATD_ADDR", "[::1]:8080", "[::1]:8080"},
    GoodCase{"CHATD_ADDR", "[::]:65535", "[::]:65535"},
    GoodCase{"CHATD_ADDR", "localhost:9000", "127.0.0.1:9000"},
    GoodCase{"CHATD_THREADS", "1", "1"},
    GoodCase{"CHATD_THREADS", "256", "256"},
    GoodCase{"CHATD_THREADS", "007", "7"},
    GoodCase{"CHATD_DATA_DIR", "/srv/chatd", "/srv/chatd"},
    GoodCase{"CHATD_DATABASE_URL", "sqlite:/var/lib/chatd/chatd.db", "sqlite:/var/lib/chatd/chatd.db"},
    GoodCase{"CHATD_DATABASE_URL", "postgresql://chatd:pw@db:5432/chatd", "postgresql://chatd:***@db:5432/chatd"},
    GoodCase{"CHATD_DATABASE_URL", "postgres://db/chatd?sslmode=require", "postgres://db/chatd?sslmode=require"},
    GoodCase{"CHATD_DATABASE_URL", "postgresql://h1:5432,h2:5433/chatd", "postgresql://h1:5432,h2:5433/chatd"},
    GoodCase{"CHATD_DATABASE_URL", "postgresql:///chatd?host=/run/postgresql",
             "postgresql:///chatd?host=/run/postgresql"},
    GoodCase{"CHATD_DATABASE_URL", "postgresql://[::1]/chatd?password=pw", "postgresql://[::1]/chatd?password=***"},
    GoodCase{"CHATD_REDIS_URL", "redis://cache:6379", "redis://cache:6379"},
    GoodCase{"CHATD_REDIS_URL", "redis://:pw@cache:6379/2", "redis://:***@cache:6379/2"},
    GoodCase{"CHATD_REDIS_URL", "redis://[::1]:6379/", "redis://[::1]:6379/"},
    GoodCase{"CHATD_PUBLIC_URL", "https://chat.example.com/", "https://chat.example.com"},
    GoodCase{"CHATD_PUBLIC_URL", "https://example.com/chat//", "https://example.com/chat"},
    GoodCase{"CHATD_PUBLIC_URL", "http://localhost:8080", "http://localhost:8080"},
    GoodCase{"CHATD_SMTP_URL", "smtps://bot:pw@mail.example.com:465", "smtps://bot:***@mail.example.com:465"},
    GoodCase{"CHATD_SMTP_URL", "smtp://localhost:25", "smtp://localhost:25"},
    GoodCase{"CHATD_SMTP_URL", "SMTP://relay:587/", "SMTP://relay:587/"},
    GoodCase{"CHATD_MAIL_FROM", "noreply@example.com", "noreply@example.com"},
    GoodCase{"CHATD_MAIL_FROM", "Chat Bot <noreply@example.com>", "Chat Bot <noreply@example.com>"},
    GoodCase{"CHATD_MAIL_FROM", "\"bot@example\" <noreply@example.com>", "\"bot@example\" <noreply@example.com>"},
    GoodCase{"CHATD_REQUIRE_EMAIL_VERIFICATION", "FALSE", "false"},
    GoodCase{"CHATD_REQUIRE_EMAIL_VERIFICATION", "0", "false"},
    GoodCase{"CHATD_REQUIRE_EMAIL_VERIFICATION", "No", "false"},
    GoodCase{"CHATD_REQUIRE_EMAIL_VERIFICATION", "yes", "true"},
    GoodCase{"CHATD_USER_INVITES", "1", "true"},
    GoodCase{"CHATD_USER_INVITES", "False", "false"},
    GoodCase{"CHATD_REGISTRATION", "invite_only", "invite_only"},
    GoodCase{"CHATD_REGISTRATION", "closed", "closed"},
    GoodCase{"CHATD_PASSWORD_MIN_LENGTH", "8", "8"},
    GoodCase{"CHATD_PASSWORD_MIN_LENGTH", "128", "128"},
    GoodCase{"CHATD_ACCESS_TOKEN_TTL", "60", "60"},
    GoodCase{"CHATD_REFRESH_TOKEN_TTL", "901", "901"},
    GoodCase{"CHATD_LOCKOUT_THRESHOLD", "100", "100"},
    GoodCase{"CHATD_LOCKOUT_SECONDS", "1", "1"},
    GoodCase{"CHATD_RATE_LIMITS", "login=3/1m",
             "login=3/60s,register=5/3600s,verify=5/3600s,otp=10/60s,refresh=60/60s,message=60/60s,global=600/60s"},
    GoodCase{"CHATD_RATE_LIMITS", " otp = 5/2h , global=1/1s,message=1000000000/86400s",
             "login=10/60s,register=5/3600s,verify=5/3600s,otp=5/7200s,refresh=60/60s,message=1000000000/86400s,"
             "global=1/1s"},
    GoodCase{"CHATD_RATE_LIMITS", "register=1/24h,verify=2/1440m,refresh=7/30s",
             "login=10/60s,register=1/86400s,verify=2/86400s,otp=10/60s,refresh=7/30s,message=60/60s,global=600/60s"},
    GoodCase{"CHATD_MAX_BODY_BYTES", "1073741824", "1073741824"},
    GoodCase{"CHATD_MAX_BODY_BYTES", "1048576", "1048576", {{"CHATD_MAX_MESSAGE_CHARS", "1000000"}}},
    GoodCase{"CHATD_MAX_MESSAGE_CHARS", "1", "1"},
    GoodCase{"CHATD_USER_TOKEN_QUOTA", "0", "0"},
    GoodCase{"CHATD_USER_TOKEN_QUOTA", "9223372036854775807", "9223372036854775807"},
    GoodCase{"CHATD_CORS_ORIGINS", "https://App.Example.com:443, http://localhost:3000,https://app.example.com",
             "https://app.example.com,http://localhost:3000"},
    GoodCase{"CHATD_CORS_ORIGINS", "http://[::1]:8080,http://x.example.com:80",
             "http://[::1]:8080,http://x.example.com"},
    GoodCase{"CHATD_TRUSTED_PROXIES", "10.0.0.0/8, 192.168.1.1 ,::1,fd00::/8,0.0.0.0/0",
             "10.0.0.0/8,192.168.1.1,::1,fd00::/8,0.0.0.0/0"},
    GoodCase{"CHATD_LOG_LEVEL", "debug", "debug"},
    GoodCase{"CHATD_LOG_LEVEL", "warn", "warn"},
    GoodCase{"CHATD_LOG_LEVEL", "error", "error"},
    GoodCase{"CHATD_LOG_FORMAT", "text", "text"},
    GoodCase{"CHATD_OPENAI_BASE_URL", "http://localhost:11434/v1/", "http://localhost:11434/v1"},
    GoodCase{"CHATD_OPENAI_BASE_URL", "https://x.openai.azure.com", "https://x.openai.azure.com"},
    GoodCase{"CHATD_OPENAI_API_KEY", "sk-test", "***"},
    GoodCase{"CHATD_OPENAI_MODELS", " gpt-4o , gpt-4o-mini ", "gpt-4o,gpt-4o-mini", {{"CHATD_OPENAI_API_KEY", "k"}}},
    GoodCase{"CHATD_ANTHROPIC_BASE_URL", "https://proxy.example.com/anthropic/", "https://proxy.example.com/anthropic"},
    GoodCase{"CHATD_ANTHROPIC_API_KEY", "sk-ant-test", "***"},
    GoodCase{"CHATD_ANTHROPIC_MODELS", "claude-sonnet-4-0", "claude-sonnet-4-0", {{"CHATD_ANTHROPIC_API_KEY", "k"}}},
    GoodCase{"AWS_REGION", "us-gov-west-1", "us-gov-west-1"},
    GoodCase{"AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE", {{"AWS_SECRET_ACCESS_KEY", "s"}}},
    GoodCase{"AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG", "***", {{"AWS_ACCESS_KEY_ID", "AKIA1"}}},
    GoodCase{"AWS_SESSION_TOKEN", "FwoGZXIvYXdzE", "***",
             {{"AWS_ACCESS_KEY_ID", "AKIA1"}, {"AWS_SECRET_ACCESS_KEY", "s"}}},
    GoodCase{"CHATD_BEDROCK_ENDPOINT", "https://bedrock-runtime.us-east-1.amazonaws.com/",
             "https://bedrock-runtime.us-east-1.amazonaws.com"},
    GoodCase{"CHATD_BEDROCK_MODELS", "anthropic.claude-3-5-sonnet-20240620-v1:0,meta.llama3-8b-instruct-v1:0",
             "anthropic.claude-3-5-sonnet-20240620-v1:0,meta.llama3-8b-instruct-v1:0",
             {{"AWS_REGION", "us-east-1"}, {"AWS_ACCESS_KEY_ID", "AKIA1"}, {"AWS_SECRET_ACCESS_KEY", "s"}}},
    GoodCase{"CHATD_DEFAULT_MODEL", "llama3:8b", "llama3:8b"},
    GoodCase{"CHATD_LLM_TIMEOUT_MS", "1000", "1000"},
    GoodCase{"CHATD_LLM_TIMEOUT_MS", "3600000", "3600000"},
    GoodCase{"CHATD_HTTP_HEADER_TIMEOUT_MS", "100", "100"},
    GoodCase{"CHATD_HTTP_BODY_TIMEOUT_MS", "3600000", "3600000"},
    GoodCase{"CHATD_HTTP_IDLE_TIMEOUT_MS", "5000", "5000"},
    GoodCase{"CHATD_MAX_HEADER_BYTES", "1048576", "1048576"},
    GoodCase{"CHATD_MAX_CONNECTIONS", "1000000", "1000000"},
    GoodCase{"CHATD_SHUTDOWN_GRACE_MS", "0", "0"},
    GoodCase{"CHATD_WORKERS", "256", "256"},
    GoodCase{"CHATD_WORKER_QUEUE", "1", "1"},
    GoodCase{"CHATD_DB_POOL_SIZE", "32", "32"},
    GoodCase{"CHATD_MASTER_KEY", kHexKey, "***"},
    GoodCase{"CHATD_MASTER_KEY", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", "***"},
    GoodCase{"CHATD_ADMIN_PASSWORD", "correct horse\tbattery staple", "***"}));
// clang-format on

TEST(Config, ParsedValuesLandInTheConfig) {
  LoadResult r = load_env({{"CHATD_ENV", "development"},
                           {"CHATD_ADDR", "[::]:0"},
                           {"CHATD_REGISTRATION", "invite_only"},
                           {"CHATD_RATE_LIMITS", "login=3/1m"},
                           {"CHATD_TRUSTED_PROXIES", "10.0.0.0/8,::1"},
                           {"CHATD_CORS_ORIGINS", "https://App.example.com"},
                           {"CHATD_OPENAI_API_KEY", "sk-1"},
                           {"CHATD_OPENAI_MODELS", "a, b"},
                           {"CHATD_REDIS_URL", "redis://:pw@cache:6379/1"},
                           {"CHATD_MASTER_KEY", kHexKey},
                           {"CHATD_ADMIN_PASSWORD", "pw"}});
  ASSERT_TRUE(r.problems.empty()) << all_problems(r);
  const auto& c = r.config;
  EXPECT_EQ(c.host, "::");
  EXPECT_EQ(c.port, 0);
  EXPECT_EQ(c.public_url, "http://[::]:0");
  EXPECT_EQ(c.registration, "invite_only");
  EXPECT_EQ(c.rate_limits.at("login").requests, 3);
  EXPECT_EQ(c.rate_limits.at("login").window_seconds, 60);
  EXPECT_EQ(c.rate_limits.at("register").requests, 5);  // not named: default kept
  ASSERT_EQ(c.trusted_proxies.size(), 2u);
  EXPECT_EQ(c.trusted_proxies[0].prefix, 104);
  EXPECT_EQ(c.trusted_proxies[1].prefix, 128);
  EXPECT_EQ(c.cors_origins, std::vector<std::string>{"https://app.example.com"});
  EXPECT_EQ(c.openai_api_key, "sk-1");
  EXPECT_EQ(c.openai_models, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(c.redis_url, "redis://:pw@cache:6379/1");  // the config keeps the real value
  EXPECT_EQ(c.master_key, kHexKey);
  EXPECT_EQ(c.admin_password, "pw");
}

TEST(Config, ProvidersFileMustExist) {
  TempFile file("{}");
  LoadResult r = load_env({{"CHATD_PROVIDERS_FILE", file.path()}});
  EXPECT_TRUE(r.problems.empty()) << all_problems(r);
  EXPECT_EQ(r.config.providers_file, file.path());

  if (::geteuid() != 0) {  // root reads anything
    ASSERT_EQ(::chmod(file.path().c_str(), 0), 0);
    LoadResult unreadable = load_env({{"CHATD_PROVIDERS_FILE", file.path()}});
    EXPECT_TRUE(has_problem(unreadable, "CHATD_PROVIDERS_FILE: cannot be read (Permission denied)"))
        << all_problems(unreadable);
  }
}

// ---------------------------------------------------------------------------------------------
// Master key

TEST(Config, DecodeMasterKey) {
  auto hex = decode_master_key(kHexKey);
  ASSERT_TRUE(hex);
  for (std::size_t i = 0; i < 32; ++i) EXPECT_EQ((*hex)[i], i);

  auto b64 = decode_master_key("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=");
  ASSERT_TRUE(b64);
  EXPECT_EQ(*b64, *hex);
  EXPECT_EQ(decode_master_key("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"), hex);  // unpadded

  auto ones = decode_master_key("__________________________________________8=");  // URL-safe
  ASSERT_TRUE(ones);
  for (auto b : *ones) EXPECT_EQ(b, 0xff);
  auto mixed = decode_master_key("+//7//v/+//7//v/+//7//v/+//7//v/+//7//v/+/8=");
  ASSERT_TRUE(mixed);
  EXPECT_EQ((*mixed)[0], 0xfb);
  EXPECT_EQ((*mixed)[1], 0xff);

  for (const std::string& bad :
       std::vector<std::string>{"", "abc", std::string(63, '0'), std::string(65, '0'), std::string(64, 'g'),
                                std::string("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg=="),     // 31 bytes
                                std::string("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g"),     // 33 bytes
                                std::string("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9="),     // stray bits
                                std::string("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdH h8="),    // space
                                std::string("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n"),   // newline
                                std::string("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=="),    // padding
                                std::string("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8.")}) {  // alphabet
    EXPECT_FALSE(decode_master_key(bad)) << bad;
  }
}

}  // namespace chatd::config::test
