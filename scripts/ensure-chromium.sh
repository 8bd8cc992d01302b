#!/usr/bin/env bash
# Makes sure Debian's headless-capable chromium is installed for the browser
# tests (playwright-core drives /usr/bin/chromium; no browser is downloaded).
# Idempotent: does nothing when /usr/bin/chromium already runs.
set -euo pipefail
log() { printf '[ensure-chromium] %s\n' "$*" >&2; }
if [ -x /usr/bin/chromium ] && timeout 30 /usr/bin/chromium --headless --no-sandbox --disable-gpu --version >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  log "chromium is missing and this user cannot install it: run as root, or: apt-get install chromium"
  exit 1
fi
log "installing Debian's chromium (once)"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
/usr/bin/chromium --headless --no-sandbox --disable-gpu --version >&2
