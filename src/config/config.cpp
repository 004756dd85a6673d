// Loading and validating the Config. One table row per setting (name, whether it is secret,
// how to parse it, how to show its effective value); cross-setting contradictions and the
// production refusals follow the table. Every problem is one line "NAME: what (got "value")",
// and a secret's value is never part of a problem or of the effective listing.

#include "config/config.hpp"

#include "config/dotenv.hpp"
#include "config/url.hpp"
#include "core/ascii.hpp"
#include "core/utf8.hpp"

#include <climits>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <limits>
#include <set>
#include <sys/stat.h>
#include <system_error>

namespace chatd::config {

namespace {

// strerror is not thread-safe; this is.
std::string errno_text(int err) { return std::error_code(err, std::generic_category()).message(); }

constexpr std::int64_t kTenYears = 315360000;  // bound on durations, keeps time arithmetic far from overflow
constexpr std::string_view kRedacted = "***";

enum class Secrecy {
  none,    // shown as is
  secret,  // never shown; "***" in the effective listing
  url,     // shown with the password of its userinfo masked
};

// ---------------------------------------------------------------------------------------------
// Small text helpers

std::string uppercase(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](char c) { return static_cast<char>(std::toupper(static_cast<unsigned char>(c))); });
  return out;
}

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

bool has_control(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

bool has_space_or_control(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f; });
}

// A value inside a problem line: quoted, escaped so the line stays one line, and cut when long.
std::string quoted(std::string_view value, std::size_t max = 200) {
  bool cut = value.size() > max;
  value = utf8::prefix_bytes(value, max);
  static constexpr char hex[] = "0123456789abcdef";
  std::string out = "\"";
  for (char c : value) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u == 0x7f) {
      out += "\\x";
      out += hex[u >> 4];
      out += hex[u & 0xf];
    } else {
      out += c;
    }
  }
  out += cut ? "...\"" : "\"";
  return out;
}

// One item of a list value inside a message.
std::string item_quoted(std::string_view item) { return quoted(item, 80); }

// What may be shown of a value.
std::string shown(std::string_view value, Secrecy secrecy) {
  switch (secrecy) {
    case Secrecy::none: return std::string(value);
    case Secrecy::secret: return std::string(kRedacted);
    case Secrecy::url: return starts_with(value, "sqlite:") ? std::string(value) : mask_url_password(value);
  }
  return std::string(kRedacted);
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += ',';
    out += item;
  }
  return out;
}

std::string or_empty(const std::optional<std::string>& s) { return s ? *s : std::string(); }

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

bool is_local_host(std::string_view host) {
  std::string h = ascii_lower(host);
  if (h == "localhost" || h == "::1" || (h.size() > 10 && h.ends_with(".localhost"))) return true;
  auto ip = parse_ip(h);
  // 127.0.0.0/8, stored IPv4-mapped.
  static const Network loopback4 = *parse_network("127.0.0.0/8");
  return ip && contains(loopback4, *ip);
}

// ---------------------------------------------------------------------------------------------
// Parsing one setting

// The setting being parsed. fail() records one problem line for it.
struct Field {
  std::string_view name;
  std::string_view value;
  Secrecy secrecy = Secrecy::none;
  std::vector<std::string>* problems = nullptr;
  bool failed = false;

  void fail(std::string_view what) {
    failed = true;
    std::string line(name);
    line += ": ";
    line += what;
    if (secrecy == Secrecy::secret) {
      line += " (value not shown)";
    } else {
      line += " (got ";
      line += quoted(shown(value, secrecy));
      line += ')';
    }
    problems->push_back(std::move(line));
  }
};

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

