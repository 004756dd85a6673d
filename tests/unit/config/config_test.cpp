// Loading as a whole: defaults and where each value comes from (environment, .env, default),
// unknown names, secrets kept out of problems and the effective listing, odd values, and the
// real sources. Each setting's values are in settings_test.cpp, the checks in checks_test.cpp.

#include "config/config.hpp"

#include "test_support.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

namespace chatd::config::test {

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
  EXPECT_EQ(names.size(), 56u);
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
// System sources

TEST(Config, SystemSourcesReadTheEnvironment) {
  ASSERT_EQ(::setenv("CHATD_UNIT_TEST_PROBE", "a=b", 1), 0);
  Sources s = chatd::config::system_sources();
  ::unsetenv("CHATD_UNIT_TEST_PROBE");
  ASSERT_TRUE(s.env.contains("CHATD_UNIT_TEST_PROBE"));
  EXPECT_EQ(s.env.at("CHATD_UNIT_TEST_PROBE"), "a=b");
  EXPECT_GE(s.hardware_threads, 1u);
  EXPECT_EQ(s.dotenv_name, ".env");
}

}  // namespace chatd::config::test
