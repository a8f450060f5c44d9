"""hopfield-mil's training, end to end, with the reference hflayers (PyTorch): the anchor of bench/mil_e2e.sh.

What it does is what `hopfield-mil --data FILE --no-early-stopping --epochs E` does (examples/hopfield_mil.cpp,
hopfield/layers/models/mil_cv.cpp):
  - unified MIL CSV (bag_id,label,f1..fd), stratified k-fold CV over bags (--folds, default 10);
  - per outer fold: features standardised with the outer training bags' statistics (population sd, constant
    columns left centred); a cross-validation ensemble of 5 members: the training bags are split into 5
    stratified parts, member m trains on all parts but m (part m is not used: no early stopping, no
    validation), test probabilities are the members' mean;
  - model: Linear(d, 128) -> ReLU -> hflayers.HopfieldPooling(input_size=128, hidden_size=32, num_heads=8,
    scaling default 1/sqrt(32), dropout 0, quantity 1, batch_first) with the padding mask (true = padded
    instance) -> ReLU -> Linear(128, 1); BCE with logits;
  - AdamW(lr 1e-3, weight_decay 1e-4), ExponentialLR(0.98) stepped per epoch, clip_grad_norm_(1.0) per step;
  - batches of 8 bags as hopfield-mil's DataLoader makes them: the member's bags shuffled per epoch, sorted by
    bag size inside windows of 8 batches, cut into batches, the batches shuffled; zero padding;
  - exactly --epochs epochs, predictions with the last epoch's parameters; ROC AUC per test fold.
The random streams (fold assignment, shuffles, initialisation) are numpy's / torch's, not ours: the runs are
the same procedure, not bit-identical, so the AUCs agree within the fold noise.

Thread budget N (--threads N): like hopfield-mil --threads N, which trains N folds at a time in N threads with
1 BLAS/intra-op thread each, --workers N (the default) trains N folds at a time in N worker processes with
torch.set_num_threads(1) each; --workers 1 instead trains the folds one after another with
torch.set_num_threads(N) (torch's intra-op parallelism). The fold results do not depend on the mode.

usage: /usr/bin/python3 bench/mil_hflayers.py --data ../shared/data/mil/csv/elephant.csv --epochs 5 --threads 1
Last line: {"auc_mean": .., "accuracy_mean": .., "seconds": .., "setup_seconds": .., ...}
"""
import argparse, json, os, sys, time

T0 = time.perf_counter()
here = os.path.dirname(os.path.abspath(__file__))
ap = argparse.ArgumentParser()
ap.add_argument("--data", required=True)
ap.add_argument("--epochs", type=int, default=100)
ap.add_argument("--folds", type=int, default=10)
ap.add_argument("--ensemble", type=int, default=5)
ap.add_argument("--batch-size", type=int, default=8)
ap.add_argument("--width", type=int, default=128)
ap.add_argument("--heads", type=int, default=8)
ap.add_argument("--hidden", type=int, default=32)
ap.add_argument("--lr", type=float, default=1e-3)
ap.add_argument("--weight-decay", type=float, default=1e-4)
ap.add_argument("--lr-decay", type=float, default=0.98)
ap.add_argument("--clip", type=float, default=1.0)
ap.add_argument("--seed", type=int, default=1)
ap.add_argument("--threads", type=int, default=1, help="thread budget")
ap.add_argument("--workers", type=int, default=None,
                help="folds trained at a time in worker processes of 1 thread each (default: --threads); "
                     "1 = folds in turn with torch.set_num_threads(--threads)")
ap.add_argument("--hflayers", default=os.path.join(here, "..", "..", "shared", "reference", "hflayers"))
a = ap.parse_args()
workers = a.threads if a.workers is None else a.workers
if workers < 1 or workers > a.threads:
    sys.exit(f"mil_hflayers.py: --workers {workers} must be in 1..--threads ({a.threads})")

# The thread budget covers every pool in the process: torch's (set below / in the workers) and that of the
# OpenBLAS that Debian's torch calls for its GEMMs, which torch.set_num_threads does not govern and which would
# otherwise start one thread per core (as hopfield-mil sets OpenBLAS to 1 thread per fold worker).
per_process = a.threads if workers == 1 else 1
for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
    os.environ[var] = str(per_process)
sys.path.insert(0, os.path.abspath(a.hflayers))
import numpy as np
import torch
from hflayers import HopfieldPooling

T_IMPORT = time.perf_counter()

# ---- data: one row per instance; bags are contiguous runs of bag_id
raw = np.loadtxt(a.data, delimiter=",", skiprows=1, dtype=np.float64, ndmin=2)
bag_id = raw[:, 0].astype(np.int64)
starts = np.flatnonzero(np.r_[True, bag_id[1:] != bag_id[:-1]])
ends = np.r_[starts[1:], len(bag_id)]
features = raw[:, 2:]
labels = raw[starts, 1].astype(np.int64)
sizes = ends - starts
num_bags, d = len(starts), features.shape[1]


def stratified_kfold(y, k, rng):
    """Every class shuffled and dealt round-robin to the folds, continuing where the previous class stopped."""
    tests = [[] for _ in range(k)]
    nxt = 0
    for c in sorted(set(y.tolist())):
        members = np.flatnonzero(y == c)
        rng.shuffle(members)
        for i in members:
            tests[nxt].append(int(i))
            nxt = (nxt + 1) % k
    out = []
    for t in tests:
        t = sorted(t)
        mask = np.ones(len(y), bool)
        mask[t] = False
        out.append((np.flatnonzero(mask), np.array(t)))
    return out


