#!/usr/bin/env bash
# Speed-up of the programs under mpirun on this machine: 1 process against 2 ranks (1 thread each), and as a
# control two independent 1-process runs at once (what the machine gives two processes: on an idle 2-core
# machine each takes as long as one alone; when other work holds the cores, longer).
#   bench/mpi_speedup.sh [BUILD_DIR [repertoire|mil|uci|all]]   (README, "Running on several machines")
#   bench/mpi_speedup.sh build repertoire    issue 19's acceptance figure alone: about 1 minute on an idle machine
#                                            (all: about 5 minutes, hopfield-uci takes most)
# hopfield-repertoire (data-parallel over the repertoires of each step): seconds per training epoch (epochs 2..,
# from metrics.csv; epoch 1 also holds the k-mer initialisation and the first reading of every repertoire),
# median over the epochs; and the CPU seconds (user + sys) of each rank over the whole run (k-mer screen and
# evaluation included, which every rank does whole; a rank waiting in an all-reduce spins and counts as busy).
# hopfield-mil (folds) and hopfield-uci --data (members): wall time of the whole run.
set -euo pipefail
build=${1:-build} which=${2:-all}
case "$which" in repertoire | mil | uci | all) ;; *) echo "usage: $0 [BUILD_DIR [repertoire|mil|uci|all]]" >&2; exit 2 ;; esac
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

# cpu FILE PROGRAM ARGS...: runs PROGRAM, its CPU seconds (user + sys) into FILE.<rank> (one file per rank).
cpu() { local f=$1; shift; /usr/bin/time -f "%U %S" -o "$f.${OMPI_COMM_WORLD_RANK:-0}" "$@"; }
cpus() { for f in "$1".*; do awk '{ printf "%.1f ", $1 + $2 }' "$f"; done; }
export -f cpu
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ "$which" = repertoire ] || [ "$which" = all ]; then
rep=(--only-fold 1 --epochs 8 --threads 1 --json)
cpu "$tmp/r1.cpu" "$bin/hopfield-repertoire" "${rep[@]}" --out "$tmp/r1" >/dev/null 2>&1
mpirun -n 2 bash -c 'cpu "$0" "$@"' "$tmp/r2.cpu" "$bin/hopfield-repertoire" "${rep[@]}" --out "$tmp/r2" >/dev/null 2>&1
"$bin/hopfield-repertoire" "${rep[@]}" --out "$tmp/c1" >/dev/null 2>&1 &
"$bin/hopfield-repertoire" "${rep[@]}" --out "$tmp/c2" >/dev/null 2>&1
wait
r1=$(median_epoch "$tmp/r1/metrics.csv") r2=$(median_epoch "$tmp/r2/metrics.csv") c=$(median_epoch "$tmp/c1/metrics.csv")
echo "hopfield-repertoire ${rep[*]}: s/epoch 1 rank $r1, 2 ranks $r2 (speed-up $(ratio "$r1" "$r2")x); two 1-rank runs at once: $c each ($(ratio "$c" "$r1")x one alone)"
echo "  CPU seconds of the whole run per rank: 1 rank $(cpus "$tmp/r1.cpu"); 2 ranks $(cpus "$tmp/r2.cpu")"
auc() { grep -o '"auc_mean": *[0-9.]*' "$1/results.json" | grep -o '[0-9.]*$'; }
echo "  AUC 1 rank $(auc "$tmp/r1"), 2 ranks $(auc "$tmp/r2")"
fi

if [ "$which" = mil ] || [ "$which" = all ]; then
mil=(--synthetic-bags 200 --folds 4 --epochs 60 --no-early-stopping --ensemble 1 --threads 1 --json)
m1=$(wall "$bin/hopfield-mil" "${mil[@]}")
m2=$(wall mpirun -n 2 "$bin/hopfield-mil" "${mil[@]}")
mc=$(wall bash -c "'$bin/hopfield-mil' ${mil[*]} & '$bin/hopfield-mil' ${mil[*]}; wait")
echo "hopfield-mil ${mil[*]}: 1 rank $m1 s, 2 ranks $m2 s (speed-up $(ratio "$m1" "$m2")x); two 1-rank runs at once: $mc s"
fi

if [ "$which" = uci ] || [ "$which" = all ]; then
uci=(--data "$data/uci121/breast-cancer-wisc" --epochs 10 --threads 1 --json)
u1=$(wall "$bin/hopfield-uci" "${uci[@]}")
u2=$(wall mpirun -n 2 "$bin/hopfield-uci" "${uci[@]}")
uc=$(wall bash -c "'$bin/hopfield-uci' ${uci[*]} & '$bin/hopfield-uci' ${uci[*]}; wait")
echo "hopfield-uci ${uci[*]}: 1 rank $u1 s, 2 ranks $u2 s (speed-up $(ratio "$u1" "$u2")x); two 1-rank runs at once: $uc s"
fi
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
