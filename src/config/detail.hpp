#pragma once
// Pieces shared by the files that load the Config; not part of the config interface
// (config.hpp is). A setting is one row of the table (settings.cpp) whose parser reads its
// value through a Field (values.cpp); after parsing, load() (config.cpp) runs the checks that
// look at several settings at once (checks.cpp) or at the file system (filesystem_checks.cpp).
// Every problem is one line "NAME: what (got "value")", written as problems.cpp says.

#include "config/config.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace chatd::config::detail {

inline constexpr std::string_view kRedacted = "***";

enum class Secrecy {
  none,    // shown as is
  secret,  // never shown; "***" in the effective listing
  url,     // shown with the password of its userinfo masked
};

// ---------------------------------------------------------------------------------------------
// Problem lines (problems.cpp)

// A value inside a problem line: quoted, escaped so the line stays one line, and cut when long.
std::string quoted(std::string_view value, std::size_t max = 200);

// One item of a list value inside a message.
std::string item_quoted(std::string_view item);

// What may be shown of a value.
std::string shown(std::string_view value, Secrecy secrecy);

// The items with commas between them, as a list setting is written.
std::string join(const std::vector<std::string>& items);

// The setting being parsed. fail() records one problem line for it.
struct Field {
  std::string_view name;
  std::string_view value;
  Secrecy secrecy = Secrecy::none;
  std::vector<std::string>* problems = nullptr;
  bool failed = false;

  void fail(std::string_view what);
};

// Records the problems of the checks that run after parsing; a setting whose value already
// failed to parse is not checked again (its problem is already reported).
class Checker {
 public:
  Checker(const std::set<std::string_view>& failed, std::vector<std::string>& problems)
      : failed_(failed), problems_(problems) {}

  bool ok(std::string_view name) const { return !failed_.contains(name); }

  void problem(std::string_view name, std::string_view what, std::optional<std::string> got = std::nullopt);

 private:
  const std::set<std::string_view>& failed_;
  std::vector<std::string>& problems_;
};

// ---------------------------------------------------------------------------------------------
// Parsers of values (values.cpp). Each is called only for a non-empty value; on a bad value it
// calls Field::fail and leaves the Config as it was.

bool parse_int(Field& f, std::int64_t lo, std::int64_t hi, std::int64_t& out);
bool parse_int(Field& f, int lo, int hi, int& out);
bool parse_bool(Field& f, bool& out);
// A comma list of model ids: no spaces inside an id, no id twice.
void parse_models(Field& f, std::vector<std::string>& out);
// An http(s) base URL for an upstream API, trailing slashes dropped ("{base}/models").
void parse_base_url(Field& f, std::string& out);
void parse_api_key(Field& f, std::optional<std::string>& out);
void parse_addr(Field& f, Config& c);
void parse_database_url(Field& f, Config& c);
void parse_redis_url(Field& f, Config& c);
void parse_smtp_url(Field& f, Config& c);
void parse_public_url(Field& f, Config& c);
void parse_mail_from(Field& f, Config& c);
void parse_rate_limits(Field& f, Config& c);
void parse_cors_origins(Field& f, Config& c);
void parse_trusted_proxies(Field& f, Config& c);

// CHATD_ADDR as written back: host:port, an IPv6 host in brackets.
std::string addr_text(const Config& c);
// Every bucket with its default rate.
std::map<std::string, RateLimit> default_rate_limits();
std::string render_rate_limits(const Config& c);
std::string render_networks(const Config& c);

// ---------------------------------------------------------------------------------------------
// The table (settings.cpp)

using ParseFn = void (*)(Field&, Config&);
using RenderFn = std::string (*)(const Config&);

struct Setting {
  std::string_view name;
  Secrecy secrecy;
  ParseFn parse;    // called only for a non-empty value; an empty value means the default
  RenderFn render;  // the effective value, before masking
};

// Every setting, in documentation order.
std::span<const Setting> all_settings();

// The row named exactly `name`, or nullptr.
const Setting* find_setting(std::string_view name);

// ---------------------------------------------------------------------------------------------
// Checks after parsing

// Settings that contradict each other (checks.cpp).
void check_contradictions(const Config& c, Checker& k);

// The refusals of CHATD_ENV=production (checks.cpp).
void check_production(const Config& c, const Sources& sources, Checker& k);

// CHATD_PROVIDERS_FILE: a regular file chatd can read (filesystem_checks.cpp).
void parse_providers_file(Field& f, Config& c);

// In production: SQLite on a network path or network file system, where its locking is
// unreliable (filesystem_checks.cpp).
void check_sqlite_location(const Config& c, const Sources& sources, Checker& k);

}  // namespace chatd::config::detail
