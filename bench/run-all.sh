#!/usr/bin/env bash
# `npm run bench`: builds, runs every benchmark, writes bench/RESULTS.md and prints it.
#
#   npm run bench                      # default sizes, about 10 minutes on 2 cores
#   FULL=1 npm run bench               # full sizes (10M-row planning, 100k-user nightly, ...): much longer
#   BENCH_ONLY=plan,apply npm run bench   # a subset: plan, apply, side, nightly, state, limiter; the other sections of
#                                         # RESULTS.md are kept from their last run (each says its date and commit)
#
# Every benchmark starts the emulator and cgsync as separate processes (see bench/README.md).
set -uo pipefail
cd "$(dirname "$0")/.."

if [ ! -x /usr/bin/time ]; then
  echo "GNU time is missing (peak RSS): installing the Debian package 'time'" >&2
  as_root=""
  [ "$(id -u)" = 0 ] || as_root="sudo -n"
  { $as_root apt-get install -y time || { $as_root apt-get update && $as_root apt-get install -y time; }; } \
    >/dev/null 2>&1 || echo "warning: could not install GNU time; peak RSS will show n/a" >&2
fi

started=$(date +%s)
echo "== build" >&2
npm run build >&2 || echo "warning: npm run build reported errors (dist may be stale)" >&2
npx tsc -p tsconfig.json --outDir .bench-build >&2 \
  || echo "warning: tsc reported errors while compiling the benches (files were still emitted)" >&2

out=bench/out
mkdir -p "$out/sections" "$out/logs"
only=",${BENCH_ONLY:-plan,apply,side,nightly,state,limiter},"
sections=()
failed=()

kept=()
run() { # run <key> <script>: the script writes its markdown section to $out/sections/<key>.md
  local key=$1 script=$2
  if [[ $only != *",$key,"* ]]; then
    if [ -f "$out/sections/$key.md" ]; then
      sections+=("$out/sections/$key.md")
      kept+=("$key")
    fi
    return 0
  fi
  echo "== $key ($(uptime | sed 's/.*load/load/'))" >&2
  rm -f "$out/sections/$key.md"
  if node ".bench-build/bench/$script.js" --md "$out/sections/$key.md" >"$out/logs/$key.log"; then
    sections+=("$out/sections/$key.md")
  else
    failed+=("$key")
    echo "bench $key FAILED (see $out/logs/$key.log and the messages above)" >&2
  fi
}

run plan plan-throughput
run apply apply-rate
run side side-by-side
run nightly nightly
run state state-snapshot
run limiter limiter-rate

{
  echo "# cgsync benchmark results"
  echo
  echo "Written by \`npm run bench\` (bench/run-all.sh)$([ "${FULL:-}" = 1 ] && echo ' with `FULL=1`'): $(date -u +%Y-%m-%dT%H:%M:%SZ)," \
    "node $(node --version), nproc $(nproc), $(uptime | sed 's/.*load/load/') at the end" \
    "(other work on the machine shares its cores), $(( $(date +%s) - started )) s in all," \
    "commit $(git rev-parse --short HEAD)."
  if [ ${#kept[@]} -gt 0 ]; then
    echo "Sections kept from an earlier run (see their own date and commit): ${kept[*]}."
  fi
  echo "What each benchmark measures and how: bench/README.md."
  for s in "${sections[@]}"; do
    echo
    cat "$s"
  done
  if [ ${#failed[@]} -gt 0 ]; then
    echo
    echo "**Failed:** ${failed[*]} (see bench/out/logs/)."
  fi
} >bench/RESULTS.md

cat bench/RESULTS.md
[ ${#failed[@]} -eq 0 ]
