#!/usr/bin/env python3
"""PyTorch cross-check of examples/hopfield_repertoire.cpp (its model: examples/repertoire_net.h) on a DeepRC-layout repertoire folder.

Encodes sequences exactly like datasets/repertoire.cpp (encode_into): 20 one-hot channels over
ACDEFGHIKLMNPQRSTVWY, then with v_j = |0.5 - (1 - j/(L-1))| * 2 channel 20 = v_j on the first ceil(L/2)
positions, channel 21 = v_j on the rest, channel 22 = 1 - v_j. Model: Conv1d(23, F, K) -> SELU -> max over
the valid windows -> attention pooling over the sequences of a repertoire -> Linear(F, 1); BCE with logits;
Adam. Training: a random subsample per repertoire and epoch; attention over it without grad; only the top
`--keep` fraction goes through forward/backward (DeepRC). Evaluation on all sequences. 5-fold stratified CV.

Attention variants (--attention):
  hopfield  logit_s = beta * p . LN(h_s) (the C++ program's default: static HopfieldPooling, LayerNorm keys)
  raw       logit_s = beta * p . h_s      (raw keys)
  deeprc    logit_s = w2 . selu(W1 h_s + b1) + b2 (DeepRC's attention network)
Values: LN(h_s) for hopfield (as the C++ pattern-projection LayerNorm), h_s otherwise.

Other diagnostics: --mix N (training pseudo-repertoires pooled from N same-class repertoires), --instance
(naive-MIL sequence classifier), --l1 (L1 on the conv), --kmer-init [--zero-rest] [--freeze-conv] (filters start
as detectors of the gapped 3-mers significantly enriched in the training fold, as the C++ program does).
Findings (repertoire-implanted, fold 1): every setting without --kmer-init memorises the training repertoires
(test AUC 0.4-0.7); --kmer-init --zero-rest --keep 1.0 --epochs 20 (deeprc attention): 5-fold 0.997.

Sanity modes: --sanity-filter (a hand-set filter detecting G,S,A at consecutive positions, no training),
--shuffle-labels (permuted labels: test AUC must stay near 0.5).

Usage: /usr/bin/python3 bench/repertoire_torch.py --data ../shared/data/repertoire-implanted [--only-fold 1]
"""
import argparse
import csv
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

AA = "ACDEFGHIKLMNPQRSTVWY"
A = 23


def position_value(j, L):
    if L == 1:
        return 1.0
    x = j / (L - 1)
    return abs(0.5 - (1.0 - x)) * 2.0


def encode(seqs):
    """(n, 23, Lmax) float32 as datasets/repertoire.cpp, zero after each end; lengths (n,)."""
    lmax = max(len(s) for s in seqs)
    x = np.zeros((len(seqs), lmax, A), dtype=np.float32)
    lengths = np.array([len(s) for s in seqs], dtype=np.int64)
    idx = {c: i for i, c in enumerate(AA)}
    for i, s in enumerate(seqs):
        L = len(s)
        half = (L + 1) // 2
        for j, ch in enumerate(s):
            x[i, j, idx[ch]] = 1.0
            v = position_value(j, L)
            x[i, j, 20 if j < half else 21] = v
            x[i, j, 22] = 1.0 - v
    return torch.from_numpy(x.transpose(0, 2, 1).copy()), torch.from_numpy(lengths)


def load(root):
    ids, labels = [], []
    with open(os.path.join(root, "metadata.tsv")) as f:
        rd = csv.DictReader(f, delimiter="\t")
        for row in rd:
            ids.append(row["ID"])
            labels.append(int(row["label"]))
    reps = []
    for i in ids:
        with open(os.path.join(root, "repertoires", i + ".tsv")) as f:
            rd = csv.DictReader(f, delimiter="\t")
            seqs = [r["amino_acid"] for r in rd if r["amino_acid"] and all(c in AA for c in r["amino_acid"])]
        x, l = encode(seqs)
        reps.append((seqs, x, l))
    return ids, np.array(labels), reps


def has_motif(s):
    if "GSA" in s:
        return True
    return any(s[k] == "K" and s[k + 2] == "Y" and s[k + 3] == "V" for k in range(len(s) - 3))


