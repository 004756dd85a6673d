#include "config/config.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <string>
#include <sys/stat.h>
#include <vector>

using chatd::LogFormat;
using chatd::LogLevel;
using chatd::config::decode_master_key;
using chatd::config::known_settings;
using chatd::config::load;
using chatd::config::LoadResult;
using chatd::config::Sources;

namespace {

using Env = std::map<std::string, std::string>;

Sources sources_of(Env env, std::optional<std::string> dotenv = std::nullopt) {
  Sources s;
  s.env = std::move(env);
  s.dotenv = std::move(dotenv);
  s.hardware_threads = 4;
  return s;
}

LoadResult load_env(Env env) { return load(sources_of(std::move(env))); }

std::string all_problems(const LoadResult& r) {
  std::string out;
  for (const auto& p : r.problems) out += p + "\n";
  return out;
}

bool has_problem(const LoadResult& r, const std::string& text) {
  for (const auto& p : r.problems) {
    if (p.find(text) != std::string::npos) return true;
  }
  return false;
}

// The problems that start with "NAME: ".
std::vector<std::string> problems_of(const LoadResult& r, const std::string& name) {
  std::vector<std::string> out;
  for (const auto& p : r.problems) {
    if (p.rfind(name + ": ", 0) == 0) out.push_back(p);
  }
  return out;
}

const LoadResult::Setting& effective(const LoadResult& r, const std::string& name) {
  for (const auto& s : r.effective) {
    if (s.name == name) return s;
  }
  static const LoadResult::Setting missing{"(missing)", "(missing)", "(missing)"};
  ADD_FAILURE() << name << " is not in the effective settings";
  return missing;
}

// A temporary file that is removed at the end of the test.
class TempFile {
 public:
  explicit TempFile(const std::string& content) {
    char name[] = "/tmp/chatd_config_testXXXXXX";
    int fd = ::mkstemp(name);
    EXPECT_GE(fd, 0);
    path_ = name;
    EXPECT_EQ(::write(fd, content.data(), content.size()), static_cast<ssize_t>(content.size()));
    ::close(fd);
  }
  ~TempFile() { ::unlink(path_.c_str()); }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace

// ---------------------------------------------------------------------------------------------
// Defaults and precedence

TEST(Config, DefaultsWithNoSettings) {
  LoadResult r = load(sources_of({}));
  EXPECT_TRUE(r.problems.empty()) << all_problems(r);
  const auto& c = r.config;
  EXPECT_FALSE(c.production);
  EXPECT_EQ(c.host, "127.0.0.1");
  EXPECT_EQ(c.port, 8080);
  EXPECT_EQ(c.threads, 4);
  EXPECT_EQ(c.data_dir, "./data");
  EXPECT_EQ(c.database_url, "sqlite:./data/chatd.db");
  EXPECT_TRUE(c.is_sqlite());
  EXPECT_EQ(c.sqlite_path(), "./data/chatd.db");
  EXPECT_FALSE(c.redis_url);
  EXPECT_EQ(c.public_url, "http://127.0.0.1:8080");
  EXPECT_FALSE(c.smtp_url);
  EXPECT_EQ(c.mail_from, "chatd@localhost");
  EXPECT_TRUE(c.require_email_verification);
  EXPECT_EQ(c.registration, "open");
  EXPECT_EQ(c.password_min_length, 12);
  EXPECT_EQ(c.access_token_ttl, 900);
  EXPECT_EQ(c.refresh_token_ttl, 2592000);
  EXPECT_EQ(c.lockout_threshold, 5);
  EXPECT_EQ(c.lockout_seconds, 900);
  EXPECT_TRUE(c.user_invites);
  EXPECT_EQ(c.max_body_bytes, 1048576);
  EXPECT_EQ(c.max_message_chars, 32000);
  EXPECT_EQ(c.user_token_quota, 0);
  EXPECT_TRUE(c.cors_origins.empty());
  EXPECT_TRUE(c.trusted_proxies.empty());
  EXPECT_EQ(c.log_level, LogLevel::info);
  EXPECT_EQ(c.log_format, LogFormat::json);
  EXPECT_EQ(c.openai_base_url, "https://api.openai.com/v1");
  EXPECT_FALSE(c.openai_api_key);
  EXPECT_TRUE(c.openai_models.empty());
  EXPECT_EQ(c.anthropic_base_url, "https://api.anthropic.com");
  EXPECT_FALSE(c.anthropic_api_key);
  EXPECT_FALSE(c.aws_region);
  EXPECT_FALSE(c.aws_access_key_id);
  EXPECT_FALSE(c.bedrock_endpoint);
  EXPECT_FALSE(c.providers_file);
  EXPECT_FALSE(c.default_model);
  EXPECT_EQ(c.llm_timeout_ms, 120000);
  EXPECT_EQ(c.http_header_timeout_ms, 10000);
  EXPECT_EQ(c.http_body_timeout_ms, 30000);
  EXPECT_EQ(c.http_idle_timeout_ms, 60000);
  EXPECT_EQ(c.max_header_bytes, 16384);
  EXPECT_EQ(c.max_connections, 10000);
  EXPECT_EQ(c.shutdown_grace_ms, 10000);
  EXPECT_EQ(c.workers, 8);
  EXPECT_EQ(c.worker_queue, 1024);
  EXPECT_EQ(c.db_pool_size, 8);
  EXPECT_FALSE(c.master_key);
  EXPECT_FALSE(c.admin_password);
}

TEST(Config, DefaultRateLimitsHaveEveryBucket) {
  const auto& limits = load(sources_of({})).config.rate_limits;
  ASSERT_EQ(limits.size(), 7u);
  auto expect = [&](const char* bucket, std::int64_t n, std::int64_t window) {
    ASSERT_TRUE(limits.contains(bucket)) << bucket;
    EXPECT_EQ(limits.at(bucket).requests, n) << bucket;
    EXPECT_EQ(limits.at(bucket).window_seconds, window) << bucket;
  };
  expect("login", 10, 60);
  expect("register", 5, 3600);
  expect("verify", 5, 3600);
  expect("otp", 10, 60);
  expect("refresh", 60, 60);
  expect("message", 60, 60);
  expect("global", 600, 60);
}

TEST(Config, ThreadDefaultsFollowHardware) {
  Sources s;
  s.hardware_threads = 0;  // unknown
  EXPECT_EQ(load(s).config.threads, 1);
  EXPECT_EQ(load(s).config.workers, 4);
  s.hardware_threads = 1;
  EXPECT_EQ(load(s).config.threads, 1);
  EXPECT_EQ(load(s).config.workers, 4);
  s.hardware_threads = 6;
  EXPECT_EQ(load(s).config.threads, 6);
  EXPECT_EQ(load(s).config.workers, 12);
  s.hardware_threads = 1000;
  EXPECT_EQ(load(s).config.threads, 256);
  EXPECT_EQ(load(s).config.workers, 256);
  EXPECT_TRUE(load(s).problems.empty());
}

TEST(Config, EnvironmentBeatsDotenvBeatsDefault) {
  LoadResult r = load(
      sources_of({{"CHATD_THREADS", "3"}, {"CHATD_LOG_FORMAT", "text"}}, "CHATD_THREADS=7\nCHATD_LOG_LEVEL=debug\n"));
  EXPECT_TRUE(r.problems.empty()) << all_problems(r);
  EXPECT_EQ(r.config.threads, 3);
  EXPECT_EQ(r.config.log_level, LogLevel::debug);
  EXPECT_EQ(r.config.log_format, LogFormat::text);
  EXPECT_EQ(r.config.max_body_bytes, 1048576);
  EXPECT_EQ(effective(r, "CHATD_THREADS").origin, "env");
  EXPECT_EQ(effective(r, "CHATD_THREADS").value, "3");
  EXPECT_EQ(effective(r, "CHATD_LOG_LEVEL").origin, ".env");
  EXPECT_EQ(effective(r, "CHATD_LOG_LEVEL").value, "debug");
  EXPECT_EQ(effective(r, "CHATD_MAX_BODY_BYTES").origin, "default");
  EXPECT_EQ(effective(r, "CHATD_MAX_BODY_BYTES").value, "1048576");
}

TEST(Config, AnInvalidDotenvValueHiddenByTheEnvironmentIsNotChecked) {
  LoadResult r = load(sources_of({{"CHATD_THREADS", "3"}}, "CHATD_THREADS=lots\n"));
  EXPECT_TRUE(r.problems.empty()) << all_problems(r);
  EXPECT_EQ(r.config.threads, 3);
}

TEST(Config, EmptyValueMeansTheDefault) {
  LoadResult r = load(sources_of({{"CHATD_THREADS", ""}, {"CHATD_SMTP_URL", ""}}, "CHATD_LOG_LEVEL=\n"));
  EXPECT_TRUE(r.problems.empty()) << all_problems(r);
  EXPECT_EQ(r.config.threads, 4);
  EXPECT_FALSE(r.config.smtp_url);
  EXPECT_EQ(r.config.log_level, LogLevel::info);
  // An empty variable in the environment still hides the .env line.
  LoadResult hidden = load(sources_of({{"CHATD_LOG_LEVEL", ""}}, "CHATD_LOG_LEVEL=debug\n"));
  EXPECT_EQ(hidden.config.log_level, LogLevel::info);
  EXPECT_EQ(effective(hidden, "CHATD_LOG_LEVEL").origin, "env");
}

TEST(Config, DotenvValuesAreUnquoted) {
  LoadResult r = load(sources_of({},
                                 "export CHATD_MAIL_FROM=\"Chat Bot <bot@example.com>\" # sender\n"
                                 "CHATD_DATA_DIR='/srv/chat data'\n"
                                 "CHATD_DEFAULT_MODEL=gpt-4o # the default\n"));
  EXPECT_TRUE(r.problems.empty()) << all_problems(r);
  EXPECT_EQ(r.config.mail_from, "Chat Bot <bot@example.com>");
  EXPECT_EQ(r.config.data_dir, "/srv/chat data");
  EXPECT_EQ(r.config.default_model, "gpt-4o");
}

TEST(Config, MalformedDotenvLineNamesFileAndLine) {
  Sources s = sources_of({}, "CHATD_THREADS=2\n\nthis is not a setting\nCHATD_LOG_LEVEL=\"warn\n");
  s.dotenv_name = "/app/.env";
  LoadResult r = load(s);
  EXPECT_EQ(effective(r, "CHATD_THREADS").origin, ".env");
  ASSERT_EQ(r.problems.size(), 2u) << all_problems(r);
  EXPECT_EQ(r.problems[0], "/app/.env:3: malformed line, expected KEY=VALUE");
  EXPECT_EQ(r.problems[1],
            "/app/.env:4: malformed value of CHATD_LOG_LEVEL: unterminated double quote (quoted values end on their "
            "line)");
  EXPECT_EQ(r.config.threads, 2);  // the good lines still count
}

TEST(Config, SettingRepeatedInDotenvIsAProblem) {
  LoadResult r = load(sources_of({}, "CHATD_THREADS=2\nOTHER=1\nOTHER=2\nCHATD_THREADS=3\n"));
  ASSERT_EQ(r.problems.size(), 1u) << all_problems(r);
  EXPECT_EQ(r.problems[0], "CHATD_THREADS: set twice in .env (lines 1 and 4)");
}

TEST(Config, UnreadableDotenvIsAProblem) {
  Sources s;
  s.dotenv_error.emplace("Permission denied");
  LoadResult r = load(s);
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_EQ(r.problems[0], ".env: cannot be read (Permission denied)");
}

TEST(Config, DatabaseDefaultFollowsDataDir) {
  EXPECT_EQ(load_env({{"CHATD_DATA_DIR", "/"}}).config.database_url, "sqlite:/chatd.db");
  EXPECT_EQ(load_env({{"CHATD_DATA_DIR", "var"}}).config.database_url, "sqlite:var/chatd.db");
  LoadResult r = load_env({{"CHATD_DATA_DIR", "/var/lib/chatd/"}});
  EXPECT_EQ(r.config.database_url, "sqlite:/var/lib/chatd/chatd.db");
  EXPECT_EQ(effective(r, "CHATD_DATABASE_URL").origin, "default");
  LoadResult explicit_url = load_env({{"CHATD_DATA_DIR", "/var/lib/chatd"}, {"CHATD_DATABASE_URL", "sqlite:/db/x.db"}});
  EXPECT_EQ(explicit_url.config.database_url, "sqlite:/db/x.db");
}

TEST(Config, PublicUrlDefaultFollowsAddr) {
  EXPECT_EQ(load_env({{"CHATD_ADDR", "0.0.0.0:9000"}}).config.public_url, "http://0.0.0.0:9000");
  EXPECT_EQ(load_env({{"CHATD_ADDR", "[::1]:9000"}}).config.public_url, "http://[::1]:9000");
  EXPECT_EQ(
      load_env({{"CHATD_ADDR", "[::1]:9000"}, {"CHATD_PUBLIC_URL", "https://chat.example.com/"}}).config.public_url,
      "https://chat.example.com");
}

// ---------------------------------------------------------------------------------------------
// Unknown settings

TEST(Config, UnknownSettingSuggestsTheClosestName) {
  LoadResult r = load_env({{"CHATD_THRADS", "4"}});
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_EQ(r.problems[0], "CHATD_THRADS: unknown setting (did you mean CHATD_THREADS?)");

  EXPECT_EQ(load_env({{"CHATD_OPENAI_KEY", "x"}}).problems.at(0),
            "CHATD_OPENAI_KEY: unknown setting (did you mean CHATD_OPENAI_API_KEY?)");
  EXPECT_EQ(load_env({{"chatd_threads", "4"}}).problems.at(0),
            "chatd_threads: unknown setting (did you mean CHATD_THREADS?)");
  EXPECT_EQ(load_env({{"CHATD_REDIS", "x"}}).problems.at(0),
            "CHATD_REDIS: unknown setting (did you mean CHATD_REDIS_URL?)");
}

TEST(Config, UnknownSettingWithoutCloseNameHasNoSuggestion) {
  LoadResult r = load_env({{"CHATD_FOO", "1"}, {"CHATD_", "2"}});
  ASSERT_EQ(r.problems.size(), 2u) << all_problems(r);
  EXPECT_EQ(r.problems[0], "CHATD_: unknown setting");
  EXPECT_EQ(r.problems[1], "CHATD_FOO: unknown setting");
}

TEST(Config, UnknownSettingInDotenvNamesTheLine) {
  LoadResult r = load(sources_of({}, "# settings\nCHATD_LOG_LEVLE=debug\n"));
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_EQ(r.problems[0], "CHATD_LOG_LEVLE: unknown setting in .env line 2 (did you mean CHATD_LOG_LEVEL?)");
}

TEST(Config, OtherVariablesAreIgnored) {
  LoadResult r = load(sources_of({{"PATH", "/usr/bin"},
                                  {"HOME", "/root"},
                                  {"AWS_PROFILE", "dev"},
                                  {"AWS_DEFAULT_REGION", "eu-west-1"},
                                  {"XCHATD_THREADS", "x"},
                                  {"MY_CHATD_THING", "x"}},
                                 "DATABASE_URL=whatever\nNODE_ENV=production\n"));
  EXPECT_TRUE(r.problems.empty()) << all_problems(r);
}

TEST(Config, KnownSettingsListEveryName) {
  const auto& names = known_settings();
  EXPECT_EQ(names.size(), 53u);
  EXPECT_EQ(names.front(), "CHATD_ENV");
  for (const char* n :
       {"CHATD_ADDR", "CHATD_RATE_LIMITS", "AWS_SESSION_TOKEN", "CHATD_MASTER_KEY", "CHATD_WORKERS",
        "CHATD_ADMIN_PASSWORD", "CHATD_METRICS_TOKEN", "CHATD_HTTP_IDLE_TIMEOUT_MS", "CHATD_SSE_HEARTBEAT_MS"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), n), names.end()) << n;
  }
  LoadResult r = load(sources_of({}));
  ASSERT_EQ(r.effective.size(), names.size());
  for (std::size_t i = 0; i < names.size(); ++i) EXPECT_EQ(r.effective[i].name, names[i]);
}

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
    BadCase{"CHATD_REDIS_URL", "rediss://h:6379", "must be redis://host:port[/db]"},
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