// `text` (parsed as `url`, without userinfo, query or fragment) minus the slashes that end its path.
std::string without_trailing_slashes(std::string_view text, const Url& url) {
  std::size_t keep = url.scheme.size() + 3 + url.authority.size();
  while (text.size() > keep && text.back() == '/') text.remove_suffix(1);
  return std::string(text);
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
  if (starts_with(v, "sqlite:")) {
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
  bool host_param =
      url->query && (starts_with(*url->query, "host=") || url->query->find("&host=") != std::string::npos);
  if (url->authority.empty() && !host_param) return f.fail("must name a host (postgresql://user:pass@host:port/db)");
  c.database_url.assign(v);
}

void parse_redis_url(Field& f, Config& c) {
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

const std::vector<std::string_view>& bucket_names() {
  static const std::vector<std::string_view> names = {"login",   "register", "verify", "otp",
                                                      "refresh", "message",  "global"};
  return names;
}

std::map<std::string, RateLimit> default_rate_limits() {
  return {
      {"login", {10, 60}},   {"register", {5, 3600}}, {"verify", {5, 3600}}, {"otp", {10, 60}},
      {"refresh", {60, 60}}, {"message", {60, 60}},   {"global", {600, 60}},
  };
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

void parse_providers_file(Field& f, Config& c) {
  std::string path(f.value);
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return f.fail("cannot be opened (" + errno_text(errno) + ")");
  if (!S_ISREG(st.st_mode)) return f.fail("is not a regular file");
  if (::access(path.c_str(), R_OK) != 0) return f.fail("cannot be read (" + errno_text(errno) + ")");
  c.providers_file = std::move(path);
}

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

// ---------------------------------------------------------------------------------------------
// The table

using ParseFn = void (*)(Field&, Config&);
using RenderFn = std::string (*)(const Config&);

struct Setting {
  std::string_view name;
  Secrecy secrecy;
  ParseFn parse;    // called only for a non-empty value; an empty value means the default
  RenderFn render;  // the effective value, before masking
};

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

const Setting* find_setting(std::string_view name) {
  for (const auto& s : kSettings) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

// ---------------------------------------------------------------------------------------------
// Network filesystems (SQLite's locking is unreliable on them)

bool is_network_fs(std::string_view type) {
  static constexpr std::string_view kTypes[] = {
      "nfs", "nfs4", "cifs", "smb",       "smb2",           "smb3",   "smbfs", "fuse.sshfs", "sshfs",
      "9p",  "afs",  "ceph", "glusterfs", "fuse.glusterfs", "lustre", "ncpfs", "davfs",      "fuse.rclone"};
  return std::find(std::begin(kTypes), std::end(kTypes), type) != std::end(kTypes);
}

// /proc/mounts escapes ' ', '\t', '\n' and '\\' as octal.
std::string unescape_mount_path(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    auto octal = [&](std::size_t j) { return j < s.size() && s[j] >= '0' && s[j] <= '7'; };
    if (s[i] == '\\' && octal(i + 1) && octal(i + 2) && octal(i + 3)) {
      out += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

// The absolute, symlink-free form of `path` as far as it exists (the file itself may not exist
// yet), with the rest appended unchanged.
std::string absolute_path(const std::string& path) {
  std::string abs = path;
  char buf[PATH_MAX];
  if ((abs.empty() || abs.front() != '/') && ::getcwd(buf, sizeof buf) != nullptr) abs = std::string(buf) + "/" + abs;
  std::string head = abs;
  std::string tail;
  while (true) {
    if (::realpath(head.c_str(), buf) != nullptr) {
      std::string resolved(buf);
      if (!tail.empty()) resolved += (resolved.back() == '/' ? "" : "/") + tail;
      return resolved;
    }
    auto slash = head.rfind('/');
    if (slash == std::string::npos || head == "/") return abs;
    std::string last = head.substr(slash + 1);
    tail = tail.empty() ? last : last.append("/").append(tail);
    head = slash == 0 ? "/" : head.substr(0, slash);
  }
}

// The network filesystem type `path` lives on, if any: the last longest mount point that is a
// prefix of the path decides (later lines of /proc/mounts stack over earlier ones).
std::optional<std::string> network_fs_of(const std::string& path, std::string_view mounts) {
  if (mounts.empty()) return std::nullopt;
  std::string abs = absolute_path(path);
  std::size_t best_len = 0;
  std::string best_type;
  bool found = false;
  while (!mounts.empty()) {
    auto nl = mounts.find('\n');
    std::string_view line = mounts.substr(0, nl);
    mounts.remove_prefix(nl == std::string_view::npos ? mounts.size() : nl + 1);
    auto sp1 = line.find(' ');
    if (sp1 == std::string_view::npos) continue;
    auto sp2 = line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos) continue;
    auto sp3 = line.find(' ', sp2 + 1);
    std::string mount_point = unescape_mount_path(line.substr(sp1 + 1, sp2 - sp1 - 1));
    std::string_view type =
        line.substr(sp2 + 1, sp3 == std::string_view::npos ? std::string_view::npos : sp3 - sp2 - 1);
    bool under = mount_point == "/" || (starts_with(abs, mount_point) &&
                                        (abs.size() == mount_point.size() || abs[mount_point.size()] == '/'));
    if (under && mount_point.size() >= best_len) {
      best_len = mount_point.size();
      best_type.assign(type);
      found = true;
    }
  }
  if (found && is_network_fs(best_type)) return best_type;
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------------
// Contradictions and production refusals

class Checker {
 public:
  Checker(const std::set<std::string_view>& failed, std::vector<std::string>& problems)
      : failed_(failed), problems_(problems) {}

  bool ok(std::string_view name) const { return !failed_.contains(name); }

  void problem(std::string_view name, std::string_view what, std::optional<std::string> got = std::nullopt) {
    std::string line(name);
    line += ": ";
    line += what;
    if (got) line += " (got " + quoted(*got) + ")";
    problems_.push_back(std::move(line));
  }

 private:
  const std::set<std::string_view>& failed_;
  std::vector<std::string>& problems_;
};

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
  if (k.ok("CHATD_PUBLIC_URL") && !starts_with(ascii_lower(c.public_url), "https://")) {
    k.problem("CHATD_PUBLIC_URL", "must be an https:// URL in production (links in e-mails carry tokens)",
              c.public_url);
  }
  if (c.is_sqlite() && k.ok("CHATD_DATABASE_URL")) {
    std::string path = c.sqlite_path();
    if (starts_with(path, "//") || starts_with(path, "\\\\")) {
      k.problem("CHATD_DATABASE_URL",
                "SQLite on a network path can corrupt the database; use a local disk or PostgreSQL", c.database_url);
    } else if (auto fs = network_fs_of(path, sources.proc_mounts)) {
      k.problem("CHATD_DATABASE_URL",
                "SQLite on a network filesystem (" + *fs + ") can corrupt the database; use a local disk or PostgreSQL",
                c.database_url);
    }
  }
  for (const auto& origin : c.cors_origins) {
    if (!starts_with(origin, "http://")) continue;
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

struct Raw {
  std::string value;
  std::string origin;  // "env" or ".env"
};

}  // namespace

const std::vector<std::string_view>& known_settings() {
  static const std::vector<std::string_view> names = [] {
    std::vector<std::string_view> v;
    for (const auto& s : kSettings) v.push_back(s.name);
    return v;
  }();
  return names;
}

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

LoadResult load(const Sources& sources) {
  LoadResult result;
  auto& problems = result.problems;
  Config& c = result.config;

  unsigned hw = std::max(1u, sources.hardware_threads);
  c.threads = static_cast<int>(std::min(hw, 256u));
  c.workers = static_cast<int>(std::clamp(2 * hw, 4u, 256u));
  c.rate_limits = default_rate_limits();

  if (sources.dotenv_error) {
    problems.push_back(sources.dotenv_name + ": cannot be read (" + *sources.dotenv_error + ")");
  }

  // Known names: the environment wins over .env.
  std::map<std::string_view, Raw> raw;
  std::map<std::string, int> dotenv_lines;  // first line of each relevant .env key
  auto relevant = [](std::string_view name) { return find_setting(name) || starts_with(uppercase(name), "CHATD_"); };
  auto unknown = [&](const std::string& name, const std::string& where) {
    std::string line = name + ": unknown setting" + where;
    std::string upper = uppercase(name);
    std::size_t limit = std::max<std::size_t>(2, name.size() / 4);
    std::string_view best;
    std::size_t best_distance = std::numeric_limits<std::size_t>::max();
    for (const auto& s : kSettings) {
      auto d = edit_distance(upper, s.name);
      // A dropped or added "_WORD" (CHATD_REDIS for CHATD_REDIS_URL) is close however long it is.
      bool extends = starts_with(s.name, upper + "_") || starts_with(upper, std::string(s.name) + "_");
      if ((d <= limit || extends) && d < best_distance) {
        best_distance = d;
        best = s.name;
      }
    }
    if (!best.empty()) line += " (did you mean " + std::string(best) + "?)";
    problems.push_back(std::move(line));
  };

  if (sources.dotenv) {
    DotenvFile file = parse_dotenv(*sources.dotenv, sources.dotenv_name);
    problems.insert(problems.end(), file.problems.begin(), file.problems.end());
    for (auto& entry : file.entries) {
      if (!relevant(entry.key)) continue;
      const Setting* s = find_setting(entry.key);
      auto [it, first] = dotenv_lines.emplace(entry.key, entry.line);
      if (!first && s) {
        problems.push_back(entry.key + ": set twice in " + sources.dotenv_name + " (lines " +
                           std::to_string(it->second) + " and " + std::to_string(entry.line) + ")");
      }
      if (!s) {
        if (first) unknown(entry.key, " in " + sources.dotenv_name + " line " + std::to_string(entry.line));
        continue;
      }
      raw[s->name] = Raw{entry.value, ".env"};
    }
  }
  for (const auto& [name, value] : sources.env) {
    if (!relevant(name)) continue;
    const Setting* s = find_setting(name);
    if (!s) {
      unknown(name, "");
      continue;
    }
    raw[s->name] = Raw{value, "env"};
  }

  std::set<std::string_view> present;  // given a non-empty value
  std::set<std::string_view> failed;
  for (const auto& s : kSettings) {
    auto it = raw.find(s.name);
    if (it == raw.end() || it->second.value.empty()) continue;
    present.insert(s.name);
    Field f{s.name, it->second.value, s.secrecy, &problems};
    // A stray control character is a copy-and-paste accident; a password may hold a tab.
    if (s.name != "CHATD_ADMIN_PASSWORD" && has_control(f.value)) {
      f.fail("must not contain control characters");
    } else {
      s.parse(f, c);
    }
    if (f.failed) failed.insert(s.name);
  }

  // Defaults that follow other settings.
  if (!present.contains("CHATD_DATABASE_URL")) {
    c.database_url = "sqlite:" + c.data_dir + (c.data_dir.back() == '/' ? "" : "/") + "chatd.db";
  }
  if (!present.contains("CHATD_PUBLIC_URL") || failed.contains("CHATD_PUBLIC_URL")) {
    c.public_url = "http://" + addr_text(c);
  }

  Checker checker(failed, problems);
  check_contradictions(c, checker);
  if (c.production) check_production(c, sources, checker);

  for (const auto& s : kSettings) {
    LoadResult::Setting e;
    e.name = std::string(s.name);
    auto it = raw.find(s.name);
    e.origin = it == raw.end() ? "default" : it->second.origin;
    if (failed.contains(s.name)) {
      e.value = shown(it->second.value, s.secrecy);
    } else {
      std::string v = s.render(c);
      e.value = s.secrecy == Secrecy::url ? shown(v, s.secrecy) : v;
    }
    result.effective.push_back(std::move(e));
  }
  return result;
}

}  // namespace chatd::config
