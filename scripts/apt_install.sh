#!/usr/bin/env bash
# apt_install.sh PACKAGE... — install Debian packages when this user may (root, or sudo without a password).
# Exits 3 when it may not, so a caller can skip what needs them (outside CI) instead of failing.
set -euo pipefail
if [ "$(id -u)" = "0" ]; then
  SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  SUDO="sudo -n"
else
  exit 3
fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
