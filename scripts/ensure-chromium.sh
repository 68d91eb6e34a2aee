#!/usr/bin/env bash
# The browser tests drive Debian's Chromium (never a downloaded browser). Install it when missing
# and we are allowed to (root, apt); otherwise say so — those tests then skip with this reason.
set -uo pipefail
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian chromium for the browser tests…"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q chromium >/dev/null 2>&1 || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q chromium >/dev/null 2>&1; }
fi
command -v chromium >/dev/null 2>&1 || echo "note: chromium not installed; the console browser tests will be skipped"
exit 0
