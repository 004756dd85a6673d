// The checks that look at several settings at once, after each has been parsed: settings that
// contradict each other (a refresh token that lives no longer than the access token, half an
// AWS key pair, a model listed by two providers, ...) and, with CHATD_ENV=production, the
// refusals of insecure defaults (no SMTP, a plain-http public URL, SQLite on a network file
// system, ...). Each finding is one problem line, in the order of the checks below.

#include "config/detail.hpp"
#include "config/url.hpp"
#include "core/ascii.hpp"

#include <algorithm>
#include <iterator>

namespace chatd::config::detail {

namespace {

// localhost, a name under .localhost or a loopback address: traffic that stays on this machine.
bool is_local_host(std::string_view host) {
  std::string h = ascii_lower(host);
  if (h == "localhost" || h == "::1" || (h.size() > 10 && h.ends_with(".localhost"))) return true;
  auto ip = parse_ip(h);
  // 127.0.0.0/8, stored IPv4-mapped.
  static const Network loopback4 = *parse_network("127.0.0.0/8");
  return ip && contains(loopback4, *ip);
}

}  // namespace

void check_contradictions(const Config& c, Checker& k) {
  if (k.ok("CHATD_ACCESS_TOKEN_TTL") && k.ok("CHATD_REFRESH_TOKEN_TTL") && c.refresh_token_ttl <= c.access_token_ttl) {
    k.problem("CHATD_REFRESH_TOKEN_TTL",
              "must be longer than CHATD_ACCESS_TOKEN_TTL (" + std::to_string(c.access_token_ttl) + " seconds)",
              std::to_string(c.refresh_token_ttl));
  }
  if (k.ok("CHATD_MAX_BODY_BYTES") && k.ok("CHATD_MAX_MESSAGE_CHARS") && c.max_message_chars >= c.max_body_bytes) {
    k.problem("CHATD_MAX_MESSAGE_CHARS",
              "a message this long can never fit in a request body of CHATD_MAX_BODY_BYTES (" +
                  std::to_string(c.max_body_bytes) + " bytes)",
              std::to_string(c.max_message_chars));
  }
  // An image travels base64-encoded (4 bytes for every 3) in a /v1 body.
  // An image travels base64-encoded (4 bytes for every 3) in a /v1 body, whose limit is the
  // larger of the two body limits.
  const std::int64_t v1_body = std::max(c.max_v1_body_bytes, c.max_body_bytes);
  if (k.ok("CHATD_MAX_IMAGE_BYTES") && k.ok("CHATD_MAX_V1_BODY_BYTES") && k.ok("CHATD_MAX_BODY_BYTES") &&
      c.max_image_bytes / 3 * 4 >= v1_body) {
    k.problem("CHATD_MAX_IMAGE_BYTES",
              "an image this large can never fit base64-encoded in a /v1 body of CHATD_MAX_V1_BODY_BYTES (" +
                  std::to_string(v1_body) + " bytes)",
              std::to_string(c.max_image_bytes));
  }
  if (c.aws_access_key_id && !c.aws_secret_access_key && k.ok("AWS_SECRET_ACCESS_KEY")) {
    k.problem("AWS_ACCESS_KEY_ID", "is set but AWS_SECRET_ACCESS_KEY is not; set both or neither");
  }
  if (c.aws_secret_access_key && !c.aws_access_key_id && k.ok("AWS_ACCESS_KEY_ID")) {
    k.problem("AWS_SECRET_ACCESS_KEY", "is set but AWS_ACCESS_KEY_ID is not; set both or neither");
  }
  if (c.aws_session_token && !c.aws_access_key_id && !c.aws_secret_access_key && k.ok("AWS_ACCESS_KEY_ID") &&
      k.ok("AWS_SECRET_ACCESS_KEY")) {
    k.problem("AWS_SESSION_TOKEN", "is set without AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY");
  }

  // The provider variables are ignored when a providers file is given, so only then are they
  // free to disagree with each other.
  if (c.providers_file || !k.ok("CHATD_PROVIDERS_FILE")) return;
  if (!c.bedrock_models.empty()) {
    if (!c.aws_region && !c.bedrock_endpoint && k.ok("AWS_REGION") && k.ok("CHATD_BEDROCK_ENDPOINT")) {
      k.problem("CHATD_BEDROCK_MODELS", "needs AWS_REGION (or CHATD_BEDROCK_ENDPOINT) to know where Bedrock is");
    }
    if (!c.aws_access_key_id && !c.aws_secret_access_key && k.ok("AWS_ACCESS_KEY_ID") &&
        k.ok("AWS_SECRET_ACCESS_KEY")) {
      k.problem("CHATD_BEDROCK_MODELS",
                "is set but AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not, so Bedrock would stay off");
    }
  }
  if (!c.openai_models.empty() && !c.openai_api_key && k.ok("CHATD_OPENAI_API_KEY")) {
    k.problem("CHATD_OPENAI_MODELS",
              "is set but CHATD_OPENAI_API_KEY is not, so the provider would stay off (servers that need no key "
              "accept any value)");
  }
  if (!c.anthropic_models.empty() && !c.anthropic_api_key && k.ok("CHATD_ANTHROPIC_API_KEY")) {
    k.problem("CHATD_ANTHROPIC_MODELS", "is set but CHATD_ANTHROPIC_API_KEY is not, so the provider would stay off");
  }
  // A model id is the public name in /models; two providers cannot both own it.
  struct Listed {
    std::string_view setting;
    const std::vector<std::string>* models;
  };
  const Listed lists[] = {{"CHATD_OPENAI_MODELS", &c.openai_models},
                          {"CHATD_ANTHROPIC_MODELS", &c.anthropic_models},
                          {"CHATD_BEDROCK_MODELS", &c.bedrock_models}};
  for (std::size_t i = 0; i < std::size(lists); ++i) {
    for (std::size_t j = i + 1; j < std::size(lists); ++j) {
      for (const auto& m : *lists[j].models) {
        if (std::find(lists[i].models->begin(), lists[i].models->end(), m) != lists[i].models->end()) {
          k.problem(lists[j].setting, "model " + item_quoted(m) + " is also listed in " +
                                          std::string(lists[i].setting) + "; a model id must belong to one provider");
        }
      }
    }
  }
}

void check_production(const Config& c, const Sources& sources, Checker& k) {
  if (!c.smtp_url && k.ok("CHATD_SMTP_URL")) {
    k.problem("CHATD_SMTP_URL", "must be set in production (without it e-mails are only written to the log)");
  }
  if (c.smtp_url) {
    std::string error;
    auto url = parse_url(*c.smtp_url, error);
    if (url && url->scheme == "smtp" && url->has_password && !is_local_host(url->host.host)) {
      k.problem("CHATD_SMTP_URL",
                "sends a password over smtp://, where STARTTLS is used only when offered; use smtps:// in production",
                mask_url_password(*c.smtp_url));
    }
  }
  if (k.ok("CHATD_PUBLIC_URL") && !ascii_lower(c.public_url).starts_with("https://")) {
    k.problem("CHATD_PUBLIC_URL", "must be an https:// URL in production (links in e-mails carry tokens)",
              c.public_url);
  }
  check_sqlite_location(c, sources, k);
  for (const auto& origin : c.cors_origins) {
    if (!origin.starts_with("http://")) continue;
    std::string error;
    auto url = parse_url(origin, error);
    if (url && !is_local_host(url->host.host)) {
      k.problem("CHATD_CORS_ORIGINS",
                "http:// origin " + item_quoted(origin) + " is not allowed in production; use https://",
                join(c.cors_origins));
    }
  }
  if (!c.require_email_verification) {
    k.problem("CHATD_REQUIRE_EMAIL_VERIFICATION", "must not be false in production", "false");
  }
  if (k.ok("CHATD_PASSWORD_MIN_LENGTH") && c.password_min_length < 12) {
    k.problem("CHATD_PASSWORD_MIN_LENGTH", "must be at least 12 in production", std::to_string(c.password_min_length));
  }
  for (const auto& net : c.trusted_proxies) {
    static const Network all_ipv4 = *parse_network("0.0.0.0/0");
    if (net.prefix == 0 || (net.prefix == 96 && net.address == all_ipv4.address)) {
      k.problem("CHATD_TRUSTED_PROXIES",
                "network " + item_quoted(net.text) + " trusts every address, so any client could choose its own IP",
                render_networks(c));
    }
  }
  if (k.ok("CHATD_MAIL_FROM")) {
    auto at = c.mail_from.rfind('@');
    std::string domain = ascii_lower(c.mail_from.substr(at + 1));
    if (!domain.empty() && domain.back() == '>') domain.pop_back();
    if (is_local_host(domain)) {
      k.problem("CHATD_MAIL_FROM", "must be a deliverable sender address in production", c.mail_from);
    }
  }
}

}  // namespace chatd::config::detail
