// chatd: one binary. `chatd [serve]`, `chatd migrate`, `chatd config check`.

#include "app.hpp"
#include "config/config.hpp"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>

namespace {

// Loads the settings; on problems prints one line each to stderr and returns false.
bool load_config(chatd::config::LoadResult& out) {
  out = chatd::config::load(chatd::config::system_sources());
  for (const auto& problem : out.problems) std::cerr << "chatd: " << problem << "\n";
  if (!out.problems.empty()) std::cerr << "chatd: refusing to start (" << out.problems.size() << " problem(s))\n";
  return out.problems.empty();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"chatd: a self-hosted AI chat backend. Settings come from the environment, "
               "then ./.env, then defaults (see the README)."};
  app.set_version_flag("--version", std::string("chatd ") + CHATD_VERSION);
  app.require_subcommand(0, 1);
  auto* serve = app.add_subcommand("serve", "Migrate the database if needed, then serve (the default)");
  auto* migrate = app.add_subcommand("migrate", "Apply pending database migrations and exit");
  auto* config_cmd = app.add_subcommand("config", "Inspect the settings");
  auto* check = config_cmd->add_subcommand("check", "Validate the settings and print the effective ones (secrets masked)");
  config_cmd->require_subcommand(1);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }

  chatd::config::LoadResult loaded;
  if (*check) {
    bool valid = load_config(loaded);
    for (const auto& s : loaded.effective) std::cout << s.name << "=" << s.value << "  (" << s.origin << ")\n";
    if (valid) std::cout << "configuration is valid\n";
    return valid ? 0 : 2;
  }
  if (!load_config(loaded)) return 2;
  if (*migrate) return chatd::run_migrate(loaded.config);
  (void)serve;
  return chatd::run_serve(loaded.config);
}
