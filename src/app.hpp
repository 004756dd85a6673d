#pragma once
// The composition root: builds every component from the Config and runs a command.

#include "config/config.hpp"

#include <string>

namespace chatd {

// `chatd serve`: migrate, then serve until SIGTERM/SIGINT. Returns the process exit code.
int run_serve(const config::Config& config);
// `chatd migrate`: apply pending migrations and exit.
int run_migrate(const config::Config& config);
// `chatd create-admin`: creates a verified administrator, or promotes the account that has
// this e-mail address. 2 for a refused password or a taken username.
int run_create_admin(const config::Config& config, const std::string& email, const std::string& username,
                     const std::string& password);

}  // namespace chatd
