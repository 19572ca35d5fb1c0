#!/usr/bin/env bash
# Installs Debian's Chromium for the browser tests when it is missing and we are allowed to.
# Outside CI a missing browser only makes the browser tests skip (loudly); in CI they fail.
set -euo pipefail
if command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ]; then
  exit 0
fi
echo "Installing Debian's chromium for the browser tests…"
"$(dirname "$0")/apt_install.sh" chromium fonts-dejavu-core || {
  echo "!! Chromium is missing and this user cannot install it (apt-get install chromium): browser tests will skip." >&2
  exit 0
}
