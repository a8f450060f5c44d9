#!/usr/bin/python3
"""PyTorch reproduction of the hflayers bit-pattern demonstration notebook
(ml-jku/hopfield-layers, examples/bit_pattern/bit_pattern_demo.ipynb, commit 5231d29), used as the reference for
examples/hopfield_bit_pattern.cpp.

Purpose
  The C++ demo reaches held-out accuracies well below 1.0 for several variants. This script answers whether the
  reference (hflayers semantics in PyTorch, the notebook's exact data and training loop) does better or the same.

What is in here
  * Hopfield, HopfieldPooling and HopfieldLayer written from the description in
    /work/shared/reference/hopfield/README.md (section 3), limited to the options the notebook uses plus the
    defaults: input LayerNorms (affine, eps 1e-5), packed q/k/v projection (`association_core.in_proj_weight`),
    heads, hidden_size, scaling beta, update steps with the per-head eps stopping rule (3.8), dropout on the final
    association matrix, output projection, trainable pooling patterns, lookup patterns with optional separate
    (optionally frozen) targets. Parameter names, shapes, creation order and the order of random draws during
    initialisation follow hflayers 1.0.2, so that torch.manual_seed(42) gives the notebook's initial weights.
  * BitPatternSet: the same torch RNG calls in the same order as hflayers.auxiliary.data.BitPatternSet
    (seed 43 for the signals, 44 for the bags), so the bags are the notebook's.
  * The notebook's loop: SubsetRandomSampler train range(256, 1792), eval first + last 256 bags, batch 32,
    set_seed() (torch.manual_seed(42)) right before each network is built, AdamW(lr=1e-3) with torch defaults,
    BCE with logits, optimiser.zero_grad(), clip_grad_norm_(max_norm=1.0), 250 epochs per variant, eval accuracy
    = mean over eval batches of float32 (sigmoid(logit).round() == target).mean().

Usage
  /usr/bin/python3 bench/bit_pattern_torch.py --check-reference /work/shared/reference/hopfield
  /usr/bin/python3 bench/bit_pattern_torch.py [--variants hopfield,hopfield_adapted,...] [--epochs 250]
                                              [--accumulate-gradients] [--csv FILE] [--seed 42] [--embedding E]
                                              [--hflayers-masked-select]
  --accumulate-gradients never calls optimiser.zero_grad() (the first published notebook's loop); --seed replaces
  the notebook's set_seed() value 42 (the data keep hflayers' seeds 43/44); --hflayers-masked-select runs the
  update steps in hflayers' own masked_select formulation, whose autograd reproduces hflayers' gradients including
  pytorch/pytorch#99638 where the installed torch has that bug (the default computes the exact gradients).

What it checks
  --check-reference DIR loads every relevant case under DIR (case.json, param.*.npy, input.x.npy) in float64,
  runs the module in eval mode and prints the maximum absolute error of the output against output.npy, and of the
  gradients of sum(output * G) against grad.*.npy. The script exits non-zero if any output error is >= 1e-10
  (gradients are held to 1e-10 * max(1, max|ref|), section 6 of the README). It then runs the iterative case in the
  --hflayers-masked-select formulation and prints its output error and its gradient deviation (on a torch with
  pytorch#99638 the deviation equals the case's recorded reference_autograd_deviation).

  The training mode prints a progress line every 25 epochs, then a table with the final and the best
  held-out accuracy and the wall time of every variant; --csv writes the per-epoch held-out accuracy.
"""
import argparse
import csv
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset
from torch.utils.data.sampler import SubsetRandomSampler


# ----------------------------------------------------------------------------------------------------------------
# Hopfield modules (README section 3)
# ----------------------------------------------------------------------------------------------------------------