class Net(nn.Module):
    def __init__(self, args):
        super().__init__()
        self.K = args.kernel_size
        self.conv = nn.Conv1d(A, args.kernels, args.kernel_size)
        self.attention = args.attention
        self.beta = args.beta
        Fk = args.kernels
        if args.attention == "deeprc":
            self.att = nn.Sequential(nn.Linear(Fk, 32), nn.SELU(), nn.Linear(32, 1))
        else:
            self.p = nn.Parameter(torch.empty(Fk).uniform_(-1 / math.sqrt(Fk), 1 / math.sqrt(Fk)))
            self.ln_k = nn.LayerNorm(Fk) if args.attention == "hopfield" else None
            self.ln_v = nn.LayerNorm(Fk) if args.attention == "hopfield" else None
        self.out = nn.Linear(Fk, 1)
        if args.conv_std > 0:
            nn.init.normal_(self.conv.weight, 0.0, args.conv_std)
        if args.conv_bias != 0:
            nn.init.constant_(self.conv.bias, args.conv_bias)

    def embed(self, x, lengths):
        z = F.selu(self.conv(x))  # (n, F, Lo)
        Lo = z.shape[2]
        valid = torch.clamp(lengths - self.K + 1, min=1)
        mask = torch.arange(Lo)[None, :] >= valid[:, None]
        z = z.masked_fill(mask[:, None, :], float("-inf"))
        return z.max(dim=2).values

    def att_logits(self, h):
        if self.attention == "deeprc":
            return self.att(h).squeeze(-1)
        k = self.ln_k(h) if self.ln_k is not None else h
        return self.beta * (k @ self.p)

    def pool(self, h):
        a = torch.softmax(self.att_logits(h), dim=0)
        v = self.ln_v(h) if self.attention == "hopfield" else h
        return a @ v, a

    def forward(self, h):
        r, _ = self.pool(h)
        return self.out(r).squeeze(-1)


def embed_all(net, x, l, chunk=4096):
    return torch.cat([net.embed(x[i:i + chunk], l[i:i + chunk]) for i in range(0, x.shape[0], chunk)])


def auc(scores, y):
    scores, y = np.asarray(scores), np.asarray(y)
    pos, neg = scores[y == 1], scores[y == 0]
    return float(((pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()) / (len(pos) * len(neg)))


def stratified_folds(y, k, seed):
    rng = np.random.RandomState(seed)
    folds = [[] for _ in range(k)]
    for c in (0, 1):
        idx = np.where(y == c)[0]
        rng.shuffle(idx)
        for j, i in enumerate(idx):
            folds[j % k].append(int(i))
    return [sorted(f) for f in folds]


def evaluate(net, reps, rows):
    net.eval()
    out = []
    with torch.no_grad():
        for i in rows:
            _, x, l = reps[i]
            out.append(float(net(embed_all(net, x, l))))
    net.train()
    return out


def witness_stats(net, reps, rows, y):
    """Mean attention mass on motif sequences and fraction of motif sequences in the top 10%, positives."""
    mass, top = [], []
    with torch.no_grad():
        for i in rows:
            if y[i] != 1:
                continue
            seqs, x, l = reps[i]
            _, a = net.pool(embed_all(net, x, l))
            w = np.array([has_motif(s) for s in seqs])
            mass.append(float(a[torch.from_numpy(w)].sum()))
            k = max(1, int(0.1 * len(seqs)))
            t = torch.topk(a, k).indices.numpy()
            top.append(w[t].sum() / max(1, w.sum()))
    return np.mean(mass), np.mean(top)


SHAPES = ((0, 1, 2), (0, 1, 3), (0, 2, 3))  # tap offsets of the gapped 3-mer patterns


def enriched_patterns(reps, y, train, n):
    """Up to n gapped 3-mers (letters at SHAPES offsets) whose presence best separates the training
    repertoires (score = #positive repertoires holding it - #negative ones; training fold only), keeping only
    significant ones: one-sided Fisher exact p-value, Bonferroni-corrected over all patterns seen, < 0.05."""
    pos, neg = {}, {}
    for i in train:
        seen = set()
        for q in reps[i][0]:
            for sh in SHAPES:
                for p in range(len(q) - sh[2]):
                    seen.add((sh, q[p + sh[0]] + q[p + sh[1]] + q[p + sh[2]]))
        d = pos if y[i] == 1 else neg
        for key in seen:
            d[key] = d.get(key, 0) + 1
    npos = sum(1 for i in train if y[i] == 1)
    nneg = len(train) - npos
    keys = set(pos) | set(neg)
    ranked = sorted(keys, key=lambda k: -(pos.get(k, 0) - neg.get(k, 0)))[:n]
    return [(k, pos.get(k, 0) - neg.get(k, 0)) for k in ranked
            if fisher_p(pos.get(k, 0), neg.get(k, 0), npos, nneg) * len(keys) < 0.05]


def fisher_p(a, b, npos, nneg):
    """P(>= a of the a + b repertoires holding a pattern are positive) under random labels (hypergeometric)."""
    lc = lambda n, k: math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)
    m = a + b
    return sum(math.exp(lc(npos, k) + lc(nneg, m - k) - lc(npos + nneg, m)) for k in range(a, min(m, npos) + 1))


