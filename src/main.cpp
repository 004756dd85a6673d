// chatd: one binary. `chatd [serve]`, `chatd migrate`, `chatd config check`.

#include "api/openapi.hpp"
#include "api/routes.hpp"
#include "app/app.hpp"
#include "config/config.hpp"

#include <CLI/CLI.hpp>

#include <cctype>
#include <cstdio>
#include <iostream>
#include <malloc.h>
#include <string>

#ifdef CHATD_MIMALLOC
#include <mimalloc.h>
#endif

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
#ifdef CHATD_MIMALLOC
  // Named here so that the linker keeps the library that replaces malloc (CMakeLists.txt).
  if (mi_version() <= 0) return 70;
#else
  // glibc hands memory back to the system once 128 KiB lie free at the top of a heap, and
  // takes it again on the next burst: under load that is a brk or madvise call every few
  // requests. Keep up to 1 MiB per heap instead (bench/results/chat.md: CPU per completion;
  // 8 MiB saved no more CPU and kept about 2 MiB more after 10,000 streams came and went).
  mallopt(M_TRIM_THRESHOLD, 1024 * 1024);  // NOLINT(concurrency-mt-unsafe): before any thread starts
#endif
  CLI::App app{
      "chatd: a self-hosted AI chat backend. Settings come from the environment, "
      "then ./.env, then defaults (see the README)."};
  app.set_version_flag("--version", std::string("chatd ") + CHATD_VERSION);
  app.require_subcommand(0, 1);
  auto* serve = app.add_subcommand("serve", "Migrate the database if needed, then serve (the default)");
  auto* migrate = app.add_subcommand("migrate", "Apply pending database migrations and exit");
  auto* create_admin =
      app.add_subcommand("create-admin",
                         "Create a verified administrator, or promote an existing account (by e-mail); "
                         "the password comes from CHATD_ADMIN_PASSWORD or the first line of standard input");
  std::string admin_email, admin_username;
  create_admin->add_option("--email", admin_email, "E-mail address")->required();
  create_admin->add_option("--username", admin_username, "Username (3-32 characters of A-Z a-z 0-9 _ . -)")->required();
  auto* routes =
      app.add_subcommand("routes", "Print the route table (every route, its access level and limits) as JSON");
  auto* openapi = app.add_subcommand("openapi", "Print the OpenAPI 3.1 document of the API (as GET /openapi.json)");
  auto* config_cmd = app.add_subcommand("config", "Inspect the settings");
  auto* check =
      config_cmd->add_subcommand("check", "Validate the settings and print the effective ones (secrets masked)");
  config_cmd->require_subcommand(1);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }

  // The route table and its document need no settings.
  if (*routes) {
    std::cout << chatd::api::route_table_json() << "\n";
    return 0;
  }
  if (*openapi) {
    std::cout << chatd::api::openapi_json() << "\n";
    return 0;
  }
  chatd::config::LoadResult loaded;
  if (*check) {
    bool valid = load_config(loaded);
    for (const auto& s : loaded.effective) std::cout << s.name << "=" << s.value << "  (" << s.origin << ")\n";
    if (valid) std::cout << "configuration is valid\n";
    return valid ? 0 : 2;
  }
  if (!load_config(loaded)) return 2;
  if (*migrate) return chatd::app::run_migrate(loaded.config);
  if (*create_admin) {
    std::string password;
    if (loaded.config.admin_password) {
      password = *loaded.config.admin_password;
    } else {
      std::getline(std::cin, password);
      if (!password.empty() && password.back() == '\r') password.pop_back();
    }
    bool valid_username = admin_username.size() >= 3 && admin_username.size() <= 32;
    for (char c : admin_username)
      valid_username =
          valid_username && (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-');
    if (!valid_username || admin_email.find('@') == std::string::npos) {
      std::cerr << "chatd: --email must be an e-mail address and --username 3-32 characters of A-Z a-z 0-9 _ . -\n";
      return 2;
    }
    return chatd::app::run_create_admin(loaded.config, admin_email, admin_username, password);
  }
  (void)serve;
  return chatd::app::run_serve(loaded.config);
}