class HopfieldCore(nn.Module):
    """Packed q/k/v projection [Wq; Wk; Wv], bias [bq | bk | bv] and the output projection (README 3.3, 3.9)."""

    def __init__(self, input_size, num_heads, head_dim, pattern_dim, out_dim):
        super().__init__()
        self.num_heads, self.head_dim, self.pattern_dim = num_heads, head_dim, pattern_dim
        rows = 2 * num_heads * head_dim + num_heads * pattern_dim
        self.in_proj_weight = nn.Parameter(torch.empty(rows, input_size))
        self.in_proj_bias = nn.Parameter(torch.empty(rows))
        # nn.Linear initialises itself (uniform draws) before the core's own initialisation, as in hflayers.
        self.out_proj = nn.Linear(num_heads * pattern_dim, out_dim)
        self.reset_parameters()

    def reset_parameters(self):
        nn.init.normal_(self.in_proj_weight, mean=0.0, std=0.02)
        nn.init.constant_(self.in_proj_bias, 0.0)
        nn.init.normal_(self.out_proj.weight, mean=0.0, std=0.02)
        nn.init.constant_(self.out_proj.bias, 0.0)


class Hopfield(nn.Module):
    """hflayers.Hopfield restricted to the packed layout, batch-first, no masks (README 3.1-3.9)."""

    def __init__(self, input_size, hidden_size=None, output_size=None, num_heads=1, scaling=None,
                 update_steps_max=0, update_steps_eps=1e-4, dropout=0.0,
                 normalize_stored_pattern_affine=True, normalize_state_pattern_affine=True,
                 normalize_pattern_projection_affine=True, batch_first=True):
        super().__init__()
        assert batch_first, 'only batch_first=True is implemented'
        if hidden_size is None:
            assert input_size % num_heads == 0, 'input_size must be divisible by num_heads'
        head_dim = hidden_size if hidden_size is not None else input_size // num_heads
        out_dim = input_size if output_size is None else output_size
        self.association_core = HopfieldCore(input_size, num_heads, head_dim, head_dim, out_dim)
        self.norm_stored_pattern = nn.LayerNorm(input_size, eps=1e-5,
                                                elementwise_affine=normalize_stored_pattern_affine)
        self.norm_state_pattern = nn.LayerNorm(input_size, eps=1e-5, elementwise_affine=normalize_state_pattern_affine)
        self.norm_pattern_projection = nn.LayerNorm(input_size, eps=1e-5,
                                                    elementwise_affine=normalize_pattern_projection_affine)
        self.input_size, self.num_heads, self.head_dim, self.pattern_dim = input_size, num_heads, head_dim, head_dim
        self.output_size = out_dim
        self.scaling = (1.0 / math.sqrt(head_dim)) if scaling is None else float(scaling)
        self.update_steps_max = update_steps_max
        self.update_steps_eps = update_steps_eps
        self.dropout = dropout
        self.masked_select_update = False   # --hflayers-masked-select
        self.reset_parameters()

    def reset_parameters(self):
        # Second initialisation of the core (hflayers' Hopfield.reset_parameters), LayerNorms to ones / zeros.
        self.association_core.reset_parameters()
        for norm in (self.norm_stored_pattern, self.norm_state_pattern, self.norm_pattern_projection):
            norm.reset_parameters()

    def associate(self, stored, state, projection):
        """stored Y (N, S, D), state R (N, L, D), projection X (N, S, D) -> (N, L, out)."""
        core = self.association_core
        H, hd, pd = self.num_heads, self.head_dim, self.pattern_dim
        y = self.norm_stored_pattern(stored)
        r = self.norm_state_pattern(state)
        x = self.norm_pattern_projection(projection)
        w, b, hh = core.in_proj_weight, core.in_proj_bias, H * hd
        qp = F.linear(r, w[:hh], b[:hh])                 # (N, L, H*hd)
        kp = F.linear(y, w[hh:2 * hh], b[hh:2 * hh])     # (N, S, H*hd)
        vp = F.linear(x, w[2 * hh:], b[2 * hh:])         # (N, S, H*pd)
        n = max(qp.shape[0], kp.shape[0])
        q = qp.view(qp.shape[0], qp.shape[1], H, hd).transpose(1, 2)   # (N, H, L, hd)
        k = kp.view(kp.shape[0], kp.shape[1], H, hd).transpose(1, 2)   # (N, H, S, hd)
        v = vp.view(vp.shape[0], vp.shape[1], H, pd).transpose(1, 2)   # (N, H, S, pd)
        beta = self.scaling
        kt = k.transpose(-1, -2)
        xi = torch.softmax((q * beta) @ kt, dim=-1)     # xi_0 (README 3.8)
        steps_max, eps = self.update_steps_max, self.update_steps_eps
        active = torch.full((H,), (steps_max is None) or (steps_max > 0), dtype=torch.bool)
        if self.masked_select_update and bool(active.any()):
            # hflayers' own formulation of the update step: heads flattened into the batch, the key tensor a
            # transposed (non-contiguous) view of a sequence-first tensor, active heads picked with masked_select.
            # Same forward; its autograd hits pytorch/pytorch#99638 where that bug exists (README section 5).
            S, L = kp.shape[1], qp.shape[1]
            k3 = kp.expand(n, S, H * hd).transpose(0, 1).contiguous().view(S, n * H, hd).transpose(0, 1)
            q3 = (q * beta).expand(n, H, L, hd).reshape(n * H, L, hd)
        t = 0
        while bool(active.any()):
            t += 1
            if self.masked_select_update:
                mask = active.repeat(n).view(n * H, 1, 1)
                xi3 = xi.reshape(n * H, L, S)
                active_xi = xi3.masked_select(mask).view(-1, L, S)
                active_k = k3.masked_select(mask).view(-1, S, hd)
                q3 = torch.masked_scatter(q3, mask, torch.bmm(active_xi, active_k)) * beta
                logits = torch.bmm(q3, k3.transpose(1, 2))
                candidate = torch.masked_scatter(xi3, mask, torch.softmax(
                    logits.masked_select(mask).view(-1, L, S), dim=-1)).view(n, H, L, S)
            else:
                candidate = torch.softmax(((xi @ k) * beta) @ kt, dim=-1)
            new_xi = torch.where(active.view(1, H, 1, 1), candidate, xi)
            with torch.no_grad():
                d = (new_xi - xi).flatten(start_dim=2).norm(dim=-1).max(dim=0).values   # (H,)
                limit_ok = True if steps_max is None else (t < steps_max)
                active = active & (d > eps) & limit_ok
            xi = new_xi
        xi = F.dropout(xi, p=self.dropout, training=self.training)
        o = (xi @ v).transpose(1, 2).reshape(n, xi.shape[2], H * pd)   # heads concatenated (README 3.9)
        return core.out_proj(o)

    def forward(self, input):
        return self.associate(input, input, input)


