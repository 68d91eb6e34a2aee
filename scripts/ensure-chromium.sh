#!/usr/bin/env bash
# The browser tests drive Debian's Chromium (never a downloaded browser). Install it when missing
# and we are allowed to (root, apt); otherwise say so — those tests then skip with this reason.
# A small CJK font too, so the console screenshots show Chinese text rather than boxes.
set -uo pipefail
if command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && ! fc-list 2>/dev/null | grep -qi "wqy\|noto sans cjk"; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q fonts-wqy-microhei >/dev/null 2>&1 || true
  fi
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian chromium for the browser tests…"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q chromium fonts-wqy-microhei >/dev/null 2>&1 \
    || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q chromium fonts-wqy-microhei >/dev/null 2>&1; }
fi
command -v chromium >/dev/null 2>&1 || echo "note: chromium not installed; the console browser tests will be skipped"
exit 0
