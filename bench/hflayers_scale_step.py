"""One training step of the reference hflayers.Hopfield (forward, loss mean(y^2), backward, Adam step) on
workloads with an optional `stored_length` (../shared/bench/workloads-scale.json): stored and
pattern-projection input (batch, stored_length, input_size), state input (batch, length, input_size), as
bench/hopfield_bench.cpp does. hflayers is the real package from ../shared/reference/hflayers (imported,
not re-implemented); its association is dense, so memory grows with length x stored_length.

One JSON line per workload: {"workload", "threads", "torch_ms", "peak_rss_mb"}, or, when the step does not
fit under --max-gb of address space (an allocation fails instead of the machine swapping or the OOM killer
stepping in), {"workload", "threads", "error": "out of memory ...", "peak_rss_mb"}.

usage: /usr/bin/python3 bench/hflayers_scale_step.py [--threads N] [--only NAME] [--workloads FILE]
       [--hflayers DIR] [--warmup K] [--max-gb G]
Run one workload per process (--only) so that peak_rss_mb is that workload's.
"""
import argparse, json, os, resource, statistics, sys, time

here = os.path.dirname(os.path.abspath(__file__))
shared = os.path.join(here, "..", "..", "shared")
ap = argparse.ArgumentParser()
ap.add_argument("--threads", type=int, default=1)
ap.add_argument("--only", default=None)
ap.add_argument("--workloads", default=os.path.join(shared, "bench", "workloads-scale.json"))
ap.add_argument("--hflayers", default=os.path.join(shared, "reference", "hflayers"))
ap.add_argument("--warmup", type=int, default=0)
ap.add_argument("--max-gb", type=float, default=16.0)
a = ap.parse_args()
sys.path.insert(0, a.hflayers)
import torch  # noqa: E402
torch.set_num_threads(a.threads)
from hflayers import Hopfield  # noqa: E402


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run(w):
    if w["module"] != "Hopfield":
        raise SystemExit(f"workload {w['name']}: only Hopfield workloads are supported here")
    torch.manual_seed(0)
    m = Hopfield(input_size=w["input_size"], hidden_size=w["hidden_size"], num_heads=w["num_heads"],
                 batch_first=True, dropout=0.0, update_steps_max=w.get("update_steps_max", 0))
    stored = torch.randn(w["batch"], w.get("stored_length", w["length"]), w["input_size"])
    state = torch.randn(w["batch"], w["length"], w["input_size"])
    opt = torch.optim.Adam(m.parameters(), lr=1e-3)

    def step():
        opt.zero_grad()
        m((stored, state, stored)).square().mean().backward()
        opt.step()

    for _ in range(a.warmup):
        step()
    ts = []
    for _ in range(w.get("reps", 10)):
        t = time.perf_counter()
        step()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts) * 1e3


limit = int(a.max_gb * (1 << 30))
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
for w in json.load(open(a.workloads))["workloads"]:
    if a.only and w["name"] != a.only:
        continue
    out = {"workload": w["name"], "threads": a.threads}
    try:
        out["torch_ms"] = round(run(w), 3)
    except (RuntimeError, MemoryError) as e:
        out["error"] = f"out of memory under {a.max_gb:g} GB of address space: {str(e).splitlines()[0][:160]}"
    out["peak_rss_mb"] = round(peak_rss_mb(), 1)
    print(json.dumps(out), flush=True)