class HopfieldPooling(nn.Module):
    """hflayers.HopfieldPooling: state = trainable pooling patterns (1, q, D); output flattened (N, q*out)."""

    def __init__(self, input_size, quantity=1, **kwargs):
        super().__init__()
        self.hopfield = Hopfield(input_size=input_size, **kwargs)
        self.quantity = quantity
        self.pooling_weights = nn.Parameter(torch.empty(1, quantity, input_size))
        self.reset_parameters()

    def reset_parameters(self):
        self.hopfield.reset_parameters()
        nn.init.normal_(self.pooling_weights, mean=0.0, std=0.02)

    @property
    def output_size(self):
        return self.hopfield.output_size * self.quantity

    def forward(self, input):
        state = self.pooling_weights.expand(input.shape[0], self.quantity, self.pooling_weights.shape[2])
        return self.hopfield.associate(input, state, input).flatten(start_dim=1)


class HopfieldLayer(nn.Module):
    """hflayers.HopfieldLayer: stored = trainable lookup patterns (1, q, D), projection = targets or the same."""

    def __init__(self, input_size, quantity=1, lookup_weights_as_separated=False, lookup_targets_as_trainable=True,
                 **kwargs):
        super().__init__()
        self.hopfield = Hopfield(input_size=input_size, **kwargs)
        self.quantity = quantity
        self.lookup_weights = nn.Parameter(torch.empty(1, quantity, input_size))
        if lookup_weights_as_separated:
            self.target_weights = nn.Parameter(torch.empty(1, quantity, input_size),
                                               requires_grad=lookup_targets_as_trainable)
        else:
            self.register_parameter('target_weights', None)
        self.reset_parameters()

    def reset_parameters(self):
        self.hopfield.reset_parameters()
        nn.init.normal_(self.lookup_weights, mean=0.0, std=0.02)
        if self.target_weights is not None:
            nn.init.normal_(self.target_weights, mean=0.0, std=0.02)

    @property
    def output_size(self):
        return self.hopfield.output_size

    def forward(self, input):
        size = (input.shape[0], self.quantity, self.lookup_weights.shape[2])
        stored = self.lookup_weights.expand(size)
        projection = stored if self.target_weights is None else self.target_weights.expand(size)
        return self.hopfield.associate(stored, input, projection)


