// How each kind of value is parsed: integers in a range, booleans, comma lists, model lists,
// URLs (base URLs, database, Redis, SMTP, public), the listen address, the sender address,
// rate limits, CORS origins, trusted proxies and the master key. A parser gets a Field
// (detail.hpp) and either stores what it read into the Config or calls Field::fail and leaves
// the Config as it was.

#include "config/detail.hpp"
#include "config/url.hpp"
#include "core/ascii.hpp"

#include <climits>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <limits>
#include <set>

namespace chatd::config::detail {

namespace {

bool has_space_or_control(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f; });
}

std::string range_text(std::int64_t lo, std::int64_t hi) {
  if (hi == std::numeric_limits<std::int64_t>::max()) return "an integer of at least " + std::to_string(lo);
  return "an integer from " + std::to_string(lo) + " to " + std::to_string(hi);
}

// Strict: an optional '-' and decimal digits, nothing else (no spaces, '+', hex or exponent).
std::optional<std::int64_t> to_int(std::string_view s) {
  if (s.empty() || s == "-") return std::nullopt;
  std::int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// A comma list; items are trimmed and must not be empty.
bool parse_list(Field& f, std::vector<std::string>& out) {
  out.clear();
  std::string_view rest = f.value;
  while (true) {
    auto comma = rest.find(',');
    std::string_view item = trim_blanks(rest.substr(0, comma));
    if (item.empty()) {
      f.fail("has an empty item in its comma list");
      return false;
    }
    out.emplace_back(item);
    if (comma == std::string_view::npos) return true;
    rest.remove_prefix(comma + 1);
  }
}

// `text` (parsed as `url`, without userinfo, query or fragment) minus the slashes that end its path.
std::string without_trailing_slashes(std::string_view text, const Url& url) {
  std::size_t keep = url.scheme.size() + 3 + url.authority.size();
  while (text.size() > keep && text.back() == '/') text.remove_suffix(1);
  return std::string(text);
}

}  // namespace

bool parse_int(Field& f, std::int64_t lo, std::int64_t hi, std::int64_t& out) {
  auto v = to_int(f.value);
  if (!v || *v < lo || *v > hi) {
    f.fail("must be " + range_text(lo, hi));
    return false;
  }
  out = *v;
  return true;
}

bool parse_int(Field& f, int lo, int hi, int& out) {
  std::int64_t v = 0;
  if (!parse_int(f, std::int64_t{lo}, std::int64_t{hi}, v)) return false;
  out = static_cast<int>(v);
  return true;
}

bool parse_bool(Field& f, bool& out) {
  std::string v = ascii_lower(f.value);
  if (v == "true" || v == "1" || v == "yes") {
    out = true;
  } else if (v == "false" || v == "0" || v == "no") {
    out = false;
  } else {
    f.fail("must be true or false (also accepted: 1/0, yes/no)");
    return false;
  }
  return true;
}

// A list of model ids: no spaces inside an id, no id twice.
void parse_models(Field& f, std::vector<std::string>& out) {
  std::vector<std::string> items;
  if (!parse_list(f, items)) return;
  std::set<std::string> seen;
  for (const auto& item : items) {
    if (has_space_or_control(item)) {
      f.fail("model " + item_quoted(item) + " contains a space");
      return;
    }
    if (!seen.insert(item).second) {
      f.fail("lists model " + item_quoted(item) + " twice");
      return;
    }
  }
  out = std::move(items);
}

// An http(s) base URL for an upstream API; trailing slashes are dropped so that paths can be
// appended ("{base}/models").
void parse_base_url(Field& f, std::string& out) {
  std::string error;
  auto url = parse_url(f.value, error);
  if (!url) return f.fail(error);
  if (url->scheme != "http" && url->scheme != "https") return f.fail("must be an http:// or https:// URL");
  if (url->host.host.empty()) return f.fail("must name a host");
  if (url->has_userinfo) return f.fail("must not contain credentials (the API key has its own setting)");
  if (url->query || url->fragment) return f.fail("must not have a query or fragment");
  out = without_trailing_slashes(f.value, *url);
}

void parse_api_key(Field& f, std::optional<std::string>& out) {
  if (has_space_or_control(f.value)) return f.fail("must not contain spaces or control characters");
  out.emplace(f.value);
}

