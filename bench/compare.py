"""Interleaved comparison of bench/hopfield_bench against the reference hflayers step timer; see compare.sh."""
import argparse, json, os, platform, statistics, subprocess, sys

ap = argparse.ArgumentParser()
ap.add_argument("--bench", required=True)
ap.add_argument("--anchor", required=True)
ap.add_argument("--workloads", required=True)
ap.add_argument("--rounds", type=int, default=3)
ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
ap.add_argument("--only", default=None)
a = ap.parse_args()

def run(cmd, threads):
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads))
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout.strip().splitlines()
    return json.loads(out[-1])

def peak_rss_mb(cmd, threads):
    """Peak RSS of a whole process (GNU time's maximum resident set), for the anchor side."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads))
    r = subprocess.run(["/usr/bin/time", "-f", "%M"] + cmd, capture_output=True, text=True, env=env)
    try:
        return int(r.stderr.strip().splitlines()[-1]) / 1024.0
    except (ValueError, IndexError):
        return float("nan")

cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
core = subprocess.run([a.bench, "--help"], capture_output=True, text=True, env=dict(os.environ, OPENBLAS_VERBOSE="2"))
core = core.stdout + core.stderr
core = next((l.split(":", 1)[1].strip() for l in core.splitlines() if l.startswith("Core:")), "?")
print(f"# CPU: {cpu}; OpenBLAS core: {core}; rounds: {a.rounds}; anchor: {a.anchor}")
names = [w["name"] for w in json.load(open(a.workloads))["workloads"]]
if a.only:
    names = [n for n in names if n == a.only]
print(f"{'workload':<26} {'thr':>3} {'ours_ms':>9} {'hflayers_ms':>11} {'ratio':>6}  {'rss_ours':>8} {'rss_hfl':>8}  {'gemm_GF/s':>9} {'of_sgemm':>8}")
for t in a.threads:
    for n in names:
        ours, anchor, ratios, frac, gf = [], [], [], [], []
        ours_rss = 0.0
        for _ in range(a.rounds):
            c = run([a.bench, "--workloads", a.workloads, "--threads", str(t), "--only", n], t)
            h = run([sys.executable, a.anchor, "--workloads", a.workloads, "--threads", str(t), "--only", n], t)
            ours.append(c["ms"]); anchor.append(h["torch_ms"]); ratios.append(c["ms"] / h["torch_ms"])
            gf.append(c.get("gemm_gflops", 0.0)); frac.append(c.get("gemm_fraction", 0.0))
            ours_rss = max(ours_rss, c["peak_rss_mb"])
        hrss = peak_rss_mb([sys.executable, a.anchor, "--workloads", a.workloads, "--threads", str(t), "--only", n], t)
        print(f"{n:<26} {t:>3} {statistics.median(ours):9.2f} {statistics.median(anchor):11.2f} "
              f"{statistics.median(ratios):6.2f}  {ours_rss:8.0f} {hrss:8.0f}  {statistics.median(gf):9.1f} "
              f"{statistics.median(frac):8.2f}", flush=True)
