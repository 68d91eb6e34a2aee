#!/usr/bin/env bash
# Debian tools some tests drive, installed when missing and we are allowed to (root, apt);
# otherwise say so — those tests then skip with this reason:
# - chromium (never a downloaded browser) and a small CJK font, for the console's browser tests
#   (so screenshots show Chinese text rather than boxes);
# - faketime (libfaketime), for the demo run on other days of the calendar (tests/test_demo_days.py).
set -uo pipefail
want=()
command -v chromium >/dev/null 2>&1 || want+=(chromium)
fc-list 2>/dev/null | grep -qi "wqy\|noto sans cjk" || want+=(fonts-wqy-microhei)
command -v faketime >/dev/null 2>&1 || want+=(faketime)
if [ "${#want[@]}" -gt 0 ] && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian packages for the browser and calendar tests: ${want[*]}…"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q "${want[@]}" >/dev/null 2>&1 \
    || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q "${want[@]}" >/dev/null 2>&1; }
fi
command -v chromium >/dev/null 2>&1 || echo "note: chromium not installed; the console browser tests will be skipped"
command -v faketime >/dev/null 2>&1 || echo "note: faketime not installed; the demo-on-other-days tests will be skipped"
exit 0