void parse_addr(Field& f, Config& c) {
  std::string error;
  auto hp = parse_host_port(f.value, /*allow_empty_host=*/false, error);
  if (!hp) return f.fail("must be host:port (" + error + ")");
  if (!hp->port) return f.fail("must be host:port, the port is missing");
  if (*hp->port > 65535) return f.fail("the port must be from 0 to 65535");
  std::string host = hp->host;
  if (!hp->ipv6) {
    if (ascii_lower(host) == "localhost") {
      host = "127.0.0.1";
    } else if (!parse_ip(host)) {
      return f.fail("the host must be an IP address or localhost (e.g. 0.0.0.0:8080 or [::]:8080)");
    }
  }
  c.host = host;
  c.port = static_cast<std::uint16_t>(*hp->port);
}

std::string addr_text(const Config& c) {
  std::string host = c.host.find(':') != std::string::npos ? "[" + c.host + "]" : c.host;
  return host + ":" + std::to_string(c.port);
}

void parse_database_url(Field& f, Config& c) {
  std::string_view v = f.value;
  if (v.starts_with("sqlite:")) {
    if (v.size() == 7) return f.fail("sqlite: needs a file path, e.g. sqlite:./data/chatd.db");
    c.database_url.assign(v);
    return;
  }
  std::string error;
  auto url = parse_url(v, error, /*allow_host_list=*/true);
  if (!url) {
    if (v.find("://") == std::string_view::npos) {
      return f.fail("must be sqlite:PATH or postgresql://user:pass@host:port/db");
    }
    return f.fail(error);
  }
  if (url->scheme != "postgresql" && url->scheme != "postgres") {
    return f.fail("must be sqlite:PATH or postgresql://user:pass@host:port/db");
  }
  bool host_param = url->query && (url->query->starts_with("host=") || url->query->find("&host=") != std::string::npos);
  if (url->authority.empty() && !host_param) return f.fail("must name a host (postgresql://user:pass@host:port/db)");
  c.database_url.assign(v);
}

void parse_redis_url(Field& f, Config& c) {
  if (f.value.starts_with("rediss://"))
    return f.fail(
        "uses rediss:// (TLS), which chatd's Redis client (hiredis 0.14) cannot speak: use redis:// on a trusted "
        "network, or a TLS tunnel to Redis");
  std::string error;
  auto url = parse_url(f.value, error);
  if (!url) return f.fail(error);
  if (url->scheme != "redis") return f.fail("must be redis://host:port[/db]");
  if (url->host.host.empty()) return f.fail("must name a host (redis://host:port[/db])");
  if (!url->host.port) return f.fail("must name a port (redis://host:port[/db])");
  if (url->query || url->fragment) return f.fail("must not have a query or fragment (redis://host:port[/db])");
  if (!url->path.empty() && url->path != "/") {
    auto db = to_int(std::string_view(url->path).substr(1));
    if (!db || *db < 0 || *db > INT_MAX || url->path[1] == '-') {
      return f.fail("the database after '/' must be a non-negative integer (redis://host:port[/db])");
    }
  }
  c.redis_url.emplace(f.value);
}

void parse_smtp_url(Field& f, Config& c) {
  std::string error;
  auto url = parse_url(f.value, error);
  if (!url) return f.fail(error);
  if (url->scheme != "smtp" && url->scheme != "smtps")
    return f.fail("must be smtp://[user:pass@]host:port or smtps://...");
  if (url->host.host.empty()) return f.fail("must name a host (smtp://[user:pass@]host:port)");
  if (!url->host.port) return f.fail("must name a port (smtp://[user:pass@]host:port, usually 587; smtps:// 465)");
  if ((!url->path.empty() && url->path != "/") || url->query || url->fragment) {
    return f.fail("must not have a path, query or fragment");
  }
  if (url->has_userinfo && url->user.empty()) return f.fail("has a password but no user name");
  c.smtp_url.emplace(f.value);
}

void parse_public_url(Field& f, Config& c) {
  std::string error;
  auto url = parse_url(f.value, error);
  if (!url) return f.fail(error);
  if (url->scheme != "http" && url->scheme != "https") return f.fail("must be an http:// or https:// URL");
  if (url->host.host.empty()) return f.fail("must name a host");
  if (url->has_userinfo) return f.fail("must not contain credentials");
  if (url->query || url->fragment) return f.fail("must not have a query or fragment");
  c.public_url = without_trailing_slashes(f.value, *url);
}

