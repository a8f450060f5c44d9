#!/usr/bin/python3
"""Step-by-step comparison of the bit-pattern demo's training with the real hflayers (issue 21 part 2).

What it does
  Builds one network of the bit-pattern notebook from hflayers' own modules (bench/bit_pattern_hflayers.py,
  torch.manual_seed(seed) first), on hflayers' own BitPatternSet, and trains it for --steps optimiser steps with
  the notebook's loop (zero_grad, BCE with logits, clip_grad_norm_(1.0), AdamW(lr=1e-3)) on a fixed batch order
  (the notebook's SubsetRandomSampler order for that seed). The association dropout is set to --dropout (default
  0: dropout masks cannot be shared between the two programs). It writes one .npz with everything the C++ side
  needs to replay the same run (bench/bit_pattern_replay_bench.cpp):

    x (bags, 16, 8), labels (bags,), train (train bags,), eval (eval bags,), batches (steps, 32) int64,
    init.<name> (the initial parameters under hopfield-cpp's DemoNet names), final.<name> (after --steps),
    grad0.<name> (the first step's gradients, before clipping), loss (steps,), grad_norm (steps,) (the total norm before clipping), logits0 (32,) (the first batch's output
    before any step), eval_accuracy (one value: after --steps, eval mode, all eval bags at once),
    variant_id (position in the notebooks' order, as Variant::id), settings ([lr, dropout]).

  --dtype float64 runs torch in double precision (set_default_dtype), so that the two programs can agree to
  ~1e-12 where they compute the same thing; float32 is what the notebook runs.

Usage
  /usr/bin/python3 bench/bit_pattern_compare.py --variant hopfield_pooling_adapted --seed 0 --steps 200 \
      --dtype float64 --out /tmp/replay.npz
  build/bench/bit_pattern_replay_bench /tmp/replay.npz
"""
import argparse
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader
from torch.utils.data.sampler import SubsetRandomSampler

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', '..', 'shared', 'reference', 'hflayers'))
sys.path.insert(0, HERE)

from hflayers import Hopfield, HopfieldLayer, HopfieldPooling  # noqa: E402  the real package
from hflayers.auxiliary.data import BitPatternSet  # noqa: E402
import bit_pattern_torch  # noqa: E402
from bit_pattern_torch import VARIANTS  # noqa: E402

assert Hopfield.__module__ == 'hflayers', Hopfield.__module__


def our_name(variant, torch_name):
    """hflayers' Sequential names -> hopfield-cpp DemoNet names (hopfield/layers/models/demo_net.h)."""
    head, rest = torch_name.split('.', 1)
    if variant.startswith('hopfield_pooling'):
        return {'0': 'hopfield_pooling.', '1': 'output_projection.'}[head] + rest
    if variant.startswith('hopfield_lookup'):
        return {'0': 'hopfield_lookup.', '2': 'output_projection.'}[head] + rest
    return {'0': 'hopfield.', '2': 'output_projection.'}[head] + rest


