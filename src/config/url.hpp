#pragma once
// The small URL grammar the settings need: scheme://[user[:password]@]host[:port][/path][?query]
// [#fragment]. Not a general URI parser: percent-encoding is left alone (the client that uses
// the URL decodes it) and hosts are DNS names, IPv4 literals or bracketed IPv6 literals.

#include <optional>
#include <string>
#include <string_view>

namespace chatd::config {

struct HostPort {
  std::string host;  // without brackets
  bool ipv6 = false;
  std::optional<long> port;  // digits as written (0-99999); callers check the range
};

// "host", "host:port", "[v6]" or "[v6]:port". The host may be empty when `allow_empty_host`.
// Returns nullopt with `error` set ("IPv6 addresses must be in brackets", ...).
std::optional<HostPort> parse_host_port(std::string_view text, bool allow_empty_host, std::string& error);

// A DNS name (labels of letters, digits, '-' and '_') or an IPv4 literal.
bool is_hostname(std::string_view host);

struct Url {
  std::string scheme;  // lowercased
  bool has_userinfo = false;
  bool has_password = false;
  std::string user;
  std::string authority;  // as written, userinfo removed (a list "h1:1,h2:2" when allowed)
  HostPort host;          // the only host (the first when a list is allowed)
  std::string path;       // from the first '/' (may be empty)
  std::optional<std::string> query;
  std::optional<std::string> fragment;
};

// Parses `text`; with `allow_host_list` the authority may be a comma list of host[:port]
// (libpq's multi-host form). The host may be empty (callers decide). Ports must be 1-65535.
// Returns nullopt with `error` set to what is wrong.
std::optional<Url> parse_url(std::string_view text, std::string& error, bool allow_host_list = false);

// `text` safe to show: the password of a userinfo replaced by "***" (everything up to the last
// '@' counts as userinfo, so a password holding '/' or '@' is still hidden; a userinfo without
// ':' is hidden whole, as Redis reads it as a password) and `password=` query values masked.
std::string mask_url_password(std::string_view text);

}  // namespace chatd::config