# ----------------------------------------------------------------------------------------------------------------
# --check-reference
# ----------------------------------------------------------------------------------------------------------------

REFERENCE_CASES = ['hopfield_default', 'hopfield_heads', 'hopfield_heads_split', 'hopfield_scaling',
                   'hopfield_update_steps_max', 'hopfield_default_ln_init', 'pooling_q1', 'pooling_q3',
                   'lookup_q5', 'lookup_separated']
MODULES = {'Hopfield': Hopfield, 'HopfieldPooling': HopfieldPooling, 'HopfieldLayer': HopfieldLayer}


def compare_case(case_dir, case, masked_select_update=False):
    """Output error and largest scaled gradient error of one golden case (float64, eval mode)."""
    args = dict(case['constructor_args'])
    args.pop('dropout', None)
    module = MODULES[case['module']](**args)
    for m in module.modules():
        if isinstance(m, Hopfield):
            m.masked_select_update = masked_select_update
    files = case['files']
    state = {e['name']: torch.from_numpy(np.load(os.path.join(case_dir, e['file'])))
             for e in files if e['role'] == 'param'}
    missing, unexpected = module.load_state_dict(state, strict=False)
    assert not missing and not unexpected, (case_dir, missing, unexpected)
    for pname, p in module.named_parameters():
        spec = [e for e in files if e['role'] == 'param' and e['name'] == pname][0]
        p.requires_grad_(spec.get('requires_grad', True))
    module.eval()
    x = torch.from_numpy(np.load(os.path.join(case_dir, 'input.x.npy'))).requires_grad_(True)
    out = module(x)
    ref = torch.from_numpy(np.load(os.path.join(case_dir, 'output.npy')))
    out_err = (out.detach() - ref).abs().max().item()
    g = torch.from_numpy(np.load(os.path.join(case_dir, 'G.npy')))
    (out * g).sum().backward()
    grad_err = 0.0
    params = dict(module.named_parameters())
    for e in files:
        if e['role'] == 'grad_input':
            mine = x.grad
        elif e['role'] == 'grad_param':
            mine = params[e['file'][len('grad.param.'):-len('.npy')]].grad
        else:
            continue
        gref = torch.from_numpy(np.load(os.path.join(case_dir, e['file'])))
        grad_err = max(grad_err, (mine - gref).abs().max().item() / max(1.0, gref.abs().max().item()))
    return out_err, grad_err