def full(args):
    """bench/bit_pattern_hflayers.py's run of one variant (its random stream call for call), modules chosen."""
    import time
    from bit_pattern_torch import eval_accuracy, train_epoch
    ds = BitPatternSet(num_bags=2048, num_instances=16, num_signals=8, num_signals_per_bag=1, num_bits=8)
    n, held = len(ds), 256
    train_idx, eval_idx = list(range(held, n - held)), list(range(held)) + list(range(n - held, n))
    accs = []
    for seed in range(args.seed, args.seed + args.full):
        t0 = time.time()
        torch.manual_seed(seed)
        loader_train = DataLoader(dataset=ds, batch_size=32, sampler=SubsetRandomSampler(train_idx))
        loader_eval = DataLoader(dataset=ds, batch_size=32, sampler=SubsetRandomSampler(eval_idx))
        samples_unique = [s['data'] for s in loader_train]
        samples_unique = torch.cat(samples_unique).view(-1, samples_unique[0].shape[2]).unique(dim=0)
        bit_pattern_torch.SEED = seed
        modules = (Hopfield, HopfieldPooling, HopfieldLayer) if args.modules == 'hflayers' else None
        network, optimiser = bit_pattern_torch.build(args.variant, 8, 16, samples_unique, modules=modules)
        for m in network.modules():
            if isinstance(m, bit_pattern_torch.Hopfield):
                m.masked_select_update = args.modules == 'masked-select'
        for _ in range(args.epochs):
            train_epoch(network, optimiser, loader_train, False)
        accs.append(eval_accuracy(network, loader_eval))
        print(f'seed {seed}  {args.variant} modules {args.modules}  final eval acc {accs[-1]:.4f}  '
              f'{time.time() - t0:.0f} s', flush=True)
    m = sum(accs) / len(accs)
    sd = (sum((a - m) ** 2 for a in accs) / (len(accs) - 1)) ** 0.5 if len(accs) > 1 else 0.0
    print(f'{args.variant} modules {args.modules} seeds {args.seed}..{args.seed + args.full - 1}: mean {m:.4f} '
          f'std {sd:.4f}  per seed {" ".join(f"{a:.3f}" for a in accs)}')


