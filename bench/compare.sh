#!/usr/bin/env bash
# compare.sh [--rounds N] [flags...] — run the reference TS benchmark harness and this Go
# runner alternately (TS, Go, TS, Go, ...) with the same flags, then print Go/TS ratios and the
# Go stack against raw coder/websocket measured in the same runs.
#
#   TS_BENCH   path to the reference harness's ts-bench.sh (prepared with its setup.sh);
#              unset or not runnable: Go only (no Node needed)
#   GO_BENCH   a prebuilt runner binary (default: built from this module into OUT)
#   OUT        directory for ts.jsonl, go.jsonl and the binary (default: a new temp dir)
#   WORKLOADS  default converge,stream,large,idle-conns (Go also runs its raw baseline)
#
# Other flags go to both harnesses (--procs 1,2 --runs 3 --conns 10000 ...).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROUNDS=1
if [ "${1:-}" = "--rounds" ]; then ROUNDS=$2; shift 2; fi
OUT=${OUT:-$(mktemp -d)}
mkdir -p "$OUT"
WORKLOADS=${WORKLOADS:-converge,stream,large,idle-conns}
GO_BENCH=${GO_BENCH:-}
if [ -z "$GO_BENCH" ]; then
  GO_BENCH="$OUT/bench"
  (cd "$HERE/.." && go build -o "$GO_BENCH" ./bench)
fi
TS=""
if [ -n "${TS_BENCH:-}" ] && [ -x "$TS_BENCH" ]; then TS=$TS_BENCH; fi
[ -n "$TS" ] || echo "compare.sh: TS_BENCH not set or not executable: Go only" >&2
for r in $(seq 1 "$ROUNDS"); do
  if [ -n "$TS" ]; then
    echo "compare.sh: round $r: TS" >&2
    "$TS" --workload "$WORKLOADS" "$@" >> "$OUT/ts.jsonl" || echo "compare.sh: TS run failed" >&2
  fi
  echo "compare.sh: round $r: Go" >&2
  "$GO_BENCH" --workload "$WORKLOADS,raw" "$@" >> "$OUT/go.jsonl" || echo "compare.sh: Go run failed" >&2
done
echo "results: $OUT/ts.jsonl $OUT/go.jsonl" >&2
if [ -n "$TS" ]; then
  "$GO_BENCH" --ratios "$OUT/ts.jsonl" "$OUT/go.jsonl"
else
  "$GO_BENCH" --ratios /dev/null "$OUT/go.jsonl"
fi
