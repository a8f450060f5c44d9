#!/usr/bin/env python3
"""Score hopfield-uci ensembles offline from saved runs, without training anything again.

hopfield-uci --out DIR writes, per dataset, split and grid candidate, the validation accuracy
(DIR/uci_trials.csv) and the class probabilities on every test row (DIR/uci_test_probabilities.csv). This
script reads one or more such DIRs, joins the candidates of a dataset in the order the DIRs are given (so a
run of the 12 trained candidates followed by a `--model retrieval --no-grid` run has the default's 13
candidates in the default's order), applies hopfield-uci's --ensemble rules and writes a table in
hopfield-uci's uci_results.csv format for bench/uci_compare.py.

Rules (as uci_ensemble_members in hopfield/layers/models/uci_ensemble.cpp):
  se   average the candidates whose validation accuracy is within one standard error,
       sqrt(p (1 - p) / n_val), of the best one p (n_val: the split's validation rows, from the data root)
  all  average every candidate

The files hold 6 significant digits, so a test row whose two best classes are closer than that can come out
differently from the program's own run; on the datasets checked the accuracies were identical.

Usage:
  /usr/bin/python3 bench/uci_rescore.py ../shared/data/uci121 runs/uci runs/uci_retrieval --rule se --out runs/se.csv
"""
import argparse
import collections
import csv
import math
import os
import sys


def read_run(d):
    """{dataset: {split: [(val_accuracy, [[probs] per test row], [labels])] per candidate}}"""
    val = collections.defaultdict(lambda: collections.defaultdict(list))
    with open(os.path.join(d, "uci_trials.csv"), newline="") as f:
        for r in csv.DictReader(f):
            val[r["dataset"]][int(r["split"])].append(float(r["val_accuracy"]))
    probs = collections.defaultdict(lambda: collections.defaultdict(lambda: collections.defaultdict(list)))
    labels = collections.defaultdict(lambda: collections.defaultdict(dict))
    with open(os.path.join(d, "uci_test_probabilities.csv")) as f:
        next(f)
        for line in f:
            ds, sp, g, row, lab, p = line.rstrip("\n").split(",")
            probs[ds][int(sp)][int(g)].append([float(v) for v in p.split(";")])
            labels[ds][int(sp)][int(row)] = int(lab)
    out = {}
    for ds in val:
        out[ds] = {}
        for sp in val[ds]:
            y = [labels[ds][sp][i] for i in range(len(labels[ds][sp]))]
            out[ds][sp] = [(v, probs[ds][sp][g], y) for g, v in enumerate(val[ds][sp])]
    return out


def n_validation(root, ds, split):
    with open(os.path.join(root, ds, "validation_folds_py.dat")) as f:
        return sum(1 for line in f if line.strip() and int(line.split(",")[split - 1]) == 1)


def rescore(cands, rule, n_val):
    best = max(v for v, _, _ in cands)
    if rule == "se":
        se = math.sqrt(best * (1 - best) / n_val)
        keep = [c for c in cands if c[0] >= best - se - 1e-12]
    else:
        keep = cands
    y = cands[0][2]
    right = 0
    for i, label in enumerate(y):
        total = [sum(c[1][i][k] for c in keep) for k in range(len(keep[0][1][i]))]
        right += max(range(len(total)), key=lambda k: (total[k], -k)) == label
    return right / len(y), len(keep)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("root", help="the uci121 data root (for the validation row counts)")
    ap.add_argument("runs", nargs="+", help="hopfield-uci --out directories, candidates joined in this order")
    ap.add_argument("--rule", choices=("se", "all"), default="se")
    ap.add_argument("--out", default="uci_rescored.csv")
    a = ap.parse_args()
    runs = [read_run(d) for d in a.runs]
    names = sorted(set.intersection(*[set(r) for r in runs]))
    if not names:
        print("no dataset is in every run", file=sys.stderr)
        return 1
    mean = 0.0
    with open(a.out, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["dataset", "n", "d", "classes", "accuracy_mean", "seconds", "members_mean"])
        for ds in names:
            accs, kept = [], []
            for sp in sorted(runs[0][ds]):
                cands = [c for r in runs for c in r[ds][sp]]
                acc, k = rescore(cands, a.rule, n_validation(a.root, ds, sp))
                accs.append(acc)
                kept.append(k)
            m = sum(accs) / len(accs)
            mean += m / len(names)
            w.writerow([ds, "", "", "", m, "", sum(kept) / len(kept)])
    print("%d datasets, rule %s: mean accuracy %.4f, table in %s" % (len(names), a.rule, mean, a.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
