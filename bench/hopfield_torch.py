#!/usr/bin/python3
"""PyTorch baseline for bench/hopfield_bench: the same workloads (../shared/bench/workloads.json) as an
equivalent attention-based implementation - three input LayerNorms, nn.MultiheadAttention-style q/k/v
projections, softmax(beta q k^T) per head (plus the update steps xi <- softmax(beta (xi k) k^T)), output
projection - trained one step at a time in float32: forward, loss mean(y^2), backward, torch.optim.Adam.
Prints one JSON line per workload: {"workload", "threads", "ms" (median step), "peak_rss_mb"}.

    python3 bench/hopfield_torch.py [--workloads FILE] [--threads N] [--only NAME]
"""
import argparse
import json
import math
import os
import resource
import statistics
import time

import torch
import torch.nn as nn


class Association(nn.Module):
    def __init__(self, d, hd, heads, out, steps):
        super().__init__()
        self.h, self.hd, self.steps = heads, hd, steps
        self.beta = 1.0 / math.sqrt(hd)
        self.norm_stored, self.norm_state, self.norm_proj = nn.LayerNorm(d), nn.LayerNorm(d), nn.LayerNorm(d)
        self.in_proj_weight = nn.Parameter(torch.randn(3 * heads * hd, d) * 0.02)
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * heads * hd))
        self.out_proj = nn.Linear(heads * hd, out)

    def forward(self, stored, state, proj):
        y, r, x = self.norm_stored(stored), self.norm_state(state), self.norm_proj(proj)
        w, b, hh = self.in_proj_weight, self.in_proj_bias, self.h * self.hd
        q = nn.functional.linear(r, w[:hh], b[:hh])
        k = nn.functional.linear(y, w[hh:2 * hh], b[hh:2 * hh])
        v = nn.functional.linear(x, w[2 * hh:], b[2 * hh:])
        n = max(q.shape[0], k.shape[0])
        split = lambda t: t.reshape(t.shape[0], t.shape[1], self.h, self.hd).transpose(1, 2)  # (N, H, ., hd)
        q, k, v = split(q), split(k), split(v)
        xi = torch.softmax(self.beta * q @ k.transpose(-1, -2), dim=-1)
        for _ in range(self.steps):
            xi = torch.softmax(self.beta * (xi @ k) @ k.transpose(-1, -2), dim=-1)
        o = (xi @ v).transpose(1, 2).reshape(n, -1, hh)
        return self.out_proj(o)


class Model(nn.Module):
    def __init__(self, w):
        super().__init__()
        d, heads = w["input_size"], w.get("num_heads", 1)
        hd = w.get("hidden_size", d // heads)
        self.kind, q = w["module"], w.get("quantity", 1)
        self.core = Association(d, hd, heads, d, w.get("update_steps_max", 0))
        if self.kind == "HopfieldPooling":
            self.patterns = nn.Parameter(torch.randn(1, q, d) * 0.02)
        elif self.kind == "HopfieldLayer":
            self.patterns = nn.Parameter(torch.randn(1, q, d) * 0.02)

    def forward(self, x):
        if self.kind == "HopfieldPooling":  # shared state patterns, broadcast (not copied) over the batch
            return self.core(x, self.patterns, x).flatten(1)
        if self.kind == "HopfieldLayer":  # shared stored patterns
            return self.core(self.patterns, x, self.patterns)
        return self.core(x, x, x)


def default_workloads():
    here = os.path.dirname(os.path.abspath(__file__))
    return os.path.normpath(os.path.join(here, "..", "..", "shared", "bench", "workloads.json"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--workloads", default=default_workloads())
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--only", default="")
    ap.add_argument("--warmup", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    with open(a.workloads) as f:
        workloads = json.load(f)["workloads"]
    for w in workloads:
        if a.only and w["name"] != a.only:
            continue
        model = Model(w)
        x = torch.randn(w["batch"], w["length"], w["input_size"])
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        times = []
        for i in range(a.warmup + w.get("reps", 10)):
            t0 = time.perf_counter()
            opt.zero_grad()
            y = model(x)
            loss = (y * y).mean()
            loss.backward()
            opt.step()
            if i >= a.warmup:
                times.append((time.perf_counter() - t0) * 1000.0)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
        print(json.dumps({"workload": w["name"], "threads": a.threads, "ms": statistics.median(times),
                          "peak_rss_mb": rss}), flush=True)


if __name__ == "__main__":
    main()
