#!/usr/bin/env bash
# scripts/paper --smoke into a temporary folder: every part runs (MIL and UCI only when the data folder is
# there), hopfield-report renders the page, each run table gets its SVG. Usage: paper_smoke.sh BUILD_DIR
set -euo pipefail
build=${1:?build directory}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$root/scripts/paper" --smoke --build "$build" --runs "$tmp/runs" --out "$tmp/page/results.md" > "$tmp/log" 2>&1 ||
  { cat "$tmp/log"; exit 1; }
page=$tmp/page/results.md
fail() { echo "paper_smoke: $*"; cat "$page"; exit 1; }
for h in "## Multiple-instance learning" "## UCI tabular" "## Immune repertoires" "## hopfield-bit-pattern" "## hopfield-latch" \
         "machine: " "OpenBLAS core" "load average"; do
  grep -q "$h" "$page" || fail "no '$h' in the page"
done
for svg in repertoire bit_pattern latch; do
  grep -q "<svg" "$tmp/page/results/$svg.svg" || fail "results/$svg.svg missing"
done
grep -q "| hopfield_lookup_adapted | " "$page" || fail "bit-pattern/latch table rows missing"
data=${HOPFIELD_DATA_DIR:-$root/../shared/data}
if [ -d "$data/mil/csv" ] && [ -d "$data/uci121" ]; then
  grep -q "| Elephant | 0\.[0-9]* +/- " "$page" || fail "MIL row for Elephant missing"
  grep -q "<svg" "$tmp/page/results/mil.svg" || fail "results/mil.svg missing"
else
  echo "paper_smoke: $data absent: MIL and UCI parts were skipped"
fi
# Bad input: one line naming the script, non-zero exit.
if "$root/scripts/paper" --bogus > "$tmp/err" 2>&1; then fail "--bogus was accepted"; fi
grep -q "scripts/paper: unknown argument '--bogus'" "$tmp/err" || fail "no error line for --bogus: $(cat "$tmp/err")"
echo "paper_smoke: ok"
