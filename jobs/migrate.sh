#!/usr/bin/env bash
# One-off migration: move a CSV export into Tencent Cloud Chat, as fast as the API allows, resumable.
#
#   jobs/migrate.sh export.csv                 # merge into whatever the app already holds (reads state first)
#   ASSUME_EMPTY=1 jobs/migrate.sh export.csv  # blind: the app is known to be empty (fastest, no reads)
#   STREAM=1 jobs/migrate.sh export.csv        # calls start while the CSV is read (--stream: a bad row late
#                                              # in the file then stops the run after writes; see README)
#
# Run the same command again after a crash, a kill or Ctrl-C: it resumes from the checkpoint and never
# repeats what is done. A different input with the same checkpoint is refused.
# Needs TENCENT_SDKAPPID, TENCENT_SECRET_KEY (or SECRET_KEY_FILE), and TENCENT_REGION or TENCENT_ENDPOINT.
# Exit codes: 0 done, 1 fatal, 3 interrupted (run again to resume), 4 done but some rows/users failed.
set -euo pipefail
input=${1:?usage: jobs/migrate.sh <input.csv>}
work=${WORK_DIR:-./cgsync-migration}
mkdir -p "$work"
cgsync=${CGSYNC:-$(dirname "$0")/../dist/cli/main.js}

args=(apply "$input"
  --checkpoint "$work/checkpoint.ndjson"
  --failures "$work/failures.csv"
  --mode merge)
[ "${ASSUME_EMPTY:-0}" = 1 ] && args+=(--assume-empty)
[ "${STREAM:-0}" = 1 ] && args+=(--stream)
[ -n "${SECRET_KEY_FILE:-}" ] && args+=(--secret-key-file "$SECRET_KEY_FILE")
[ -n "${RATE:-}" ] && args+=(--rate "$RATE")

set +e
node "$cgsync" "${args[@]}" --json >"$work/summary.json"
code=$?
set -e
cat "$work/summary.json"
case $code in
  0) echo "migration complete" >&2 ;;
  3) echo "interrupted: run the same command again to resume" >&2 ;;
  4) echo "finished with failures: see $work/failures.csv (it is itself a valid input for a re-run)" >&2 ;;
  *) echo "migration failed (exit $code)" >&2 ;;
esac
exit $code
