#!/usr/bin/python3
"""The hflayers demo notebooks run through the REAL reference package, over several seeds: the reference for
`hopfield-bit-pattern --seeds K` and `hopfield-latch --seeds K` (hopfield/layers/models/demo_runs.h).

What it runs
  The networks of the bit-pattern notebook (ml-jku/hopfield-layers examples/bit_pattern/bit_pattern_demo.ipynb,
  commit 5231d29) or of the latch-sequence notebook, built from hflayers' own Hopfield, HopfieldPooling and
  HopfieldLayer, on hflayers' own data sets (hflayers.auxiliary.data.BitPatternSet(2048, 16, 8, 1, num_bits=8)
  with its seeds 43/44, or LatchSequenceSet(4096, 32, 20) with seed 43), with the notebooks' loop: the first and
  last eighth held out, batches of 32 drawn by SubsetRandomSampler, AdamW(lr=1e-3), BCE with logits,
  zero_grad, clip_grad_norm_(1.0), 250 epochs (latch: 20, lookup 18). The package is imported from
  ../shared/reference/hflayers (sys.path), nothing of it is copied; the loop helpers come from
  bench/bit_pattern_torch.py, whose own modules are NOT used here.

Seeds
  The notebook calls set_seed() = torch.manual_seed(42) right before building each network (which also fixes
  the batch order). Seed k here replaces that 42 by k, for k = --seed .. --seed + K - 1, so --seed 0 --seeds 5
  runs seeds 0..4 as `hopfield-bit-pattern --seed 0 --seeds 5` does. Both train on the same bags (bit_pattern_bags
  draws torch's stream), but the initial weights, batch orders and dropout masks come from different streams, so
  only the distributions compare, not single runs (bench/bit_pattern_compare.py replays single runs).

Usage
  /usr/bin/python3 bench/bit_pattern_hflayers.py [--demo bit-pattern|latch] [--seed 0] [--seeds 5]
        [--variants hopfield_adapted,...] [--epochs N] [--json FILE]
  Prints one line per (seed, variant) with the final held-out accuracy and, at the end, mean, sample std and
  standard error (std / sqrt(K)) per variant; --json writes {"variants": {v: {"mean", "std", "seeds",
  "final_eval_accuracy_per_seed"}}}.
"""
import argparse
import json
import math
import os
import sys
import time

import torch
from torch.utils.data import DataLoader
from torch.utils.data.sampler import SubsetRandomSampler

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', '..', 'shared', 'reference', 'hflayers'))
sys.path.insert(0, HERE)

from hflayers import Hopfield, HopfieldLayer, HopfieldPooling  # noqa: E402  the real package
from hflayers.auxiliary.data import BitPatternSet, LatchSequenceSet  # noqa: E402
import bit_pattern_torch  # noqa: E402  the notebook's networks and loop, built here from hflayers' modules
from bit_pattern_torch import VARIANTS, eval_accuracy, train_epoch  # noqa: E402

assert Hopfield.__module__ == 'hflayers', Hopfield.__module__


def build(variant, features, instances, samples_unique, seed):
    """The notebooks' networks (bench/bit_pattern_torch.build) made of hflayers' modules; torch.manual_seed(seed)
    first, in place of the notebook's set_seed() = torch.manual_seed(42)."""
    bit_pattern_torch.SEED = seed
    return bit_pattern_torch.build(variant, features, instances, samples_unique,
                                   modules=(Hopfield, HopfieldPooling, HopfieldLayer))


def data(demo):
    if demo == 'bit-pattern':
        ds = BitPatternSet(num_bags=2048, num_instances=16, num_signals=8, num_signals_per_bag=1, num_bits=8)
        held, features, instances = 256, 8, 16
    else:
        ds = LatchSequenceSet(num_samples=4096, num_instances=32, num_characters=20)
        held, features, instances = 512, 20, 32
    return ds, held, features, instances


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--demo', choices=['bit-pattern', 'latch'], default='bit-pattern')
    parser.add_argument('--seed', type=int, default=0, help='first seed (replaces the notebook\'s set_seed value 42)')
    parser.add_argument('--seeds', type=int, default=5, help='number of seeds: --seed .. --seed + K - 1')
    parser.add_argument('--variants', default='all', help='comma-separated subset of ' + ', '.join(VARIANTS))
    parser.add_argument('--epochs', type=int, default=0,
                        help='epochs per variant (0 = the notebook\'s: bit pattern 250, latch 20 and lookup 18)')
    parser.add_argument('--json', metavar='FILE', help='write the per-variant mean/std/seeds here')
    args = parser.parse_args()
    torch.set_num_threads(1)
    variants = VARIANTS if args.variants == 'all' else args.variants.split(',')
    for v in variants:
        if v not in VARIANTS:
            sys.exit(f'unknown variant {v!r}; choose from {", ".join(VARIANTS)}')

    ds, held, features, instances = data(args.demo)
    n = len(ds)
    train_idx, eval_idx = list(range(held, n - held)), list(range(held)) + list(range(n - held, n))
    print(f'{args.demo} with hflayers from {sys.modules["hflayers"].__file__}: {n} samples, held out {len(eval_idx)}, '
          f'seeds {args.seed}..{args.seed + args.seeds - 1}', flush=True)
    finals = {v: [] for v in variants}
    t_start = time.time()
    for seed in range(args.seed, args.seed + args.seeds):
        for v in variants:
            t0 = time.time()
            torch.manual_seed(seed)  # the samplers' order follows the seed, as in the notebook (set_seed first)
            loader_train = DataLoader(dataset=ds, batch_size=32, sampler=SubsetRandomSampler(train_idx))
            loader_eval = DataLoader(dataset=ds, batch_size=32, sampler=SubsetRandomSampler(eval_idx))
            samples_unique = [s['data'] for s in loader_train]   # the notebook's *_samples_unique
            samples_unique = torch.cat(samples_unique).view(-1, samples_unique[0].shape[2]).unique(dim=0)
            epochs = args.epochs or (250 if args.demo == 'bit-pattern' else (18 if 'lookup' in v else 20))
            network, optimiser = build(v, features, instances, samples_unique, seed)
            for _ in range(epochs):
                train_epoch(network, optimiser, loader_train, False)
            acc = eval_accuracy(network, loader_eval)
            finals[v].append(acc)
            print(f'seed {seed}  {v:26s} epochs {epochs:4d}  final eval acc {acc:.4f}  {time.time() - t0:7.1f} s',
                  flush=True)

    k = args.seeds
    print(f'\n{"variant":26s} {"mean":>8s} {"std":>8s} {"stderr":>8s}  per seed ({time.time() - t_start:.0f} s)')
    out = {'demo': args.demo, 'seed': args.seed, 'seeds': k, 'variants': {}}
    for v in variants:
        a = finals[v]
        m = sum(a) / k
        s = math.sqrt(sum((x - m) ** 2 for x in a) / (k - 1)) if k > 1 else 0.0
        print(f'{v:26s} {m:8.4f} {s:8.4f} {s / math.sqrt(k):8.4f}  {" ".join(f"{x:.3f}" for x in a)}')
        out['variants'][v] = {'mean': m, 'std': s, 'seeds': k, 'final_eval_accuracy_per_seed': a}
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(out, f, indent=2)
    print(json.dumps(out))


if __name__ == '__main__':
    main()
