#!/bin/sh
# Runs bench/hopfield_bench (C++) and bench/hopfield_torch.py (PyTorch) on the same workloads and thread
# count, one workload at a time and interleaved (so both see the same machine load), and prints
# ratio = C++ ms / PyTorch ms per workload (< 0.5 is the target).
#   bench/compare.sh BUILD_DIR [THREADS] [WORKLOADS_JSON]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:?usage: compare.sh BUILD_DIR [THREADS] [WORKLOADS_JSON]}
threads=${2:-1}
workloads=${3:-$here/../../shared/bench/workloads.json}
# Debian's python3-torch lives in /usr/bin/python3 (a pyenv python3 earlier on PATH may lack it).
py=${PYTHON:-$( [ -x /usr/bin/python3 ] && echo /usr/bin/python3 || echo python3 )}
names=$(python3 -c "import json,sys; print(' '.join(w['name'] for w in json.load(open(sys.argv[1]))['workloads']))" "$workloads")
printf '%-26s %10s %10s %7s\n' workload cpp_ms torch_ms ratio
for n in $names; do
  c=$("$build/bench/hopfield_bench" --workloads "$workloads" --threads "$threads" --only "$n")
  t=$("$py" "$here/hopfield_torch.py" --workloads "$workloads" --threads "$threads" --only "$n")
  python3 - "$c" "$t" <<'PY'
import json, sys
c, t = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f"{c['workload']:<26} {c['ms']:10.2f} {t['ms']:10.2f} {c['ms'] / t['ms']:7.2f}   rss {c['peak_rss_mb']:.0f} / {t['peak_rss_mb']:.0f} MB")
PY
done
