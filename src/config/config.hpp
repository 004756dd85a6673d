#pragma once
// The one Config struct: loaded once at startup from the environment, then a `.env`
// file in the working directory, then defaults; validated as a whole so that every
// problem is reported (one line each) before chatd refuses to start.

#include "core/log.hpp"

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chatd::config {

struct RateLimit {
  std::int64_t requests = 0;  // allowed per window
  std::int64_t window_seconds = 0;
};

// One entry of CHATD_TRUSTED_PROXIES: an IPv4/IPv6 network (a plain address is a /32 or /128).
struct Network {
  std::array<std::uint8_t, 16> address{};  // IPv4 stored as IPv4-mapped IPv6
  int prefix = 128;                        // in IPv6 terms (IPv4 /24 -> 120)
  std::string text;                        // as written
};

struct Config {
  bool production = false;         // CHATD_ENV
  std::string host = "127.0.0.1";  // CHATD_ADDR, split
  std::uint16_t port = 8080;       // 0 = any free port (the chosen one is logged)
  int threads = 1;                 // CHATD_THREADS, default: hardware concurrency
  std::string data_dir = "./data";
  std::string database_url = "sqlite:./data/chatd.db";
  std::optional<std::string> redis_url;
  std::string public_url;  // default http://CHATD_ADDR
  std::optional<std::string> smtp_url;
  std::string mail_from = "chatd@localhost";
  bool require_email_verification = true;
  std::string registration = "open";  // open | invite_only | closed
  int password_min_length = 12;
  std::int64_t access_token_ttl = 900;
  std::int64_t refresh_token_ttl = 2592000;
  int lockout_threshold = 5;
  std::int64_t lockout_seconds = 900;
  std::map<std::string, RateLimit> rate_limits;  // every bucket present (defaults filled in)
  bool user_invites = true;
  std::int64_t max_body_bytes = 1048576;
  std::int64_t max_v1_body_bytes = 33554432;  // /v1 bodies, which may carry images
  std::int64_t max_image_bytes = 5242880;     // one image on /v1, decoded
  bool image_fetch_allow_private = false;     // fetch images from non-public addresses too
  std::int64_t max_message_chars = 32000;
  std::int64_t user_token_quota = 0;
  std::vector<std::string> cors_origins;
  std::vector<Network> trusted_proxies;
  LogLevel log_level = LogLevel::info;
  LogFormat log_format = LogFormat::json;

  std::string openai_base_url = "https://api.openai.com/v1";
  std::optional<std::string> openai_api_key;
  std::vector<std::string> openai_models;
  std::string anthropic_base_url = "https://api.anthropic.com";
  std::optional<std::string> anthropic_api_key;
  std::vector<std::string> anthropic_models;
  std::optional<std::string> aws_region;
  std::optional<std::string> aws_access_key_id;
  std::optional<std::string> aws_secret_access_key;
  std::optional<std::string> aws_session_token;
  std::optional<std::string> bedrock_endpoint;
  std::vector<std::string> bedrock_models;
  std::optional<std::string> providers_file;
  std::optional<std::string> default_model;
  std::int64_t llm_timeout_ms = 120000;

  // Settings of our own beyond the contract's table (documented in docs/configuration.md).
  std::int64_t http_header_timeout_ms = 10000;  // CHATD_HTTP_HEADER_TIMEOUT_MS: whole request head
  std::int64_t http_body_timeout_ms = 30000;    // CHATD_HTTP_BODY_TIMEOUT_MS: whole request body
  std::int64_t http_idle_timeout_ms = 60000;    // CHATD_HTTP_IDLE_TIMEOUT_MS: keep-alive idle
  std::int64_t max_header_bytes = 16384;        // CHATD_MAX_HEADER_BYTES
  std::int64_t max_connections = 10000;         // CHATD_MAX_CONNECTIONS
  std::int64_t shutdown_grace_ms = 10000;       // CHATD_SHUTDOWN_GRACE_MS
  std::int64_t sse_heartbeat_ms = 15000;        // CHATD_SSE_HEARTBEAT_MS: comment on idle SSE streams
  int workers = 8;                              // CHATD_WORKERS: blocking-work threads
  int worker_queue = 1024;                      // CHATD_WORKER_QUEUE: bounded queue length
  int db_pool_size = 8;                         // CHATD_DB_POOL_SIZE (PostgreSQL connections, SQLite readers)
  std::optional<std::string> master_key;        // CHATD_MASTER_KEY (secret)
  std::optional<std::string> admin_password;    // CHATD_ADMIN_PASSWORD (secret, create-admin only)
  std::optional<std::string> metrics_token;     // CHATD_METRICS_TOKEN (secret): /metrics needs it

  bool is_sqlite() const { return database_url.rfind("sqlite:", 0) == 0; }
  // Path part of a sqlite: URL.
  std::string sqlite_path() const { return is_sqlite() ? database_url.substr(7) : std::string(); }
};

// Where settings come from. `env` is the process environment (name -> value);
// `dotenv` is the text of the `.env` file, if any.
struct Sources {
  std::map<std::string, std::string> env;
  std::optional<std::string> dotenv;
  std::string dotenv_name = ".env";  // for messages
  unsigned hardware_threads = 1;
  // Set when the .env file exists but could not be read (e.g. "Permission denied");
  // load() reports it as a problem, so an unreadable .env never passes silently.
  std::optional<std::string> dotenv_error;
  // Text of /proc/mounts, used in production to refuse SQLite on a network filesystem.
  // Empty means unknown (only the `//` and `\\` path forms are then recognised).
  std::string proc_mounts;
};

struct LoadResult {
  Config config;
  std::vector<std::string> problems;  // one clear line each; empty means valid
  // Effective settings for `chatd config check`: name -> value, secrets masked, with origin.
  struct Setting {
    std::string name;
    std::string value;   // masked when secret
    std::string origin;  // "env", ".env" or "default"
  };
  std::vector<Setting> effective;
};

// Never throws; every malformed, contradictory, unknown (CHATD_* not in the table) or, in
// production, insecure setting adds one line to `problems`.
LoadResult load(const Sources& sources);

// Reads the real process environment (`environ`), ./.env when it exists (a read error goes
// to Sources::dotenv_error), /proc/mounts (best effort) and the hardware concurrency.
Sources system_sources();

// Every setting name load() knows, in documentation order (CHATD_* and the AWS_* ones).
const std::vector<std::string_view>& known_settings();

// An IP address as 16 bytes: IPv6 as is, IPv4 as IPv4-mapped IPv6 (::ffff:a.b.c.d), so that
// "1.2.3.4" and "::ffff:1.2.3.4" are the same address. Returns nullopt unless `text` is exactly
// one address (no brackets, port, zone or surrounding spaces).
std::optional<std::array<std::uint8_t, 16>> parse_ip(std::string_view text);

// "ADDR" or "ADDR/PREFIX" (IPv4 prefix 0-32, stored +96; IPv6 prefix 0-128); host bits are
// cleared in `address`. Returns nullopt when the address or the prefix is malformed.
std::optional<Network> parse_network(std::string_view text);

// Whether `address` (as returned by parse_ip) lies inside `network`.
bool contains(const Network& network, const std::array<std::uint8_t, 16>& address);

// CHATD_MASTER_KEY as 32 bytes: 64 hex digits, or base64 (standard or URL-safe alphabet,
// padding optional) of exactly 32 bytes. Returns nullopt for anything else.
std::optional<std::array<std::uint8_t, 32>> decode_master_key(std::string_view text);

}  // namespace chatd::config