// ---------------------------------------------------------------------------------------------
// Secrets

TEST(Config, SecretsNeverAppearInProblemsOrEffectiveSettings) {
  const std::string marker = "Zq7SECRETMARKERx";
  const std::string hex_key = "deadbeefdeadbeefdeadbeefdeadbeefdeadbeefdeadbeefdeadbeefdeadbeef";
  auto check = [&](const LoadResult& r, const std::vector<std::string>& must_report) {
    for (const auto& p : r.problems) {
      EXPECT_EQ(p.find(marker), std::string::npos) << p;
      EXPECT_EQ(p.find(hex_key), std::string::npos) << p;
      EXPECT_EQ(p.find("pa/ss"), std::string::npos) << p;
    }
    for (const auto& s : r.effective) {
      EXPECT_EQ(s.value.find(marker), std::string::npos) << s.name << "=" << s.value;
      EXPECT_EQ(s.value.find(hex_key), std::string::npos) << s.name << "=" << s.value;
      EXPECT_EQ(s.value.find("pa/ss"), std::string::npos) << s.name << "=" << s.value;
    }
    for (const auto& name : must_report) EXPECT_FALSE(problems_of(r, name).empty()) << name << "\n" << all_problems(r);
  };

  // Valid secrets, in production so that the URL refusals quote the URLs.
  LoadResult valid = load(sources_of({{"CHATD_ENV", "production"},
                                      {"CHATD_OPENAI_API_KEY", "sk-" + marker},
                                      {"CHATD_ANTHROPIC_API_KEY", marker},
                                      {"AWS_ACCESS_KEY_ID", "AKIA1"},
                                      {"AWS_SECRET_ACCESS_KEY", marker},
                                      {"AWS_SESSION_TOKEN", marker},
                                      {"CHATD_MASTER_KEY", hex_key},
                                      {"CHATD_ADMIN_PASSWORD", marker},
                                      {"CHATD_DATABASE_URL", "postgresql://chatd:" + marker + "@db/chatd"},
                                      {"CHATD_SMTP_URL", "smtp://bot:" + marker + "@mail.example.com:587"},
                                      {"CHATD_REDIS_URL", "redis://:" + marker + "@cache:6379"}}));
  check(valid, {"CHATD_SMTP_URL"});
  EXPECT_EQ(effective(valid, "CHATD_OPENAI_API_KEY").value, "***");
  EXPECT_EQ(effective(valid, "AWS_SECRET_ACCESS_KEY").value, "***");
  EXPECT_EQ(effective(valid, "AWS_SESSION_TOKEN").value, "***");
  EXPECT_EQ(effective(valid, "CHATD_MASTER_KEY").value, "***");
  EXPECT_EQ(effective(valid, "CHATD_ADMIN_PASSWORD").value, "***");
  EXPECT_EQ(effective(valid, "CHATD_DATABASE_URL").value, "postgresql://chatd:***@db/chatd");
  EXPECT_EQ(effective(valid, "CHATD_REDIS_URL").value, "redis://:***@cache:6379");
  EXPECT_EQ(effective(valid, "AWS_ACCESS_KEY_ID").value, "AKIA1");  // an identifier, not a secret

  // Invalid secrets and URLs that fail to parse in every way.
  LoadResult invalid =
      load(sources_of({{"CHATD_OPENAI_API_KEY", marker + " x"},
                       {"CHATD_ANTHROPIC_API_KEY", marker + "\n"},
                       {"AWS_SECRET_ACCESS_KEY", marker + " x"},
                       {"AWS_SESSION_TOKEN", marker + "\t"},
                       {"CHATD_MASTER_KEY", marker},
                       {"CHATD_DATABASE_URL", "postgresql://u:pa/ss@db:x/chatd?password=" + marker},
                       {"CHATD_SMTP_URL", "smtp://u:" + marker + "@mail.example.com"},
                       {"CHATD_REDIS_URL", marker + "@cache:6379"}},
                      "CHATD_ADMIN_PASSWORD=\"" + marker + "\nCHATD_OPENAI_KEY=" + marker + "\n" + marker + "\n"));
  check(invalid, {"CHATD_OPENAI_API_KEY", "CHATD_ANTHROPIC_API_KEY", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                  "CHATD_MASTER_KEY", "CHATD_DATABASE_URL", "CHATD_SMTP_URL", "CHATD_REDIS_URL", "CHATD_OPENAI_KEY"});
  EXPECT_EQ(effective(invalid, "CHATD_MASTER_KEY").value, "***");
  EXPECT_EQ(effective(invalid, "CHATD_DATABASE_URL").value, "postgresql://u:***@db:x/chatd?password=***");
  EXPECT_EQ(effective(invalid, "CHATD_REDIS_URL").value, "***@cache:6379");
  EXPECT_EQ(problems_of(invalid, "CHATD_SMTP_URL").at(0),
            "CHATD_SMTP_URL: must name a port (smtp://[user:pass@]host:port, usually 587; smtps:// 465) (got "
            "\"smtp://u:***@mail.example.com\")");
}

