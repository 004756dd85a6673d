// The table of every setting load() knows, in documentation order: its name, whether its
// value is secret, how its value is parsed into the Config (an empty value keeps the default
// of config.hpp) and how its effective value is written back for `chatd config check`.
// Parsers of the larger kinds of values are in values.cpp; the bounds of each number are here.

#include "config/detail.hpp"

#include <algorithm>
#include <cctype>
#include <limits>

namespace chatd::config::detail {

namespace {

constexpr std::int64_t kTenYears = 315360000;  // bound on durations, keeps time arithmetic far from overflow

std::string or_empty(const std::optional<std::string>& s) { return s ? *s : std::string(); }

std::string secret_render(const std::optional<std::string>& s) { return s ? std::string(kRedacted) : std::string(); }

// clang-format off
const Setting kSettings[] = {
  {"CHATD_ENV", Secrecy::none,
   [](Field& f, Config& c) {
     if (f.value == "production") c.production = true;
     else if (f.value == "development") c.production = false;
     else f.fail("must be development or production");
   },
   [](const Config& c) { return std::string(c.production ? "production" : "development"); }},
  {"CHATD_ADDR", Secrecy::none, parse_addr, addr_text},
  {"CHATD_THREADS", Secrecy::none, [](Field& f, Config& c) { parse_int(f, 1, 256, c.threads); },
   [](const Config& c) { return std::to_string(c.threads); }},
  {"CHATD_DATA_DIR", Secrecy::none, [](Field& f, Config& c) { c.data_dir.assign(f.value); },
   [](const Config& c) { return c.data_dir; }},
  {"CHATD_DATABASE_URL", Secrecy::url, parse_database_url, [](const Config& c) { return c.database_url; }},
  {"CHATD_REDIS_URL", Secrecy::url, parse_redis_url, [](const Config& c) { return or_empty(c.redis_url); }},
  {"CHATD_PUBLIC_URL", Secrecy::none, parse_public_url, [](const Config& c) { return c.public_url; }},
  {"CHATD_SMTP_URL", Secrecy::url, parse_smtp_url, [](const Config& c) { return or_empty(c.smtp_url); }},
  {"CHATD_MAIL_FROM", Secrecy::none, parse_mail_from, [](const Config& c) { return c.mail_from; }},
  {"CHATD_REQUIRE_EMAIL_VERIFICATION", Secrecy::none,
   [](Field& f, Config& c) { parse_bool(f, c.require_email_verification); },
   [](const Config& c) { return std::string(c.require_email_verification ? "true" : "false"); }},
  {"CHATD_REGISTRATION", Secrecy::none,
   [](Field& f, Config& c) {
     if (f.value == "open" || f.value == "invite_only" || f.value == "closed") c.registration.assign(f.value);
     else f.fail("must be open, invite_only or closed");
   },
   [](const Config& c) { return c.registration; }},
  {"CHATD_PASSWORD_MIN_LENGTH", Secrecy::none, [](Field& f, Config& c) { parse_int(f, 8, 128, c.password_min_length); },
   [](const Config& c) { return std::to_string(c.password_min_length); }},
  {"CHATD_ACCESS_TOKEN_TTL", Secrecy::none, [](Field& f, Config& c) { parse_int(f, 1, kTenYears, c.access_token_ttl); },
   [](const Config& c) { return std::to_string(c.access_token_ttl); }},
  {"CHATD_REFRESH_TOKEN_TTL", Secrecy::none,
   [](Field& f, Config& c) { parse_int(f, 1, kTenYears, c.refresh_token_ttl); },
   [](const Config& c) { return std::to_string(c.refresh_token_ttl); }},
  {"CHATD_LOCKOUT_THRESHOLD", Secrecy::none, [](Field& f, Config& c) { parse_int(f, 1, 100, c.lockout_threshold); },
   [](const Config& c) { return std::to_string(c.lockout_threshold); }},
  {"CHATD_LOCKOUT_SECONDS", Secrecy::none, [](Field& f, Config& c) { parse_int(f, 1, kTenYears, c.lockout_seconds); },
   [](const Config& c) { return std::to_string(c.lockout_seconds); }},
  {"CHATD_RATE_LIMITS", Secrecy::none, parse_rate_limits, render_rate_limits},
  {"CHATD_USER_INVITES", Secrecy::none, [](Field& f, Config& c) { parse_bool(f, c.user_invites); },
   [](const Config& c) { return std::string(c.user_invites ? "true" : "false"); }},
  {"CHATD_MAX_BODY_BYTES", Secrecy::none,
   [](Field& f, Config& c) { parse_int(f, std::int64_t{1024}, std::int64_t{1} << 30, c.max_body_bytes); },
   [](const Config& c) { return std::to_string(c.max_body_bytes); }},
  {"CHATD_MAX_V1_BODY_BYTES", Secrecy::none,
   [](Field& f, Config& c) { parse_int(f, std::int64_t{1024}, std::int64_t{1} << 30, c.max_v1_body_bytes); },
   [](const Config& c) { return std::to_string(c.max_v1_body_bytes); }},
  {"CHATD_MAX_IMAGE_BYTES", Secrecy::none,
   [](Field& f, Config& c) { parse_int(f, std::int64_t{1}, std::int64_t{1} << 30, c.max_image_bytes); },
   [](const Config& c) { return std::to_string(c.max_image_bytes); }},
  {"CHATD_IMAGE_FETCH_ALLOW_PRIVATE", Secrecy::none, [](Field& f, Config& c) { parse_bool(f, c.image_fetch_allow_private); },
   [](const Config& c) { return std::string(c.image_fetch_allow_private ? "true" : "false"); }},
  {"CHATD_MAX_MESSAGE_CHARS", Secrecy::none,
   [](Field& f, Config& c) { parse_int(f, std::int64_t{1}, std::int64_t{1000000}, c.max_message_chars); },
   [](const Config& c) { return std::to_string(c.max_message_chars); }},
  {"CHATD_USER_TOKEN_QUOTA", Secrecy::none,
   [](Field& f, Config& c) {
     parse_int(f, std::int64_t{0}, std::numeric_limits<std::int64_t>::max(), c.user_token_quota);
   },
   [](const Config& c) { return std::to_string(c.user_token_quota); }},
  {"CHATD_CORS_ORIGINS", Secrecy::none, parse_cors_origins, [](const Config& c) { return join(c.cors_origins); }},
  {"CHATD_TRUSTED_PROXIES", Secrecy::none, parse_trusted_proxies, render_networks},
  {"CHATD_LOG_LEVEL", Secrecy::none,
   [](Field& f, Config& c) {
     if (!parse_log_level(f.value, c.log_level)) f.fail("must be debug, info, warn or error");
   },
   [](const Config& c) {
     static constexpr std::string_view names[] = {"debug", "info", "warn", "error"};
     return std::string(names[static_cast<int>(c.log_level)]);
   }},
  {"CHATD_LOG_FORMAT", Secrecy::none,
   [](Field& f, Config& c) {
     if (f.value == "json") c.log_format = LogFormat::json;
     else if (f.value == "text") c.log_format = LogFormat::text;
     else f.fail("must be json or text");
   },
   [](const Config& c) { return std::string(c.log_format == LogFormat::json ? "json" : "text"); }},
  {"CHATD_OPENAI_BASE_URL", Secrecy::url, [](Field& f, Config& c) { parse_base_url(f, c.openai_base_url); },
   [](const Config& c) { return c.openai_base_url; }},
  {"CHATD_OPENAI_API_KEY", Secrecy::secret, [](Field& f, Config& c) { parse_api_key(f, c.openai_api_key); },
   [](const Config& c) { return secret_render(c.openai_api_key); }},
  {"CHATD_OPENAI_MODELS", Secrecy::none, [](Field& f, Config& c) { parse_models(f, c.openai_models); },
   [](const Config& c) { return join(c.openai_models); }},
  {"CHATD_ANTHROPIC_BASE_URL", Secrecy::url, [](Field& f, Config& c) { parse_base_url(f, c.anthropic_base_url); },
   [](const Config& c) { return c.anthropic_base_url; }},
  {"CHATD_ANTHROPIC_API_KEY", Secrecy::secret, [](Field& f, Config& c) { parse_api_key(f, c.anthropic_api_key); },
   [](const Config& c) { return secret_render(c.anthropic_api_key); }},
  {"CHATD_ANTHROPIC_MODELS", Secrecy::none, [](Field& f, Config& c) { parse_models(f, c.anthropic_models); },
   [](const Config& c) { return join(c.anthropic_models); }},
  {"AWS_REGION", Secrecy::none,
   [](Field& f, Config& c) {
     bool ok = std::all_of(f.value.begin(), f.value.end(),
                           [](char ch) { return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-'; });
     if (!ok) return f.fail("must be a region name such as us-east-1");
     c.aws_region.emplace(f.value);
   },
   [](const Config& c) { return or_empty(c.aws_region); }},
  {"AWS_ACCESS_KEY_ID", Secrecy::none,
   [](Field& f, Config& c) {
     bool ok = std::all_of(f.value.begin(), f.value.end(),
                           [](char ch) { return std::isalnum(static_cast<unsigned char>(ch)) != 0; });
     if (!ok) return f.fail("must be letters and digits, such as AKIAIOSFODNN7EXAMPLE");
     c.aws_access_key_id.emplace(f.value);
   },
   [](const Config& c) { return or_empty(c.aws_access_key_id); }},
  {"AWS_SECRET_ACCESS_KEY", Secrecy::secret, [](Field& f, Config& c) { parse_api_key(f, c.aws_secret_access_key); },
   [](const Config& c) { return secret_render(c.aws_secret_access_key); }},
  {"AWS_SESSION_TOKEN", Secrecy::secret, [](Field& f, Config& c) { parse_api_key(f, c.aws_session_token); },
   [](const Config& c) { return secret_render(c.aws_session_token); }},
  {"CHATD_BEDROCK_ENDPOINT", Secrecy::url,
   [](Field& f, Config& c) {
     std::string url;
     parse_base_url(f, url);
     if (!f.failed) c.bedrock_endpoint = std::move(url);
   },
   [](const Config& c) { return or_empty(c.bedrock_endpoint); }},
  {"CHATD_BEDROCK_MODELS", Secrecy::none, [](Field& f, Config& c) { parse_models(f, c.bedrock_models); },
   [](const Config& c) { return join(c.bedrock_models); }},
  {"CHATD_PROVIDERS_FILE", Secrecy::none, parse_providers_file,
   [](const Config& c) { return or_empty(c.providers_file); }},
  {"CHATD_DEFAULT_MODEL", Secrecy::none, [](Field& f, Config& c) { c.default_model.emplace(f.value); },
   [](const Config& c) { return or_empty(c.default_model); }},
  {"CHATD_LLM_TIMEOUT_MS", Secrecy::none,
   [](Field& f, Config& c) { parse_int(f, std::int64_t{1000}, std::int64_t{3600000}, c.llm_timeout_ms); },
   [](const Config& c) { return std::to_string(c.llm_timeout_ms); }},
  {"CHATD_HTTP_HEADER_TIMEOUT_MS", Secrecy::none,
   [](Field& f, Config& c) { parse_int(f, std::int64_t{100}, std::int64_t{600000}, c.http_header_timeout_ms); },
   [](const Config& c) { return std::to_string(c.http_header_timeout_ms); }},
  {"CHATD_HTTP_BODY_TIMEOUT_MS", Secrecy::none,
   [](Field& f, Config& c) { parse_int(f, std::int64_t{100}, std::int64_t{3600000}, c.http_body_timeout_ms); },
   [](const Config& c) { return std::to_string(c.http_body_timeout_ms); }},
  {"CHATD_HTTP_IDLE_TIMEOUT_MS", Secrecy::none,
   [](Field& f, Config& c) { parse_int(f, std::int64_t{100}, std::int64_t{3600000}, c.http_idle_timeout_ms); },
   [](const Config& c) { return std::to_string(c.http_idle_timeout_ms); }},
  {"CHATD_MAX_HEADER_BYTES", Secrecy::none,
   [](Field& f, Config& c) { parse_int(f, std::int64_t{1024}, std::int64_t{1048576}, c.max_header_bytes); },
   [](const Config& c) { return std::to_string(c.max_header_bytes); }},
  {"CHATD_MAX_CONNECTIONS", Secrecy::none,
   [](Field& f, Config& c) { parse_int(f, std::int64_t{1}, std::int64_t{1000000}, c.max_connections); },
   [](const Config& c) { return std::to_string(c.max_connections); }},
  {"CHATD_SHUTDOWN_GRACE_MS", Secrecy::none,
   [](Field& f, Config& c) { parse_int(f, std::int64_t{0}, std::int64_t{600000}, c.shutdown_grace_ms); },
   [](const Config& c) { return std::to_string(c.shutdown_grace_ms); }},
  {"CHATD_SSE_HEARTBEAT_MS", Secrecy::none,
   [](Field& f, Config& c) { parse_int(f, std::int64_t{100}, std::int64_t{600000}, c.sse_heartbeat_ms); },
   [](const Config& c) { return std::to_string(c.sse_heartbeat_ms); }},
  {"CHATD_WORKERS", Secrecy::none, [](Field& f, Config& c) { parse_int(f, 1, 256, c.workers); },
   [](const Config& c) { return std::to_string(c.workers); }},
  {"CHATD_WORKER_QUEUE", Secrecy::none, [](Field& f, Config& c) { parse_int(f, 1, 1000000, c.worker_queue); },
   [](const Config& c) { return std::to_string(c.worker_queue); }},
  {"CHATD_DB_POOL_SIZE", Secrecy::none, [](Field& f, Config& c) { parse_int(f, 1, 256, c.db_pool_size); },
   [](const Config& c) { return std::to_string(c.db_pool_size); }},
  {"CHATD_MASTER_KEY", Secrecy::secret,
   [](Field& f, Config& c) {
     if (!decode_master_key(f.value)) return f.fail("must be 64 hex digits or the base64 of 32 bytes");
     c.master_key.emplace(f.value);
   },
   [](const Config& c) { return secret_render(c.master_key); }},
  {"CHATD_ADMIN_PASSWORD", Secrecy::secret, [](Field& f, Config& c) { c.admin_password.emplace(f.value); },
   [](const Config& c) { return secret_render(c.admin_password); }},
  {"CHATD_METRICS_TOKEN", Secrecy::secret,
   [](Field& f, Config& c) {
     // Sent as a bearer token: printable ASCII without spaces, long enough not to be guessed.
     bool printable = std::all_of(f.value.begin(), f.value.end(), [](char ch) { return ch > ' ' && ch < 127; });
     if (!printable) return f.fail("must be printable ASCII without spaces");
     if (f.value.size() < 16) return f.fail("must be at least 16 characters");
     c.metrics_token.emplace(f.value);
   },
   [](const Config& c) { return secret_render(c.metrics_token); }},
};
// clang-format on

}  // namespace

std::span<const Setting> all_settings() { return kSettings; }

const Setting* find_setting(std::string_view name) {
  for (const auto& s : kSettings) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

}  // namespace chatd::config::detail

namespace chatd::config {

const std::vector<std::string_view>& known_settings() {
  static const std::vector<std::string_view> names = [] {
    std::vector<std::string_view> v;
    for (const auto& s : detail::all_settings()) v.push_back(s.name);
    return v;
  }();
  return names;
}

}  // namespace chatd::config