def kmer_init(net, patterns, K, zero_rest):
    """Filter 3j+o detects pattern j with its first tap at window offset (0, 3, 6)[o] (together the three
    offsets cover every start position of a sequence of length >= K + 3); +1 on the pattern's letters,
    bias -2.5 (fires only when all three letters match); the other filters keep their init, or with zero_rest
    start as zero weights (a constant output the gradient may grow from)."""
    with torch.no_grad():
        if zero_rest:
            net.conv.weight.zero_()
            net.conv.bias.fill_(-2.5)
        for j, ((sh, letters), _) in enumerate(patterns):
            for o, off in enumerate((0, 3, 6)):
                f = 3 * j + o
                if f >= net.conv.weight.shape[0] or off + sh[2] >= K:
                    continue
                net.conv.weight[f].zero_()
                for tap, ch in zip(sh, letters):
                    net.conv.weight[f, AA.index(ch), off + tap] = 1.0
                net.conv.bias[f] = -2.5


def run_fold(args, reps, y, train, test, fold_no):
    torch.manual_seed(args.seed * 7919 + fold_no)
    rng = np.random.RandomState(args.seed * 31 + fold_no)
    net = Net(args)
    if args.kmer_init:
        t = time.time()
        pats = enriched_patterns(reps, y, train, args.kernels // 3)
        kmer_init(net, pats, args.kernel_size, args.zero_rest)
        print(f"  fold {fold_no}: k-mer init ({time.time() - t:.1f} s), top patterns "
              + ", ".join(f"{sh}:{l}={sc}" for (sh, l), sc in pats[:4]), flush=True)
    if args.freeze_conv:
        net.conv.requires_grad_(False)
    opt = torch.optim.Adam([q for q in net.parameters() if q.requires_grad], lr=args.lr, weight_decay=args.weight_decay)
    t0 = time.time()
    pos = [i for i in train if y[i] == 1]
    neg = [i for i in train if y[i] == 0]
    for epoch in range(1, args.epochs + 1):
        rng.shuffle(pos)
        rng.shuffle(neg)
        order = [v for pair in zip(pos, neg) for v in pair] + pos[len(neg):] + neg[len(pos):]
        loss_sum = 0.0
        for b in range(0, len(order), args.batch_size):
            opt.zero_grad()
            batch = order[b:b + args.batch_size]
            for i in batch:
                if args.mix > 1:
                    # A pseudo-repertoire: subsample/mix sequences from each of `mix` training repertoires of
                    # i's class, so no repertoire-specific sequence set can be memorised.
                    same = pos if y[i] == 1 else neg
                    donors = [i] + list(rng.choice([j for j in same if j != i], args.mix - 1, replace=False))
                    xs_l, ls_l = [], []
                    for j in donors:
                        _, x, l = reps[j]
                        sub = rng.choice(x.shape[0], min(args.subsample // args.mix, x.shape[0]), replace=False)
                        xs_l.append(x[sub])
                        ls_l.append(l[sub])
                    lm = max(t.shape[2] for t in xs_l)
                    xs = torch.cat([F.pad(t, (0, lm - t.shape[2])) for t in xs_l])
                    ls = torch.cat(ls_l)
                else:
                    _, x, l = reps[i]
                    n = x.shape[0]
                    sub = rng.choice(n, min(args.subsample, n), replace=False)
                    xs, ls = x[sub], l[sub]
                if args.keep < 1.0:
                    with torch.no_grad():
                        logits = net.att_logits(net.embed(xs, ls))
                    k = max(1, int(math.ceil(args.keep * len(sub))))
                    top = torch.topk(logits, k).indices
                    xs, ls = xs[top], ls[top]
                z = net(net.embed(xs, ls))
                loss = F.binary_cross_entropy_with_logits(z, torch.tensor(float(y[i]))) / len(batch)
                if args.l1 > 0:
                    loss = loss + args.l1 * net.conv.weight.abs().sum() / len(batch)
                loss.backward()
                loss_sum += float(loss) * len(batch)
            if args.clip > 0:
                nn.utils.clip_grad_norm_(net.parameters(), args.clip)
            opt.step()
        if args.verbose and (epoch % args.eval_every == 0 or epoch == args.epochs):
            te = auc(evaluate(net, reps, test), y[test])
            mass, top = witness_stats(net, reps, test, y)
            print(f"  fold {fold_no} epoch {epoch} loss {loss_sum / len(order):.4f} test_auc {te:.4f} "
                  f"motif mass {mass:.4f} motif in top10% {top:.3f} ({time.time() - t0:.1f} s)", flush=True)
    te = auc(evaluate(net, reps, test), y[test])
    return te, time.time() - t0


def run_fold_instance(args, reps, y, train, test, fold_no):
    """Diagnostic: every training sequence labelled with its repertoire's label (naive MIL), conv -> SELU ->
    max -> Linear(F, 1) trained as a sequence classifier; a repertoire scores the mean of its top
    `--top-seq` sequence logits."""
    torch.manual_seed(args.seed * 7919 + fold_no)
    net = Net(args)
    head = nn.Linear(args.kernels, 1)
    params = list(net.conv.parameters()) + list(head.parameters())
    opt = torch.optim.Adam(params, lr=args.lr, weight_decay=args.weight_decay)
    lm = max(reps[i][1].shape[2] for i in range(len(reps)))
    X = torch.cat([F.pad(reps[i][1], (0, lm - reps[i][1].shape[2])) for i in train])
    Ls = torch.cat([reps[i][2] for i in train])
    Y = torch.cat([torch.full((reps[i][1].shape[0],), float(y[i])) for i in train])
    t0 = time.time()
    g = torch.Generator().manual_seed(args.seed + fold_no)

    def rep_score(i):
        with torch.no_grad():
            z = head(embed_all(net, reps[i][1], reps[i][2])).squeeze(-1)
            return float(torch.topk(z, min(args.top_seq, z.shape[0])).values.mean()), z

    for epoch in range(1, args.epochs + 1):
        perm = torch.randperm(X.shape[0], generator=g)
        tot = 0.0
        for b in range(0, X.shape[0], args.seq_batch):
            idx = perm[b:b + args.seq_batch]
            opt.zero_grad()
            loss = F.binary_cross_entropy_with_logits(head(net.embed(X[idx], Ls[idx])).squeeze(-1), Y[idx])
            loss.backward()
            opt.step()
            tot += float(loss) * len(idx)
        if args.verbose and (epoch % args.eval_every == 0 or epoch == args.epochs):
            sc = [rep_score(i)[0] for i in test]
            tops = []
            for i in test:
                if y[i] == 1:
                    z = rep_score(i)[1]
                    w = np.array([has_motif(q) for q in reps[i][0]])
                    t = torch.topk(z, max(1, len(z) // 100)).indices.numpy()
                    tops.append(w[t].sum() / max(1, w.sum()))
            print(f"  fold {fold_no} epoch {epoch} loss {tot / X.shape[0]:.5f} test_auc {auc(sc, y[test]):.4f} "
                  f"motif in top1% {np.mean(tops):.3f} ({time.time() - t0:.1f} s)", flush=True)
    return auc([rep_score(i)[0] for i in test], y[test]), time.time() - t0


def sanity_filter(reps, y):
    """Hand-set conv filters: filter o has +1 on G at k=o, S at k=o+1, A at k=o+2 (o = 0..K-3), bias -2.5;
    the max over filters and valid windows is > 0 iff the sequence holds GSA (every GSA lies in some valid
    window at one of these offsets). Score of a repertoire = number of such sequences."""
    K = 9
    conv = nn.Conv1d(A, K - 2, K)
    with torch.no_grad():
        conv.weight.zero_()
        for o in range(K - 2):
            for k, ch in enumerate("GSA"):
                conv.weight[o, AA.index(ch), o + k] = 1.0
        conv.bias.fill_(-2.5)
    scores = []
    for seqs, x, l in reps:
        with torch.no_grad():
            z = conv(x)  # (n, K-2, Lo)
            Lo = z.shape[2]
            valid = torch.clamp(l - K + 1, min=1)
            z = z.masked_fill((torch.arange(Lo)[None, :] >= valid[:, None])[:, None, :], float("-inf"))
            h = z.max(dim=2).values.max(dim=1).values
        scores.append(float((h > 0).float().sum()))
    by_string = [sum("GSA" in s for s in seqs) for seqs, _, _ in reps]
    return scores, by_string


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--only-fold", type=int, default=0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--weight-decay", type=float, default=0.0)
    ap.add_argument("--batch-size", type=int, default=4)
    ap.add_argument("--subsample", type=int, default=1000)
    ap.add_argument("--keep", type=float, default=0.1)
    ap.add_argument("--kernels", type=int, default=32)
    ap.add_argument("--kernel-size", type=int, default=9)
    ap.add_argument("--attention", choices=["hopfield", "raw", "deeprc", "mean"], default="deeprc")
    ap.add_argument("--beta", type=float, default=1.0)
    ap.add_argument("--mix", type=int, default=1, help="training pseudo-repertoires from this many same-class repertoires")
    ap.add_argument("--conv-std", type=float, default=0.0, help="conv weights N(0, std^2) (0 = torch default)")
    ap.add_argument("--conv-bias", type=float, default=0.0, help="initial conv bias (0 = torch default)")
    ap.add_argument("--instance", action="store_true", help="diagnostic: naive-MIL sequence classifier")
    ap.add_argument("--top-seq", type=int, default=10)
    ap.add_argument("--seq-batch", type=int, default=1024)
    ap.add_argument("--l1", type=float, default=0.0, help="L1 penalty on the conv weights (sparse k-mer detectors)")
    ap.add_argument("--kmer-init", action="store_true", help="conv filters start as detectors of the gapped 3-mers "
                    "most enriched in positive training repertoires")
    ap.add_argument("--zero-rest", action="store_true", help="with --kmer-init: filters without a pattern start at 0")
    ap.add_argument("--freeze-conv", action="store_true", help="train only the attention and output")
    ap.add_argument("--clip", type=float, default=0.0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--shuffle-labels", action="store_true")
    ap.add_argument("--sanity-filter", action="store_true")
    ap.add_argument("--verbose", action="store_true")
    ap.add_argument("--eval-every", type=int, default=5)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    t0 = time.time()
    ids, y, reps = load(args.data)
    n_wit = [sum(has_motif(s) for s in seqs) for seqs, _, _ in reps]
    print(f"loaded {len(ids)} repertoires ({y.sum()} positive) in {time.time() - t0:.1f} s; motif sequences: "
          f"positives {np.mean([n for n, t in zip(n_wit, y) if t == 1]):.1f} mean, "
          f"negatives {sum(n for n, t in zip(n_wit, y) if t == 0)} total", flush=True)
    if args.sanity_filter:
        scores, by_string = sanity_filter(reps, y)
        print(f"hand-set GSA filter: AUC {auc(scores, y):.4f}; count-of-GSA-by-string AUC {auc(by_string, y):.4f}; "
              f"filter hits {sum(scores):.0f} vs string hits {sum(by_string)}")
        return
    if args.shuffle_labels:
        y = np.random.RandomState(12345).permutation(y)
    folds = stratified_folds(y, args.folds, args.seed)
    aucs = []
    for f in range(args.folds):
        if args.only_fold and f + 1 != args.only_fold:
            continue
        test = folds[f]
        train = [i for g, fo in enumerate(folds) if g != f for i in fo]
        a, secs = (run_fold_instance if args.instance else run_fold)(args, reps, y, train, test, f + 1)
        aucs.append(a)
        print(f"fold {f + 1}: test AUC {a:.4f} ({secs:.1f} s)", flush=True)
    print(f"ROC AUC {np.mean(aucs):.4f} +/- {np.std(aucs, ddof=1) if len(aucs) > 1 else 0:.4f} over {len(aucs)} fold(s), "
          f"total {time.time() - t0:.1f} s")


if __name__ == "__main__":
    main()
