#!/usr/bin/env bash
# Installs and starts, on loopback, the services the test suite needs. Idempotent.
set -euo pipefail
