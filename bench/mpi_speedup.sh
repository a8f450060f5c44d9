#!/usr/bin/env bash
# Speed-up of the programs under mpirun on this machine: 1 process against 2 ranks (1 thread each), and as a
# control two independent 1-process runs at once (what the machine gives two processes: on an idle 2-core
# machine each takes as long as one alone; when other work holds the cores, longer).
#   bench/mpi_speedup.sh [BUILD_DIR]        (README, "Running on several machines")
# hopfield-repertoire: seconds per training epoch (epochs 2.., from metrics.csv; epoch 1 also holds the k-mer
# initialisation and the first reading of every repertoire), median over the epochs. hopfield-mil (folds) and
# hopfield-uci --data (members): wall time of the whole run.
set -euo pipefail
build=${1:-build}
bin=$(cd "$build/examples" && pwd)
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl=self,vader OMPI_MCA_oob_tcp_if_include=lo
export OMPI_MCA_rmaps_base_oversubscribe=1 OMPI_MCA_hwloc_base_binding_policy=none OPENBLAS_NUM_THREADS=1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
data=${HOPFIELD_DATA_DIR:-$(cd "$(dirname "$0")/../.." && pwd)/shared/data}

median_epoch() {  # median seconds per epoch over epochs >= 2 of a metrics.csv
  awk -F, 'NR > 1 { if ($2 >= 2) print $5 - prev; prev = $5 }' "$1" | sort -g |
    awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'
}
wall() { local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null 2>&1; t1=$(date +%s.%N); awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
rep=(--only-fold 1 --epochs 8 --threads 1 --json)
"$bin/hopfield-repertoire" "${rep[@]}" --out "$tmp/r1" >/dev/null 2>&1
mpirun -n 2 "$bin/hopfield-repertoire" "${rep[@]}" --out "$tmp/r2" >/dev/null 2>&1
"$bin/hopfield-repertoire" "${rep[@]}" --out "$tmp/c1" >/dev/null 2>&1 &
"$bin/hopfield-repertoire" "${rep[@]}" --out "$tmp/c2" >/dev/null 2>&1
wait
r1=$(median_epoch "$tmp/r1/metrics.csv") r2=$(median_epoch "$tmp/r2/metrics.csv") c=$(median_epoch "$tmp/c1/metrics.csv")
echo "hopfield-repertoire ${rep[*]}: s/epoch 1 rank $r1, 2 ranks $r2 (speed-up $(ratio "$r1" "$r2")x); two 1-rank runs at once: $c each ($(ratio "$c" "$r1")x one alone)"

mil=(--synthetic-bags 200 --folds 4 --epochs 60 --no-early-stopping --ensemble 1 --threads 1 --json)
m1=$(wall "$bin/hopfield-mil" "${mil[@]}")
m2=$(wall mpirun -n 2 "$bin/hopfield-mil" "${mil[@]}")
mc=$(wall bash -c "'$bin/hopfield-mil' ${mil[*]} & '$bin/hopfield-mil' ${mil[*]}; wait")
echo "hopfield-mil ${mil[*]}: 1 rank $m1 s, 2 ranks $m2 s (speed-up $(ratio "$m1" "$m2")x); two 1-rank runs at once: $mc s"

uci=(--data "$data/uci121/breast-cancer-wisc" --epochs 10 --threads 1 --json)
u1=$(wall "$bin/hopfield-uci" "${uci[@]}")
u2=$(wall mpirun -n 2 "$bin/hopfield-uci" "${uci[@]}")
uc=$(wall bash -c "'$bin/hopfield-uci' ${uci[*]} & '$bin/hopfield-uci' ${uci[*]}; wait")
echo "hopfield-uci ${uci[*]}: 1 rank $u1 s, 2 ranks $u2 s (speed-up $(ratio "$u1" "$u2")x); two 1-rank runs at once: $uc s"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
