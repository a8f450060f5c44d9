#!/usr/bin/env bash
# End to end against the reference hflayers: hopfield-mil's whole cross-validated training on a MIL set with a
# fixed epoch count and no early stopping, timed against bench/mil_hflayers.py (the same procedure in PyTorch
# with the real hflayers.HopfieldPooling), interleaved, per thread budget, median of the per-round ratios.
#
#   bench/mil_e2e.sh [--data CSV] [--epochs E] [--rounds R] [--threads "1 2"] [--build DIR] [--intra]
#
# Thread budget N, both sides: N folds trained at a time, each on one thread (hopfield-mil --threads N: N fold
# threads, OpenBLAS and intra-op loops at 1; mil_hflayers.py --threads N: N worker processes with
# torch.set_num_threads(1)). With --intra, for N > 1 hflayers also runs its folds in turn with
# torch.set_num_threads(N) (torch's intra-op threads) and the ratio is taken against the faster of its two modes;
# off by default: on a loaded 2-core machine that mode was > 10x slower than N processes (spinning threads).
# Wall time = the whole process (start to exit: loading, torch import, training, scoring), as a user sees it.
# The machine's speed drifts, so only the interleaved ratios mean something; the load (uptime) is printed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
data="$root/../shared/data/mil/csv/elephant.csv"
epochs=5
rounds=3
threads="1 2"
build="$root/build"
intra=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --data) data="$2"; shift 2 ;;
    --epochs) epochs="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --build) build="$2"; shift 2 ;;
    --intra) intra=1; shift ;;
    *) echo "mil_e2e.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
ours="$build/examples/hopfield-mil"
[[ -x "$ours" ]] || { echo "mil_e2e.sh: $ours not built (cmake --build build --target hopfield-mil)" >&2; exit 1; }
[[ -f "$data" ]] || { echo "mil_e2e.sh: no data file $data" >&2; exit 1; }
py=/usr/bin/python3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# run NAME CMD...: appends {"name", "seconds" (process wall), last JSON line of the program} to $tmp/runs.jsonl
run() {
  local name="$1"; shift
  local t0 t1
  t0=$(date +%s.%N)
  "$@" >"$tmp/out" 2>"$tmp/err" || { echo "mil_e2e.sh: $name failed:" >&2; tail -5 "$tmp/err" >&2; exit 1; }
  t1=$(date +%s.%N)
  local last
  last=$(grep '^{' "$tmp/out" | tail -n 1)
  echo "{\"name\": \"$name\", \"wall\": $(echo "$t1 - $t0" | bc), \"result\": $last}" >>"$tmp/runs.jsonl"
  printf '  %-28s %7.2f s  %s\n' "$name" "$(echo "$t1 - $t0" | bc)" "$(uptime | sed 's/.*load/load/')"
}

echo "data $(basename "$data"), $epochs epochs, 10 folds x 5-member ensemble, no early stopping, $rounds rounds"
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-), $(nproc) cores; $(uptime | sed 's/.*load/load/')"
for r in $(seq 1 "$rounds"); do
  echo "round $r"
  for n in $threads; do
    run "ours/$n/$r" "$ours" --data "$data" --no-early-stopping --epochs "$epochs" --threads "$n" --json
    run "hflayers/$n/$r" "$py" "$here/mil_hflayers.py" --data "$data" --epochs "$epochs" --threads "$n"
    if [[ "$n" -gt 1 && "$intra" -eq 1 ]]; then
      run "hflayers-intra/$n/$r" "$py" "$here/mil_hflayers.py" --data "$data" --epochs "$epochs" --threads "$n" --workers 1
    fi
  done
done

"$py" - "$tmp/runs.jsonl" "$threads" <<'EOF'
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
def get(kind, n):
    return [r for r in runs if r["name"].startswith(f"{kind}/{n}/")]
print()
print("| threads | hopfield-mil s | hflayers s (N procs x 1 thread) | hflayers s (1 proc x N threads) | ratio ours/hflayers | AUC ours | AUC hflayers |")
print("|---|---|---|---|---|---|---|")
for n in sys.argv[2].split():
    o, h, hi = get("ours", n), get("hflayers", n), get("hflayers-intra", n)
    ratios = []
    for i in range(len(o)):
        best = min([h[i]["wall"]] + ([hi[i]["wall"]] if hi else []))
        ratios.append(o[i]["wall"] / best)
    med = lambda rs, k="wall": statistics.median(r[k] for r in rs)
    auc = lambda rs: statistics.mean(r["result"]["auc_mean"] for r in rs)
    intra = f"{med(hi):.1f}" if hi else "-"
    hauc = auc(h + hi)
    print(f"| {n} | {med(o):.1f} | {med(h):.1f} | {intra} | {statistics.median(ratios):.3f} "
          f"(rounds: {', '.join(f'{x:.3f}' for x in ratios)}) | {auc(o):.3f} | {hauc:.3f} |")
EOF