def epoch_batches(bags, batch, rng):
    """hopfield-mil's DataLoader with bucket_by (datasets/data_loader.h): shuffle, sort by bag size inside
    windows of 8 batches (stable), cut into batches, shuffle the batches."""
    order = list(rng.permutation(bags))
    window = 8 * batch
    for s in range(0, len(order), window):
        order[s:s + window] = sorted(order[s:s + window], key=lambda b: sizes[b])
    batches = [order[s:s + batch] for s in range(0, len(order), batch)]
    return [batches[i] for i in rng.permutation(len(batches))]


def collate(bags, x_std):
    """(B, N, d) zero-padded features, (B, N) mask true = padded slot, (B,) labels."""
    n = int(max(sizes[b] for b in bags))
    x = torch.zeros(len(bags), n, d)
    mask = torch.ones(len(bags), n, dtype=torch.bool)
    for i, b in enumerate(bags):
        x[i, :sizes[b]] = x_std[starts[b]:ends[b]]
        mask[i, :sizes[b]] = False
    return x, mask, torch.tensor(labels[bags], dtype=torch.float32)


class MilNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = torch.nn.Sequential(torch.nn.Linear(d, a.width), torch.nn.ReLU())
        self.pooling = HopfieldPooling(input_size=a.width, hidden_size=a.hidden, num_heads=a.heads, dropout=0.0,
                                       batch_first=True, quantity=1)
        self.output = torch.nn.Linear(a.width, 1)

    def forward(self, x, mask):
        pooled = self.pooling(self.embedding(x), stored_pattern_padding_mask=mask)  # (B, width)
        return self.output(torch.relu(pooled)).flatten()


def roc_auc(p, y):
    """Mann-Whitney U with average ranks for ties."""
    p, y = np.asarray(p), np.asarray(y)
    order = np.argsort(p, kind="mergesort")
    ranks = np.empty(len(p))
    sp = p[order]
    i = 0
    while i < len(p):
        j = i
        while j + 1 < len(p) and sp[j + 1] == sp[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    npos, nneg = int(y.sum()), int(len(y) - y.sum())
    return float((ranks[y == 1].sum() - npos * (npos + 1) / 2) / (npos * nneg))


def fit_member(fit_bags, test_batch, x_std, seed):
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    net = MilNet()
    opt = torch.optim.AdamW(net.parameters(), lr=a.lr, weight_decay=a.weight_decay)
    sched = torch.optim.lr_scheduler.ExponentialLR(opt, a.lr_decay)
    lossf = torch.nn.BCEWithLogitsLoss()
    for _ in range(a.epochs):
        net.train()
        for b in epoch_batches(fit_bags, a.batch_size, rng):
            x, mask, y = collate(b, x_std)
            opt.zero_grad()
            loss = lossf(net(x, mask), y)
            loss.backward()
            if a.clip > 0:
                torch.nn.utils.clip_grad_norm_(net.parameters(), a.clip)
            opt.step()
        sched.step()
    net.eval()
    with torch.no_grad():
        return torch.sigmoid(net(*test_batch[:2])).double().numpy()


def run_fold(job):
    f, (train, test) = job
    seed = a.seed * 7919 + f
    # Standardise with the outer training bags' instances (population sd; constant columns left centred).
    rows = np.concatenate([np.arange(starts[b], ends[b]) for b in train])
    mean = features[rows].mean(0)
    sd = features[rows].std(0)
    sd[~(sd > 1e-12)] = 1.0
    x_std = torch.from_numpy(((features - mean) / sd).astype(np.float32))
    test_batch = collate(list(test), x_std)
    parts = stratified_kfold(labels[train], 5, np.random.default_rng(seed))
    members = min(a.ensemble, 5)
    prob = np.zeros(len(test))
    for m in range(members):
        fit_bags = [int(train[i]) for i in parts[m][0]]
        prob += fit_member(fit_bags, test_batch, x_std, seed + 101 * m) / members
    y = labels[test]
    return f, roc_auc(prob, y), float(((prob >= 0.5).astype(int) == y).mean())


def init_worker():
    torch.set_num_threads(1)


jobs = list(enumerate(stratified_kfold(labels, a.folds, np.random.default_rng(a.seed))))
T_SETUP = time.perf_counter()
if workers == 1:
    torch.set_num_threads(a.threads)
    results = [run_fold(j) for j in jobs]
else:
    import multiprocessing as mp
    # fork: the workers inherit the data; torch has run no op in this process yet, so no thread pool is copied.
    with mp.get_context("fork").Pool(workers, initializer=init_worker) as pool:
        results = sorted(pool.map(run_fold, jobs, chunksize=1))
T_END = time.perf_counter()

aucs = [r[1] for r in results]
accs = [r[2] for r in results]
for f, auc, acc in results:
    print(f"fold {f + 1:2d}: AUC {auc:.4f}  accuracy {acc:.4f}")
print(json.dumps({"dataset": os.path.splitext(os.path.basename(a.data))[0], "epochs": a.epochs, "folds": a.folds,
                  "threads": a.threads, "workers": workers, "torch": torch.__version__,
                  "auc_mean": float(np.mean(aucs)), "auc_std": float(np.std(aucs)),
                  "accuracy_mean": float(np.mean(accs)), "auc_per_fold": aucs,
                  "seconds": round(T_END - T0, 3), "import_seconds": round(T_IMPORT - T0, 3),
                  "train_seconds": round(T_END - T_SETUP, 3)}))
