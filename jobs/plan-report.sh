#!/usr/bin/env bash
# Dry-run planning report: what would change, how many calls, how long, which rows and users break a
# documented limit. Writes nothing to Tencent (reads state unless ASSUME_EMPTY=1).
#
#   jobs/plan-report.sh export.csv [out-dir]
#
# Produces out-dir/report.html (self-contained, open it in a browser), out-dir/report.md and
# out-dir/plan.ndjson (which `cgsync apply out-dir/plan.ndjson --checkpoint ...` can execute later).
# Exit codes (--detailed-exitcode): 0 nothing to change, 2 changes pending, 1 error, 4 some users'
# state could not be read, 5 (MODE=mirror) apply's deletion guard would refuse it (--max-delete, MAX_DELETE).
set -euo pipefail
input=${1:?usage: jobs/plan-report.sh <input.csv> [out-dir]}
out=${2:-./cgsync-report}
mkdir -p "$out"
cgsync=${CGSYNC:-$(dirname "$0")/../dist/cli/main.js}

args=(plan "$input" --mode "${MODE:-merge}" --out "$out/plan.ndjson"
  --report "$out/report.html" --report "$out/report.md" --detailed-exitcode)
[ "${ASSUME_EMPTY:-0}" = 1 ] && args+=(--assume-empty)
[ -n "${MAX_DELETE:-}" ] && args+=(--max-delete "$MAX_DELETE")
[ -n "${SECRET_KEY_FILE:-}" ] && args+=(--secret-key-file "$SECRET_KEY_FILE")

exec node "$cgsync" "${args[@]}"
