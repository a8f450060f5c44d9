#!/usr/bin/env python3
"""Compare hopfield-uci's table with the SVM / random-forest baselines (bench/uci_baselines.py).

Usage:
  /usr/bin/python3 bench/uci_compare.py runs/uci/uci_results.csv runs/uci/baselines.csv [more_baselines.csv ...]

Prints, over the datasets present in both tables: the mean test accuracy of each model, on how many
datasets hopfield-uci is better / equal / worse than each baseline, and the mean rank (1 = best; ties
share the average rank).
"""
import csv
import sys


def read(path):
    with open(path, newline="") as f:
        return {r["dataset"]: r for r in csv.DictReader(f)}


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    ours = read(sys.argv[1])
    base = {}
    for p in sys.argv[2:]:
        base.update(read(p))
    names = sorted(n for n in ours if n in base)
    if not names:
        print("no dataset is in both tables", file=sys.stderr)
        return 1
    acc = {"hopfield": [float(ours[n]["accuracy_mean"]) for n in names],
           "svm": [float(base[n]["svm_accuracy"]) for n in names],
           "rf": [float(base[n]["rf_accuracy"]) for n in names]}
    ranks = {m: 0.0 for m in acc}
    for i in range(len(names)):
        vals = {m: acc[m][i] for m in acc}
        for m in acc:
            better = sum(1 for o in acc if vals[o] > vals[m])
            equal = sum(1 for o in acc if vals[o] == vals[m])
            ranks[m] += better + (equal + 1) / 2.0
    print("%d datasets" % len(names))
    for m in acc:
        print("  %-9s mean accuracy %.4f  mean rank %.2f" % (m, sum(acc[m]) / len(names), ranks[m] / len(names)))
    for b in ("svm", "rf"):
        w = sum(1 for x, y in zip(acc["hopfield"], acc[b]) if x > y)
        t = sum(1 for x, y in zip(acc["hopfield"], acc[b]) if x == y)
        print("  hopfield vs %-3s: better on %d, equal on %d, worse on %d" % (b, w, t, len(names) - w - t))
    return 0


if __name__ == "__main__":
    sys.exit(main())
