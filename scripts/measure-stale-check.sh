#!/bin/bash
# The wall time of applying a saved --assume-empty plan (samples/demo.csv: 300 users, 1,282 creates)
# against an emulator at 50 ± 20 ms latency, three times per CLI, with the calls the emulator accepted.
# Since issue 12 apply reads each user once before its first write (the stale-plan check): the
# get_contact_group column shows those reads. Usage:
#   bash scripts/measure-stale-check.sh [path/to/other/dist/cli/main.js ...]
# (no argument: this tree's dist/cli/main.js; pass an older build's main.js to compare).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CLIS=("$@")
[ ${#CLIS[@]} -eq 0 ] && CLIS=("$ROOT/dist/cli/main.js")
export TENCENT_SDKAPPID=1400000000 TENCENT_SECRET_KEY=measure-stale-check-key
W=$(mktemp -d)
node "$ROOT/dist/cli/main.js" emulator --port 0 --latency 50 --jitter 20 >"$W/emu.out" 2>/dev/null &
EMU=$!
trap 'kill $EMU 2>/dev/null; rm -rf "$W"' EXIT
for _ in $(seq 100); do grep -q listening "$W/emu.out" 2>/dev/null && break; sleep 0.1; done
URL=$(grep -o 'http://[^ ]*' "$W/emu.out")
export TENCENT_ENDPOINT=$URL
for cli in "${CLIS[@]}"; do
  for rep in 1 2 3; do
    curl -s -X POST "$URL/__emulator/reset" >/dev/null
    node "$cli" plan "$ROOT/samples/demo.csv" --assume-empty --out "$W/p.ndjson" >/dev/null 2>&1
    rm -f "$W/cp.ndjson"
    start=$(date +%s.%N)
    node "$cli" apply "$W/p.ndjson" --assume-empty --checkpoint "$W/cp.ndjson" >/dev/null 2>&1 || true
    end=$(date +%s.%N)
    calls=$(curl -s "$URL/__emulator/stats" | node -e '
      let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
        const e = JSON.parse(s).endpoints;
        console.log(Object.entries(e).map(([k, v]) => `${k}=${v.accepted}`).join(" "));
      });')
    printf '%s run %d: %.2f s  %s\n' "$cli" "$rep" "$(echo "$end - $start" | bc)" "$calls"
  done
done
