#pragma once
// The commands of the binary, each from the Config to a process exit code: serve.cpp is the
// composition root (the wiring of every component), commands.cpp the one-shot commands.

#include "config/config.hpp"

#include <string>

namespace chatd::app {

// `chatd serve`: migrate, then serve until SIGTERM/SIGINT. Returns the process exit code.
int run_serve(const config::Config& config);
// `chatd migrate`: apply pending migrations and exit.
int run_migrate(const config::Config& config);
// `chatd create-admin`: creates a verified administrator, or promotes the account that has
// this e-mail address. 2 for a refused password or a taken username.
int run_create_admin(const config::Config& config, const std::string& email, const std::string& username,
                     const std::string& password);

}  // namespace chatd::app
