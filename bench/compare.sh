#!/bin/sh
# Ours against the reference package itself: bench/hopfield_bench (C++) and ../shared/bench/hflayers_step.py
# (the real hflayers from ../shared/reference/hflayers) on the same workloads and thread count, one workload
# at a time, each side in its own fresh process, interleaved (ours, hflayers, ours, hflayers, ...) for
# ROUNDS rounds, so both see the same machine. Prints per workload and thread count the median step times,
# the median of the per-round ratios ours / hflayers (< 0.5 is the target), peak RSS of both sides and our
# GEMM rate against a plain 2048^3 sgemm.
#   bench/compare.sh BUILD_DIR [THREADS...]          (default threads: 1 2)
#   env: ROUNDS (default 3), WORKLOADS (default ../shared/bench/workloads.json), ONLY (one workload name)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:?usage: compare.sh BUILD_DIR [THREADS...]}
shift
threads=${*:-1 2}
shared=$(cd "$here/../../shared" 2>/dev/null && pwd || true)
workloads=${WORKLOADS:-$shared/bench/workloads.json}
anchor=${ANCHOR:-$shared/bench/hflayers_step.py}
[ -f "$anchor" ] || { echo "compare.sh: no $anchor (the reference hflayers step timer)" >&2; exit 2; }
# Debian's python3-torch lives in /usr/bin/python3 (a pyenv python3 earlier on PATH may lack it).
py=${PYTHON:-$( [ -x /usr/bin/python3 ] && echo /usr/bin/python3 || echo python3 )}
exec "$py" "$here/compare.py" --bench "$build/bench/hopfield_bench" --anchor "$anchor" --workloads "$workloads" \
  --rounds "${ROUNDS:-3}" --threads $threads ${ONLY:+--only "$ONLY"}