// "Name <local@domain>" or "local@domain"; no control characters (they would let a value
// inject mail headers).
void parse_mail_from(Field& f, Config& c) {
  std::string_view v = f.value;
  std::string_view address = v;
  if (auto lt = v.find('<'); lt != std::string_view::npos) {
    if (v.back() != '>' || v.find('>') != v.size() - 1) return f.fail("must be local@domain or Name <local@domain>");
    address = v.substr(lt + 1, v.size() - lt - 2);
    if (v.substr(0, lt).find('@') != std::string_view::npos &&
        (v.front() != '"' || v.substr(0, lt).find('"', 1) == std::string_view::npos)) {
      return f.fail("a display name with '@' must be in double quotes");
    }
  }
  auto at = address.rfind('@');
  if (at == std::string_view::npos || at == 0 || has_space_or_control(address) ||
      address.find_first_of("<>,;") != std::string_view::npos || !is_hostname(address.substr(at + 1))) {
    return f.fail("must be local@domain or Name <local@domain>");
  }
  c.mail_from.assign(v);
}

namespace {

const std::vector<std::string_view>& bucket_names() {
  static const std::vector<std::string_view> names = {"login",   "register", "verify", "otp",
                                                      "refresh", "message",  "global"};
  return names;
}

// "N/W<unit>" with unit s, m or h: N requests per W units.
std::optional<RateLimit> parse_rate(std::string_view spec) {
  auto slash = spec.find('/');
  if (slash == std::string_view::npos || spec.size() < slash + 3) return std::nullopt;
  auto n = to_int(spec.substr(0, slash));
  std::string_view window = spec.substr(slash + 1);
  char unit = window.back();
  std::int64_t scale = unit == 's' ? 1 : unit == 'm' ? 60 : unit == 'h' ? 3600 : 0;
  auto w = to_int(window.substr(0, window.size() - 1));
  if (!n || !w || scale == 0 || spec.front() == '-' || window.front() == '-') return std::nullopt;
  if (*n < 1 || *n > 1000000000 || *w < 1 || *w > 86400) return std::nullopt;
  RateLimit r;
  r.requests = *n;
  r.window_seconds = *w * scale;
  if (r.window_seconds > 86400) return std::nullopt;
  return r;
}

}  // namespace

std::map<std::string, RateLimit> default_rate_limits() {
  return {
      {"login", {10, 60}},   {"register", {5, 3600}}, {"verify", {5, 3600}}, {"otp", {10, 60}},
      {"refresh", {60, 60}}, {"message", {60, 60}},   {"global", {600, 60}},
  };
}

void parse_rate_limits(Field& f, Config& c) {
  std::vector<std::string> items;
  if (!parse_list(f, items)) return;
  auto limits = default_rate_limits();
  std::set<std::string> named;
  std::string known;
  for (auto b : bucket_names()) known += (known.empty() ? "" : ", ") + std::string(b);
  for (const auto& item : items) {
    auto eq = item.find('=');
    if (eq == std::string::npos) return f.fail("item " + item_quoted(item) + " must be bucket=N/W, e.g. login=10/60s");
    std::string bucket(trim_blanks(std::string_view(item).substr(0, eq)));
    if (std::find(bucket_names().begin(), bucket_names().end(), bucket) == bucket_names().end()) {
      return f.fail("unknown bucket " + item_quoted(bucket) + " (buckets: " + known + ")");
    }
    if (!named.insert(bucket).second) return f.fail("names bucket " + item_quoted(bucket) + " twice");
    auto rate = parse_rate(trim_blanks(std::string_view(item).substr(eq + 1)));
    if (!rate) {
      return f.fail("bucket " + item_quoted(bucket) +
                    " must be N/W with N from 1 to 1000000000 and a window W of 1s to 24h in s, m or h (e.g. "
                    "10/60s, 5/1h)");
    }
    limits[bucket] = *rate;
  }
  c.rate_limits = std::move(limits);
}

std::string render_rate_limits(const Config& c) {
  std::string out;
  for (auto bucket : bucket_names()) {
    auto it = c.rate_limits.find(std::string(bucket));
    if (it == c.rate_limits.end()) continue;
    if (!out.empty()) out += ',';
    out += std::string(bucket) + "=" + std::to_string(it->second.requests) + "/" +
           std::to_string(it->second.window_seconds) + "s";
  }
  return out;
}

