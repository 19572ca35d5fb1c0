#!/usr/bin/env bash
# Installs the browser tests' npm tools (axe-core, at the version package-lock.json pins) with `npm ci`, installing
# Debian's npm first when it is missing and we are allowed to — the way ensure_chromium.sh gets the browser.
# Outside CI, no npm means the accessibility checks are skipped with a warning; in CI the browser tests fail.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v npm >/dev/null 2>&1; then
  echo "Installing Debian's npm for the accessibility checks…"
  ./scripts/apt_install.sh npm || {
    echo "!! npm is missing and this user cannot install it (apt-get install npm): accessibility checks will skip." >&2
    exit 0
  }
fi
npm ci --no-audit --no-fund --loglevel=error
touch node_modules/.installed
