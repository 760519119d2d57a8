#!/usr/bin/env bash
# Installs, from Debian, what the test suite needs. Idempotent. Nothing is started here: the tests
# spawn their own instances on 127.0.0.1 (test/helpers/redis-server.ts).
set -euo pipefail

sudo=''
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then sudo='sudo'; fi
export DEBIAN_FRONTEND=noninteractive
updated=0
apt_install() {
  if [ "$updated" = 0 ]; then $sudo apt-get update -qq; updated=1; fi
  $sudo apt-get install -y -qq "$@"
}

# redis-server: the shared rate budget (src/executor/rate/redis-gate.ts) is tested against a real Redis.
command -v redis-server >/dev/null 2>&1 || apt_install redis-server

# chromium: test/planner/report-browser.test.ts renders the HTML report headless and reads back what
# the page says. Required in CI (CI=true); elsewhere that test is skipped with a message when missing.
command -v chromium >/dev/null 2>&1 || apt_install chromium