def check_reference(directory):
    torch.set_default_dtype(torch.float64)
    worst_output = 0.0
    failed = False
    print(f'{"case":28s} {"module":16s} {"max|out err|":>13s} {"max|grad err| (scaled)":>24s}')
    for name in REFERENCE_CASES:
        case_dir = os.path.join(directory, name)
        with open(os.path.join(case_dir, 'case.json')) as f:
            case = json.load(f)
        out_err, grad_err = compare_case(case_dir, case)
        worst_output = max(worst_output, out_err)
        ok = out_err < 1e-10 and grad_err < 1e-10
        failed |= not ok
        print(f'{name:28s} {case["module"]:16s} {out_err:13.3e} {grad_err:24.3e} {"ok" if ok else "FAIL"}')
    print(f'worst output error {worst_output:.3e} ({"all below 1e-10" if not failed else "FAILED"})')
    name = 'hopfield_update_steps_max'
    with open(os.path.join(directory, name, 'case.json')) as f:
        case = json.load(f)
    out_err, grad_err = compare_case(os.path.join(directory, name), case, masked_select_update=True)
    print(f'{name} with --hflayers-masked-select: output error {out_err:.3e}, gradient deviation '
          f'{grad_err:.3e} (torch {torch.__version__}: '
          f'{"autograd hits pytorch#99638" if grad_err > 1e-10 else "exact gradients"})')
    torch.set_default_dtype(torch.float32)
    return 0 if not failed else 1


# ----------------------------------------------------------------------------------------------------------------
# BitPatternSet (same torch calls in the same order as hflayers.auxiliary.data.BitPatternSet)
# ----------------------------------------------------------------------------------------------------------------

class BitPatternSet(Dataset):
    def __init__(self, num_bags, num_instances, num_signals, num_signals_per_bag=1, fraction_targets=0.5,
                 num_bits=8, seed_signals=43, seed_data=44):
        self.num_bags, self.num_instances, self.num_bits = num_bags, num_instances, num_bits
        num_targets = min(num_bags, max(1, math.ceil(num_bags * fraction_targets)))
        torch.random.manual_seed(seed=seed_signals)
        signals = torch.randint(low=0, high=2, size=(num_signals, num_bits))
        while True:
            signals = torch.unique(input=signals, dim=0)
            signals = signals[signals.sum(axis=1) != 0]
            missing = num_signals - signals.shape[0]
            if missing <= 0:
                break
            signals = torch.cat(tensors=(signals, torch.randint(low=0, high=2, size=(missing, num_bits))), dim=0)
        torch.random.manual_seed(seed=seed_data)
        data = torch.randint(low=0, high=2, size=(num_bags, num_instances, num_bits))
        targets = torch.zeros(size=(num_bags,), dtype=data.dtype)
        targets[:num_targets] = 1
        while True:   # re-sample empty instances and instances equal to a signal
            invalid = (data.sum(axis=2) == 0).logical_or(
                torch.sum(torch.stack([(data == s).all(axis=2) for s in signals]), axis=0))
            if invalid.sum() == 0:
                break
            data[invalid] = torch.randint(low=0, high=2, size=(invalid.sum(), num_bits))
        for bag in range(num_targets):   # implant signals into the positive bags
            slots = []
            for _ in range(num_signals_per_bag):
                while True:
                    slot = torch.randint(low=0, high=data.shape[1], size=(1,))
                    if slot not in slots:
                        slots.append(slot)
                        break
                signal = torch.randint(low=0, high=signals.shape[0], size=(1,))
                data[bag, slot] = signals[signal]
        self.data, self.targets, self.signals = data, targets, signals

    def __len__(self):
        return self.num_bags

    def __getitem__(self, index):
        return {'data': self.data[index].to(dtype=torch.float32), 'target': self.targets[index].to(dtype=torch.float32)}


# ----------------------------------------------------------------------------------------------------------------
# The notebook's networks and loop
# ----------------------------------------------------------------------------------------------------------------

VARIANTS = ['hopfield', 'hopfield_adapted', 'hopfield_pooling', 'hopfield_pooling_adapted', 'hopfield_lookup',
            'hopfield_lookup_adapted']
ADAPTED = dict(hidden_size=8, num_heads=8, update_steps_max=3, scaling=0.25, dropout=0.5)


SEED = 42   # the notebook's set_seed(); --seed changes it for a spread over initialisations and batch orders


def set_seed():
    torch.manual_seed(SEED)


