#!/usr/bin/env bash
# Installs Debian's chromium for the web console's end-to-end tests (driven headless by
# playwright-core). Idempotent: does nothing when /usr/bin/chromium exists. Fails loudly when it
# cannot install it: the browser tests never skip.
set -euo pipefail

BIN=/usr/bin/chromium

if [ -x "$BIN" ]; then
  echo "Chromium is installed: $("$BIN" --version 2>/dev/null || echo "$BIN")"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  SUDO=sudo
else
  SUDO=
fi

echo "Installing Debian's chromium..."
export DEBIAN_FRONTEND=noninteractive
if ! { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null; }; then
  echo "ERROR: could not install Debian's chromium package (apt-get failed)." >&2
  echo "The web console's browser tests need $BIN and do not run without it." >&2
  exit 1
fi

if [ ! -x "$BIN" ]; then
  echo "ERROR: chromium was installed but $BIN is missing." >&2
  exit 1
fi
echo "Chromium installed: $("$BIN" --version 2>/dev/null || echo "$BIN")"
