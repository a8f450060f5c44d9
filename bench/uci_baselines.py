#!/usr/bin/env python3
"""Baselines for hopfield-uci: an RBF SVM and a random forest on the same UCI splits.

For every dataset folder (uci121 layout: <name>_py.dat, labels_py.dat, folds_py.dat,
validation_folds_py.dat) and each of its 4 splits, the features are standardised with the statistics of
the split's training rows, each hyperparameter setting of a small grid is fitted on the training rows and
scored on the split's validation rows, and the best setting's test accuracy is recorded (as hopfield-uci
does: nothing is chosen on test rows). Output: one CSV row per dataset with the mean test accuracy of
both models over the 4 splits.

Usage (Debian's python3-sklearn: apt-get install -y python3-sklearn):
  /usr/bin/python3 bench/uci_baselines.py ../shared/data/uci121 --out uci_baselines.csv [--max-n 1000]
"""
import argparse
import csv
import os
import sys
import time

import numpy as np
from sklearn.ensemble import RandomForestClassifier
from sklearn.svm import SVC

SVM_GRID = [dict(C=c, gamma=g) for c in (0.1, 1.0, 10.0, 100.0) for g in ("scale", 0.01, 0.1)]
RF_GRID = [dict(n_estimators=300, max_features=m, min_samples_leaf=l) for m in ("sqrt", 0.5) for l in (1, 3)]


def load(folder):
    name = os.path.basename(os.path.normpath(folder))
    x = np.loadtxt(os.path.join(folder, name + "_py.dat"), delimiter=",", ndmin=2)
    y = np.loadtxt(os.path.join(folder, "labels_py.dat"), dtype=np.int64, ndmin=1)
    test = np.loadtxt(os.path.join(folder, "folds_py.dat"), delimiter=",", dtype=np.int64, ndmin=2)
    val = np.loadtxt(os.path.join(folder, "validation_folds_py.dat"), delimiter=",", dtype=np.int64, ndmin=2)
    return name, x, y, test, val


def tuned_accuracy(make, grid, xtr, ytr, xva, yva, xte, yte):
    best, best_acc = None, -1.0
    for params in grid:
        m = make(**params).fit(xtr, ytr)
        acc = (m.predict(xva) == yva).mean()
        if acc > best_acc:
            best, best_acc = params, acc
    return (make(**best).fit(xtr, ytr).predict(xte) == yte).mean()


def run(folder, seed):
    name, x, y, test, val = load(folder)
    svm_acc, rf_acc = [], []
    for k in range(4):
        te, va = test[:, k] == 1, val[:, k] == 1
        tr = ~te & ~va
        mean, sd = x[tr].mean(0), x[tr].std(0)
        # As the C++ standardiser (datasets/standardize.cpp): a constant column can come out with a
        # rounding-level sd (optical split 1: 1e-15), which would blow its test values up to 1e16.
        sd[sd <= 1e-12] = 1.0
        z = (x - mean) / sd
        args = (z[tr], y[tr], z[va], y[va], z[te], y[te])
        svm_acc.append(tuned_accuracy(lambda **p: SVC(kernel="rbf", **p), SVM_GRID, *args))
        rf_acc.append(tuned_accuracy(lambda **p: RandomForestClassifier(random_state=seed, n_jobs=1, **p), RF_GRID, *args))
    return name, x.shape[0], x.shape[1], int(y.max()) + 1, float(np.mean(svm_acc)), float(np.mean(rf_acc))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("root", help="directory holding the dataset folders (e.g. ../shared/data/uci121)")
    ap.add_argument("--out", default="uci_baselines.csv")
    ap.add_argument("--max-n", type=int, default=0, help="skip datasets with more samples (0 = none)")
    ap.add_argument("--only", nargs="*", help="dataset names to run (default: all)")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    names = sorted(d for d in os.listdir(a.root) if os.path.isfile(os.path.join(a.root, d, d + "_py.dat")))
    if a.only:
        names = [n for n in names if n in set(a.only)]
    rows = []
    with open(a.out, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["dataset", "n", "d", "classes", "svm_accuracy", "rf_accuracy", "seconds"])
        for n in names:
            folder = os.path.join(a.root, n)
            if a.max_n:
                with open(os.path.join(folder, "labels_py.dat")) as lf:
                    if sum(1 for _ in lf) > a.max_n:
                        continue
            t0 = time.time()
            r = run(folder, a.seed)
            secs = time.time() - t0
            w.writerow(list(r) + [round(secs, 2)])
            f.flush()
            rows.append(r)
            print("%-40s svm %.4f  rf %.4f  (%.1f s)" % (r[0], r[4], r[5], secs), flush=True)
    if rows:
        print("%d datasets: mean accuracy svm %.4f  rf %.4f" %
              (len(rows), np.mean([r[4] for r in rows]), np.mean([r[5] for r in rows])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