TEST(Config, UnsetSecretsAreEmptyInTheEffectiveSettings) {
  LoadResult r = load(sources_of({}));
  for (const char* name : {"CHATD_OPENAI_API_KEY", "CHATD_ANTHROPIC_API_KEY", "AWS_SECRET_ACCESS_KEY",
                           "AWS_SESSION_TOKEN", "CHATD_MASTER_KEY", "CHATD_ADMIN_PASSWORD", "CHATD_SMTP_URL"}) {
    EXPECT_EQ(effective(r, name).value, "") << name;
    EXPECT_EQ(effective(r, name).origin, "default") << name;
  }
}

TEST(Config, InvalidValueIsShownAsGivenInTheEffectiveSettings) {
  LoadResult r = load_env({{"CHATD_THREADS", "lots"}});
  EXPECT_EQ(effective(r, "CHATD_THREADS").value, "lots");
  EXPECT_EQ(r.config.threads, 4);
}

// ---------------------------------------------------------------------------------------------
// Robustness: any value for any setting gives one-line problems for that setting only

TEST(Config, OddValuesNeverCrashAndStayOnOneLine) {
  const std::vector<std::string> odd = {" ",        "\x01",        std::string(10000, 'x'),
                                        "://",      "[",           "]",
                                        "@",        "%",           "/",
                                        ",",        "=",           "-0",
                                        "1e3",      "[::1]",       "::",
                                        "\xff\xfe", "a@b@c",       "x://@:",
                                        "smtp://@", "http://[::1", "login==1/1s"};
  for (auto name : known_settings()) {
    for (const auto& value : odd) {
      LoadResult r = load_env({{std::string(name), value}});
      for (const auto& p : r.problems) {
        EXPECT_EQ(p.find('\n'), std::string::npos) << name;
        EXPECT_LE(p.size(), 600u) << name;
        // Problems belong to the setting, or to a setting it contradicts.
        EXPECT_TRUE(p.find(std::string(name)) != std::string::npos || p.rfind("AWS_", 0) == 0 ||
                    p.rfind("CHATD_", 0) == 0)
            << p;
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Master key and system sources

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

TEST(Config, SystemSourcesReadTheEnvironment) {
  ASSERT_EQ(::setenv("CHATD_UNIT_TEST_PROBE", "a=b", 1), 0);
  Sources s = chatd::config::system_sources();
  ::unsetenv("CHATD_UNIT_TEST_PROBE");
  ASSERT_TRUE(s.env.contains("CHATD_UNIT_TEST_PROBE"));
  EXPECT_EQ(s.env.at("CHATD_UNIT_TEST_PROBE"), "a=b");
  EXPECT_GE(s.hardware_threads, 1u);
  EXPECT_EQ(s.dotenv_name, ".env");
}