// Origins as browsers send them: scheme://host[:port], lowercased, default ports dropped.
void parse_cors_origins(Field& f, Config& c) {
  std::vector<std::string> items;
  if (!parse_list(f, items)) return;
  std::vector<std::string> origins;
  for (const auto& item : items) {
    if (item == "*") {
      return f.fail("\"*\" is not accepted; list each allowed origin, e.g. https://app.example.com");
    }
    std::string error;
    auto url = parse_url(item, error);
    std::string bad = "origin " + item_quoted(item) + " ";
    if (!url) return f.fail(bad.append("must be scheme://host[:port] (").append(error).append(")"));
    if (url->scheme != "http" && url->scheme != "https") return f.fail(bad + "must be http:// or https://");
    if (url->host.host.empty()) return f.fail(bad + "must name a host");
    if (url->has_userinfo) return f.fail(bad + "must not contain credentials");
    if (!url->path.empty() || url->query || url->fragment) {
      return f.fail(bad + "must be scheme://host[:port] without a path, not even a trailing '/'");
    }
    std::string origin =
        url->scheme + "://" + ascii_lower(url->host.ipv6 ? "[" + url->host.host + "]" : url->host.host);
    bool default_port = url->host.port && ((url->scheme == "http" && *url->host.port == 80) ||
                                           (url->scheme == "https" && *url->host.port == 443));
    if (url->host.port && !default_port) origin += ":" + std::to_string(*url->host.port);
    if (std::find(origins.begin(), origins.end(), origin) == origins.end()) origins.push_back(origin);
  }
  c.cors_origins = std::move(origins);
}

void parse_trusted_proxies(Field& f, Config& c) {
  std::vector<std::string> items;
  if (!parse_list(f, items)) return;
  std::vector<Network> networks;
  for (const auto& item : items) {
    auto net = parse_network(item);
    if (!net)
      return f.fail("item " + item_quoted(item) + " is not an IPv4/IPv6 address or CIDR network (e.g. 10.0.0.0/8)");
    networks.push_back(std::move(*net));
  }
  c.trusted_proxies = std::move(networks);
}

std::string render_networks(const Config& c) {
  std::string out;
  for (const auto& n : c.trusted_proxies) out += (out.empty() ? "" : ",") + n.text;
  return out;
}

}  // namespace chatd::config::detail

namespace chatd::config {

namespace {

// The 32 bytes that `text` is the base64 of (standard or URL-safe alphabet, one '=' of padding
// or none), or nullopt.
std::optional<std::array<std::uint8_t, 32>> decode_base64_32(std::string_view text) {
  if (text.size() == 44 && text.back() == '=') text.remove_suffix(1);
  if (text.size() != 43) return std::nullopt;  // 32 bytes = 42 2/3 sextets
  std::array<std::uint8_t, 32> out{};
  std::uint32_t acc = 0;
  int bits = 0;
  std::size_t n = 0;
  for (char ch : text) {
    int v = -1;
    if (ch >= 'A' && ch <= 'Z')
      v = ch - 'A';
    else if (ch >= 'a' && ch <= 'z')
      v = ch - 'a' + 26;
    else if (ch >= '0' && ch <= '9')
      v = ch - '0' + 52;
    else if (ch == '+' || ch == '-')
      v = 62;
    else if (ch == '/' || ch == '_')
      v = 63;
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[n++] = static_cast<std::uint8_t>(acc >> bits);  // 43 sextets make exactly 32 bytes
      acc &= (1u << bits) - 1;
    }
  }
  if (acc != 0) return std::nullopt;  // the 2 leftover bits must be zero (canonical form)
  return out;
}

}  // namespace

std::optional<std::array<std::uint8_t, 32>> decode_master_key(std::string_view text) {
  if (text.size() == 64 && std::all_of(text.begin(), text.end(),
                                       [](char ch) { return std::isxdigit(static_cast<unsigned char>(ch)) != 0; })) {
    std::array<std::uint8_t, 32> out{};
    auto nibble = [](char ch) {
      return ch <= '9' ? ch - '0' : (std::tolower(static_cast<unsigned char>(ch)) - 'a' + 10);
    };
    for (std::size_t i = 0; i < 32; ++i) {
      out[i] = static_cast<std::uint8_t>(nibble(text[2 * i]) * 16 + nibble(text[2 * i + 1]));
    }
    return out;
  }
  return decode_base64_32(text);
}

}  // namespace chatd::config
