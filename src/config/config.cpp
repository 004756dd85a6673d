// Loading the Config, in the order load() works: each setting's raw value (the environment
// over .env over the default), unknown CHATD_* names (with the closest known one as a hint),
// every value parsed by its row of the table (settings.cpp), the defaults that follow other
// settings, the checks (checks.cpp, filesystem_checks.cpp) and the effective listing for
// `chatd config check`. Every problem is one line "NAME: what (got "value")", and a secret's
// value is never part of a problem or of the effective listing.

#include "config/config.hpp"

#include "config/detail.hpp"
#include "config/dotenv.hpp"

#include <algorithm>
#include <cctype>
#include <limits>
#include <set>

namespace chatd::config {

namespace {

using detail::Setting;

std::string uppercase(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](char c) { return static_cast<char>(std::toupper(static_cast<unsigned char>(c))); });
  return out;
}

bool has_control(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

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

// "NAME: unknown setting" with `where` it was found, and the closest known name if one is close.
std::string unknown_setting(const std::string& name, const std::string& where) {
  std::string line = name + ": unknown setting" + where;
  std::string upper = uppercase(name);
  std::size_t limit = std::max<std::size_t>(2, name.size() / 4);
  std::string_view best;
  std::size_t best_distance = std::numeric_limits<std::size_t>::max();
  for (const auto& s : detail::all_settings()) {
    auto d = edit_distance(upper, s.name);
    // A dropped or added "_WORD" (CHATD_REDIS for CHATD_REDIS_URL) is close however long it is.
    bool extends = s.name.starts_with(upper + "_") || upper.starts_with(std::string(s.name) + "_");
    if ((d <= limit || extends) && d < best_distance) {
      best_distance = d;
      best = s.name;
    }
  }
  if (!best.empty()) line += " (did you mean " + std::string(best) + "?)";
  return line;
}

struct Raw {
  std::string value;
  std::string origin;  // "env" or ".env"
};

}  // namespace

LoadResult load(const Sources& sources) {
  LoadResult result;
  auto& problems = result.problems;
  Config& c = result.config;

  unsigned hw = std::max(1u, sources.hardware_threads);
  c.threads = static_cast<int>(std::min(hw, 256u));
  c.workers = static_cast<int>(std::clamp(2 * hw, 4u, 256u));
  c.rate_limits = detail::default_rate_limits();

  if (sources.dotenv_error) {
    problems.push_back(sources.dotenv_name + ": cannot be read (" + *sources.dotenv_error + ")");
  }

  // Known names: the environment wins over .env.
  std::map<std::string_view, Raw> raw;
  std::map<std::string, int> dotenv_lines;  // first line of each relevant .env key
  auto relevant = [](std::string_view name) {
    return detail::find_setting(name) || uppercase(name).starts_with("CHATD_");
  };

  if (sources.dotenv) {
    DotenvFile file = parse_dotenv(*sources.dotenv, sources.dotenv_name);
    problems.insert(problems.end(), file.problems.begin(), file.problems.end());
    for (auto& entry : file.entries) {
      if (!relevant(entry.key)) continue;
      const Setting* s = detail::find_setting(entry.key);
      auto [it, first] = dotenv_lines.emplace(entry.key, entry.line);
      if (!first && s) {
        problems.push_back(entry.key + ": set twice in " + sources.dotenv_name + " (lines " +
                           std::to_string(it->second) + " and " + std::to_string(entry.line) + ")");
      }
      if (!s) {
        if (first)
          problems.push_back(
              unknown_setting(entry.key, " in " + sources.dotenv_name + " line " + std::to_string(entry.line)));
        continue;
      }
      raw[s->name] = Raw{entry.value, ".env"};
    }
  }
  for (const auto& [name, value] : sources.env) {
    if (!relevant(name)) continue;
    const Setting* s = detail::find_setting(name);
    if (!s) {
      problems.push_back(unknown_setting(name, ""));
      continue;
    }
    raw[s->name] = Raw{value, "env"};
  }

  std::set<std::string_view> present;  // given a non-empty value
  std::set<std::string_view> failed;
  for (const auto& s : detail::all_settings()) {
    auto it = raw.find(s.name);
    if (it == raw.end() || it->second.value.empty()) continue;
    present.insert(s.name);
    detail::Field f{s.name, it->second.value, s.secrecy, &problems};
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
    c.public_url = "http://" + detail::addr_text(c);
  }

  detail::Checker checker(failed, problems);
  detail::check_contradictions(c, checker);
  if (c.production) detail::check_production(c, sources, checker);

  for (const auto& s : detail::all_settings()) {
    LoadResult::Setting e;
    e.name = std::string(s.name);
    auto it = raw.find(s.name);
    e.origin = it == raw.end() ? "default" : it->second.origin;
    if (failed.contains(s.name)) {
      e.value = detail::shown(it->second.value, s.secrecy);
    } else {
      std::string v = s.render(c);
      e.value = s.secrecy == detail::Secrecy::url ? detail::shown(v, s.secrecy) : v;
    }
    result.effective.push_back(std::move(e));
  }
  return result;
}

}  // namespace chatd::config