def build(variant, bits, instances, samples_unique, embedding=0, modules=None):
    """Constructor arguments, networks and optimiser exactly as in the notebook's cells. embedding > 0 (not in the
    notebook, as --embedding of examples/hopfield_bit_pattern.cpp): Linear(bits, embedding) + ReLU per instance in
    front of the Hopfield module, which then sees `embedding` features; the adapted lookup keeps its random stored
    patterns (the raw instances have the wrong width). modules: the (Hopfield, HopfieldPooling, HopfieldLayer)
    classes to build from, default this file's (bench/bit_pattern_hflayers.py passes hflayers' own)."""
    Hopfield, HopfieldPooling, HopfieldLayer = modules or (globals()['Hopfield'], globals()['HopfieldPooling'],
                                                           globals()['HopfieldLayer'])
    set_seed()
    prefix = [nn.Linear(bits, embedding), nn.ReLU()] if embedding > 0 else []
    raw_bits, bits = bits, (embedding if embedding > 0 else bits)
    if variant in ('hopfield', 'hopfield_adapted'):
        hopfield = Hopfield(input_size=bits, **(ADAPTED if variant.endswith('adapted') else {}))
        output_projection = nn.Linear(in_features=hopfield.output_size * instances, out_features=1)
        network = nn.Sequential(hopfield, nn.Flatten(), output_projection, nn.Flatten(start_dim=0))
    elif variant in ('hopfield_pooling', 'hopfield_pooling_adapted'):
        pooling = HopfieldPooling(input_size=bits, **(ADAPTED if variant.endswith('adapted') else {}))
        output_projection = nn.Linear(in_features=pooling.output_size, out_features=1)
        network = nn.Sequential(pooling, output_projection, nn.Flatten(start_dim=0))
    else:
        if variant == 'hopfield_lookup':
            lookup = HopfieldLayer(input_size=bits, quantity=len(samples_unique))
        else:
            lookup = HopfieldLayer(input_size=bits, quantity=len(samples_unique), lookup_weights_as_separated=True,
                                   lookup_targets_as_trainable=False, normalize_stored_pattern_affine=True,
                                   normalize_pattern_projection_affine=True)
            if bits == raw_bits:
                with torch.no_grad():
                    lookup.lookup_weights[:] = samples_unique.unsqueeze(dim=0)
        output_projection = nn.Linear(in_features=lookup.output_size * instances, out_features=1)
        network = nn.Sequential(lookup, nn.Flatten(start_dim=1), output_projection, nn.Flatten(start_dim=0))
    if prefix:
        network = nn.Sequential(*prefix, *network)
    optimiser = torch.optim.AdamW(params=network.parameters(), lr=1e-3)
    return network, optimiser


def train_epoch(network, optimiser, loader, accumulate):
    network.train()
    for sample in loader:
        data, target = sample['data'], sample['target']
        output = network(data)
        if not accumulate:
            optimiser.zero_grad()
        loss = F.binary_cross_entropy_with_logits(input=output, target=target, reduction='mean')
        loss.backward()
        nn.utils.clip_grad_norm_(parameters=network.parameters(), max_norm=1.0, norm_type=2)
        optimiser.step()


def eval_accuracy(network, loader):
    network.eval()
    accuracies = []
    with torch.no_grad():
        for sample in loader:
            data, target = sample['data'], sample['target']
            output = network(data)
            accuracies.append((output.sigmoid().round() == target).to(dtype=torch.float32).mean().item())
    return sum(accuracies) / len(accuracies)


