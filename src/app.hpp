#pragma once
// The composition root: builds every component from the Config and runs a command.

#include "config/config.hpp"

namespace chatd {

// `chatd serve`: migrate, then serve until SIGTERM/SIGINT. Returns the process exit code.
int run_serve(const config::Config& config);
// `chatd migrate`: apply pending migrations and exit.
int run_migrate(const config::Config& config);

}  // namespace chatd
