#!/usr/bin/env bash
# Nightly sync: make Tencent Cloud Chat match tonight's export, touching only what changed.
#
#   jobs/nightly-sync.sh /exports/groups-$(date +%F).csv
#
# - mirror mode: extra memberships are removed and groups missing from the export deleted, for the
#   users in the export (and users that vanished since the last applied snapshot);
# - --max-delete guards against a destructive surprise (default 10% of the memberships looked at): over
#   it the night changes nothing and exits 5 with the numbers (a person should look: `cgsync plan` shows why);
# - --state keeps a digest per user: users whose rows did not change make no API call at all
#   (set REFRESH=1, e.g. weekly, to re-read everyone and repair drift);
# - the checkpoint's lock and the state file's lock stop two runs from overlapping; --max-duration ends
#   the run in its window (exit 3, resumable);
# - a night killed mid-run (kill -9, out of memory, power cut) leaves state.json.unsaved: the next night
#   reads again the users that night's checkpoint began, so keep the checkpoints of unfinished nights
#   (without it the night is refused, exit 1, and says what to do);
# - a dated backup per night, $WORK_DIR/backups/YYYY-MM-DD.csv: what the night deleted or removed, written
#   before each call (`cgsync apply backups/<night>.csv --mode merge` puts it back; README "How to roll a
#   night back"); a run resumed the same day appends to it. Backups older than BACKUP_KEEP_DAYS (default
#   14) days are removed before the run;
# - METRICS_FILE: a Prometheus textfile (calls, retries, failures, users, duration, exit code, last success);
# - NODE_FLAGS: Node's memory settings for the night (default below; NODE_FLAGS= for Node's own). A Node
#   that refuses one of them runs without them.
# Exit codes: 0 ok, 1 fatal, 3 out of time (resumes next run), 4 some rows/users failed,
# 5 refused by the deletion guard before any write (needs a human, not a retry).
set -euo pipefail
input=${1:?usage: jobs/nightly-sync.sh <export.csv>}
work=${WORK_DIR:-/var/lib/cgsync}
mkdir -p "$work"
cgsync=${CGSYNC:-$(dirname "$0")/../dist/cli/main.js}
today=$(date +%F)

# Prune the nightly backups older than BACKUP_KEEP_DAYS days (by the date in their name).
keep=${BACKUP_KEEP_DAYS:-14}
case "$keep" in '' | *[!0-9]*) echo "BACKUP_KEEP_DAYS must be a number of days, got '$keep'" >&2; exit 1 ;; esac
cutoff=$(date -d "$keep days ago" +%F 2>/dev/null || date -v-"$keep"d +%F)
mkdir -p "$work/backups"
for old in "$work"/backups/[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9].csv; do
  [ -e "$old" ] || continue
  night=$(basename "$old" .csv)
  if [[ "$night" < "$cutoff" ]]; then rm -f -- "$old"; fi
done

args=(apply "$input"
  --mode mirror
  --state "$work/state.json"
  --checkpoint "$work/checkpoint-$today.ndjson"
  --failures "$work/failures-$today.csv"
  --backup "$work/backups/$today.csv"
  --max-delete "${MAX_DELETE:-10%}"
  --max-duration "${MAX_DURATION:-5h}")
[ "${REFRESH:-0}" = 1 ] && args+=(--refresh)
[ -n "${SECRET_KEY_FILE:-}" ] && args+=(--secret-key-file "$SECRET_KEY_FILE")
[ -n "${REDIS_URL:-}" ] && args+=(--redis "$REDIS_URL")
[ -n "${SHARD:-}" ] && args+=(--shard "$SHARD")
# node_exporter's textfile collector folder, e.g. METRICS_FILE=/var/lib/node_exporter/cgsync.prom
[ -n "${METRICS_FILE:-}" ] && args+=(--metrics-file "$METRICS_FILE")

# A young generation of 4 MiB per semi-space and an old generation that grows in smaller steps: the
# peak of an unchanged night is then the same whatever the number of users (with Node's defaults V8
# enlarges both as the night goes on), for more collections: the CPU part of the night takes about a
# fifth longer (bench/state-snapshot.ts measures both ways; the calls, not the CPU, set a changed
# night's length).
read -r -a node_flags <<<"${NODE_FLAGS---max-semi-space-size=4 --heap-growing-percent=25}"
if [ ${#node_flags[@]} -gt 0 ] && ! node "${node_flags[@]}" -e '' 2>/dev/null; then
  echo "warning: this node refuses NODE_FLAGS (${node_flags[*]}): running without them" >&2
  node_flags=()
fi
exec node ${node_flags[@]+"${node_flags[@]}"} "$cgsync" "${args[@]}" --json