def run(args):
    bit_pattern_set = BitPatternSet(num_bags=2048, num_instances=16, num_signals=8, num_signals_per_bag=1,
                                    num_bits=8)
    n = bit_pattern_set.num_bags
    loader_train = DataLoader(dataset=bit_pattern_set, batch_size=32,
                              sampler=SubsetRandomSampler(list(range(256, n - 256))))
    loader_eval = DataLoader(dataset=bit_pattern_set, batch_size=32,
                             sampler=SubsetRandomSampler(list(range(256)) + list(range(n - 256, n))))
    samples_unique = [s['data'] for s in loader_train]   # the notebook's bit_samples_unique (before set_seed)
    samples_unique = torch.cat(samples_unique).view(-1, samples_unique[0].shape[2]).unique(dim=0)
    positives = int(bit_pattern_set.targets.sum())
    print(f'data: {n} bags x {bit_pattern_set.num_instances} instances x {bit_pattern_set.num_bits} bits, '
          f'{positives} positive, signals {bit_pattern_set.signals.tolist()}, '
          f'{len(samples_unique)} distinct training instances; '
          f'{"gradients accumulated (never zeroed)" if args.accumulate_gradients else "zero_grad every step"}'
          f'{", hflayers masked_select update steps" if args.hflayers_masked_select else ""}, set_seed {SEED}'
          f'{f", instance embedding Linear + ReLU of width {args.embedding}" if args.embedding else ""}')
    variants = VARIANTS if args.variants == 'all' else args.variants.split(',')
    for v in variants:
        if v not in VARIANTS:
            sys.exit(f'unknown variant {v!r}; choose from {", ".join(VARIANTS)}')
    results, rows = [], []
    for v in variants:
        t0 = time.time()
        network, optimiser = build(v, bit_pattern_set.num_bits, bit_pattern_set.num_instances, samples_unique,
                                   args.embedding)
        for m in network.modules():
            if isinstance(m, Hopfield):
                m.masked_select_update = args.hflayers_masked_select
        trainable = sum(p.numel() for p in network.parameters() if p.requires_grad)
        accs = []
        for epoch in range(1, args.epochs + 1):
            train_epoch(network, optimiser, loader_train, args.accumulate_gradients)
            accs.append(eval_accuracy(network, loader_eval))
            rows.append((v, epoch, accs[-1]))
            if epoch % 25 == 0 or epoch == args.epochs:
                print(f'  {v:26s} epoch {epoch:4d}  eval acc {accs[-1]:.4f}  best {max(accs):.4f}  '
                      f'{time.time() - t0:7.1f} s', flush=True)
        results.append((v, trainable, accs[-1], max(accs), time.time() - t0))
    print(f'\n{"variant":26s} {"params":>7s} {"epochs":>7s} {"final_eval":>11s} {"best_eval":>10s} {"seconds":>8s}')
    for v, trainable, final, best, seconds in results:
        print(f'{v:26s} {trainable:7d} {args.epochs:7d} {final:11.4f} {best:10.4f} {seconds:8.1f}')
    if args.csv:
        with open(args.csv, 'w', newline='') as f:
            w = csv.writer(f)
            w.writerow(['variant', 'epoch', 'eval_accuracy'])
            w.writerows(rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--check-reference', metavar='DIR', help='compare the modules with the golden vectors in DIR')
    parser.add_argument('--variants', default='all', help='comma-separated subset of ' + ', '.join(VARIANTS))
    parser.add_argument('--epochs', type=int, default=250, help='epochs per variant (the notebook: 250 for all)')
    parser.add_argument('--accumulate-gradients', action='store_true',
                        help='never call optimiser.zero_grad(), like the first published notebook')
    parser.add_argument('--csv', metavar='FILE', help='write variant, epoch, eval_accuracy per epoch')
    parser.add_argument('--embedding', type=int, default=0,
                        help='not in the notebook: width of a Linear + ReLU instance embedding in front of every '
                             'Hopfield module (0 = none, as the notebook)')
    parser.add_argument('--seed', type=int, default=42,
                        help='value of the notebook\'s set_seed() before each network (notebook: 42; the data keep '
                             'hflayers\' seeds 43/44)')
    parser.add_argument('--hflayers-masked-select', action='store_true',
                        help='run update steps in hflayers\' masked_select formulation (same forward; its autograd '
                             'reproduces hflayers\' gradients, including pytorch#99638 where the installed torch '
                             'has it); default: the exact gradients of README section 5')
    args = parser.parse_args()
    torch.set_num_threads(1)
    global SEED
    SEED = args.seed
    if args.check_reference:
        sys.exit(check_reference(args.check_reference))
    run(args)


if __name__ == '__main__':
    main()
