#!/usr/bin/env bash
# Installs the services the test suite needs. Idempotent. Nothing is started here: the tests spawn
# their own instances on 127.0.0.1 (test/helpers/redis-server.ts).
set -euo pipefail

# redis-server: the shared rate budget (src/executor/redis-gate.ts) is tested against a real Redis.
if ! command -v redis-server >/dev/null 2>&1; then
  sudo=''
  if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then sudo='sudo'; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq && $sudo apt-get install -y -qq redis-server
fi

# chromium: test/planner/report-browser.test.ts renders the HTML report headless and checks the
# screenshot. Best effort: without it that one test is skipped with a message, nothing else changes.
if ! command -v chromium >/dev/null 2>&1; then
  sudo=''
  if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then sudo='sudo'; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get install -y -qq chromium >/dev/null 2>&1 || echo "services: chromium not installed; the report screenshot test will be skipped" >&2
fi
