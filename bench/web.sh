#!/usr/bin/env bash
# The web UI's budgets in headless Chromium (bench/web.mjs): bytes of the sign-in and chat
# pages, the sign-in page's readiness beside nginx serving the same files, the first streamed
# delta's paint, and a 2,000-message conversation. Writes bench/results/web.md.
#
#   bench/web.sh [ROUNDS]      (default 7)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps
[ -f web/dist/index.html ] || scripts/web build
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build --target chatd -j"$(nproc)"
node="$(scripts/node)"
export PATH="$(dirname "$node"):$PATH"
if [ ! -d tests/browser/node_modules/playwright-core ]; then
  (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
fi
CHATD_BIN="$PWD/build/chatd" node bench/web.mjs "$@"