def init_stats(args):
    ds = BitPatternSet(num_bags=2048, num_instances=16, num_signals=8, num_signals_per_bag=1, num_bits=8)
    samples_unique = torch.stack([ds[i]['data'] for i in range(256, 1792)]).view(-1, 8).unique(dim=0)
    pooled = {}
    for seed in range(args.init_stats):
        bit_pattern_torch.SEED = seed
        network, _ = bit_pattern_torch.build(args.variant, 8, 16, samples_unique,
                                             modules=(Hopfield, HopfieldPooling, HopfieldLayer))
        for k, v in network.named_parameters():
            pooled.setdefault(our_name(args.variant, k), []).append(v.detach().flatten())
    print(f'{args.variant}: initial parameters over {args.init_stats} seeds (hflayers)')
    print(f'{"parameter":60s} {"mean":>10s} {"std":>10s} {"min":>10s} {"max":>10s}')
    for k, vs in pooled.items():
        u = torch.cat(vs).double()
        print(f'{k:60s} {u.mean().item():10.5f} {u.std().item():10.5f} {u.min().item():10.5f} {u.max().item():10.5f}')


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--variant', default='hopfield_pooling_adapted', choices=VARIANTS)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--steps', type=int, default=100)
    p.add_argument('--dtype', choices=['float32', 'float64'], default='float64')
    p.add_argument('--dropout', type=float, default=0.0, help='association dropout of the adapted variants')
    p.add_argument('--lr', type=float, default=1e-3)
    p.add_argument('--modules', choices=['hflayers', 'exact', 'masked-select'], default='hflayers',
                   help='hflayers: the real package; exact: bench/bit_pattern_torch.py\'s re-implementation (same '
                        'forward, same initial weights, exact gradients); masked-select: that re-implementation with '
                        'hflayers\' masked_select update steps (reproduces pytorch#99638 where torch has it)')
    p.add_argument('--out', help='the .npz to write (step mode)')
    p.add_argument('--full', type=int, default=0, metavar='K',
                   help='instead of the step record: train --variant for the notebook\'s 250 epochs (float32, the '
                        'notebook\'s dropout) with seeds --seed .. --seed+K-1 exactly as bench/bit_pattern_hflayers.py '
                        'does (same random stream: same initial weights, batch order and dropout masks for a seed), '
                        'with the chosen --modules, and print the final held-out accuracy per seed')
    p.add_argument('--epochs', type=int, default=250, help='epochs of --full')
    p.add_argument('--init-stats', type=int, default=0, metavar='K',
                   help='instead: build --variant from hflayers with seeds 0..K-1 and print per parameter the mean, std, '
                        'min and max of the initial values pooled over the K networks (compare with '
                        'bit_pattern_replay_bench --init-stats K)')
    args = p.parse_args()
    torch.set_num_threads(1)
    if args.full:
        return full(args)
    if args.init_stats:
        return init_stats(args)
    if not args.out:
        p.error('--out is required without --full')
    dtype = torch.float64 if args.dtype == 'float64' else torch.float32

    ds = BitPatternSet(num_bags=2048, num_instances=16, num_signals=8, num_signals_per_bag=1, num_bits=8)
    n, held = len(ds), 256
    train_idx, eval_idx = list(range(held, n - held)), list(range(held)) + list(range(n - held, n))
    x = torch.stack([ds[i]['data'] for i in range(n)]).to(dtype)
    y = torch.stack([ds[i]['target'] for i in range(n)]).to(dtype)

    # As bench/bit_pattern_hflayers.py: seed, loaders, samples_unique, then build (which seeds again).
    torch.manual_seed(args.seed)
    loader_train = DataLoader(dataset=ds, batch_size=32, sampler=SubsetRandomSampler(train_idx))
    samples_unique = [s['data'] for s in loader_train]
    samples_unique = torch.cat(samples_unique).view(-1, samples_unique[0].shape[2]).unique(dim=0)
    bit_pattern_torch.ADAPTED = dict(bit_pattern_torch.ADAPTED, dropout=args.dropout)
    bit_pattern_torch.SEED = args.seed
    torch.set_default_dtype(dtype)
    modules = (Hopfield, HopfieldPooling, HopfieldLayer) if args.modules == 'hflayers' else None
    network, _ = bit_pattern_torch.build(args.variant, 8, 16, samples_unique.to(dtype), modules=modules)
    for m in network.modules():
        if isinstance(m, bit_pattern_torch.Hopfield):
            m.masked_select_update = args.modules == 'masked-select'
    network = network.to(dtype)
    optimiser = torch.optim.AdamW(params=network.parameters(), lr=args.lr)
    # The batch order: the sampler's epochs one after another, as the notebook draws them after build().
    batches = []
    while len(batches) < args.steps:
        order = list(loader_train.sampler)
        batches += [order[i:i + 32] for i in range(0, len(order), 32)]
    batches = np.array(batches[:args.steps], dtype=np.int64)

    out = {'x': x.numpy(), 'labels': y.numpy(), 'train': np.array(train_idx, dtype=np.int64),
           'eval': np.array(eval_idx, dtype=np.int64), 'batches': batches}
    for k, v in network.state_dict().items():
        out['init.' + our_name(args.variant, k)] = v.detach().clone().numpy()
    network.train()
    with torch.no_grad():
        out['logits0'] = network(x[batches[0]]).numpy()
    losses, norms = [], []
    for b in batches:
        optimiser.zero_grad()
        loss = F.binary_cross_entropy_with_logits(input=network(x[b]), target=y[b], reduction='mean')
        loss.backward()
        if not losses:   # the first step's gradients, before clipping
            for k, v in network.named_parameters():
                out['grad0.' + our_name(args.variant, k)] = (v.grad if v.grad is not None else torch.zeros_like(v)).numpy().copy()
        norms.append(float(nn.utils.clip_grad_norm_(parameters=network.parameters(), max_norm=1.0, norm_type=2)))
        optimiser.step()
        losses.append(loss.item())
    for k, v in network.state_dict().items():
        out['final.' + our_name(args.variant, k)] = v.detach().clone().numpy()
    network.eval()
    with torch.no_grad():
        z = network(x[eval_idx])
        acc = ((z > 0).to(dtype) == y[eval_idx]).to(dtype).mean().item()
    out['loss'] = np.array(losses)
    out['grad_norm'] = np.array(norms)
    out['eval_accuracy'] = np.array([acc])
    out['variant_id'] = np.array([VARIANTS.index(args.variant)], dtype=np.int64)   # the notebooks' order
    out['settings'] = np.array([args.lr, args.dropout])
    np.savez(args.out, **out)
    print(f'{args.variant} seed {args.seed} {args.dtype} {args.modules}: {args.steps} steps, loss {losses[0]:.6f} -> {losses[-1]:.6f}, '
          f'eval accuracy {acc:.4f}; wrote {args.out}')


if __name__ == '__main__':
    main()
