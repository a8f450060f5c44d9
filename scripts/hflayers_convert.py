#!/usr/bin/python3
"""Convert model parameters between PyTorch (hflayers) and hopfield-cpp.

    scripts/hflayers_convert.py torch2npz model.pt  model.npz   # torch.save(state_dict) -> Module::load
    scripts/hflayers_convert.py npz2torch model.npz model.pt    # Module::save -> model.load_state_dict(torch.load)

Our layers register their parameters under hflayers' state-dict names (`hopfield.association_core.in_proj_weight`,
`pooling_weights`, `lookup_weights`, ...), and Module / Sequential name children as torch.nn does (`0.weight`,
`2.hopfield.norm_state_pattern.bias`), so the same model built on both sides has the same keys: the conversion
is a change of file format (a pickled state dict <-> an uncompressed .npz with one array per dotted name) plus
dtype handling, and `--rename OLD=NEW` for models whose children are named differently on the two sides (a
prefix OLD of a key becomes NEW; repeatable). Loading on the other side is strict and names any key or shape
that does not match.

torch2npz reads a state dict, a whole pickled nn.Module, or a checkpoint dict holding "state_dict" /
"model_state_dict". Floating tensors are written as float32 (--dtype float64 or keep to change that), int64
and bool tensors as they are; other dtypes are refused. Needs Debian's python3-torch (/usr/bin/python3).
"""
import argparse
import collections
import sys

import numpy as np


def _torch():
    try:
        import torch  # noqa: PLC0415 (imported late: npz-only helpers work without torch)
    except ImportError as e:  # pragma: no cover
        sys.exit(f"hflayers_convert: needs PyTorch (Debian: apt-get install python3-torch): {e}")
    return torch


def _renamed(key, renames):
    for old, new in renames:
        if key.startswith(old):
            return new + key[len(old):]
    return key


def state_dict_of(obj):
    """The state dict inside what torch.load returned."""
    torch = _torch()
    if isinstance(obj, torch.nn.Module):
        return obj.state_dict()
    if isinstance(obj, dict):
        for key in ("state_dict", "model_state_dict"):
            if key in obj and isinstance(obj[key], dict):
                return obj[key]
        if all(isinstance(v, torch.Tensor) for v in obj.values()):
            return obj
    raise SystemExit("hflayers_convert: the file holds neither a state dict, an nn.Module nor a checkpoint "
                     "dict with 'state_dict' / 'model_state_dict'")


def state_dict_to_arrays(state, dtype="float32", renames=()):
    """torch state dict -> {our name: numpy array}."""
    torch = _torch()
    out = collections.OrderedDict()
    for key, t in state.items():
        if not isinstance(t, torch.Tensor):
            raise SystemExit(f"hflayers_convert: '{key}' is a {type(t).__name__}, not a tensor")
        a = t.detach().cpu().contiguous()
        if a.is_floating_point():
            if dtype != "keep":
                a = a.to(getattr(torch, dtype))
            elif a.dtype not in (torch.float32, torch.float64):
                raise SystemExit(f"hflayers_convert: '{key}' is {a.dtype}; use --dtype float32 or float64")
        elif a.dtype not in (torch.int64, torch.bool):
            raise SystemExit(f"hflayers_convert: '{key}' has dtype {a.dtype}, which hopfield-cpp does not read "
                             "(float32, float64, int64, bool)")
        name = _renamed(key, renames)
        if not name or name in out:
            raise SystemExit(f"hflayers_convert: '{key}' renames to the empty or duplicate name '{name}'")
        out[name] = a.numpy()
    return out


def arrays_to_state_dict(arrays, renames=()):
    """{our name: numpy array} -> torch state dict (an OrderedDict of tensors)."""
    torch = _torch()
    out = collections.OrderedDict()
    for key, a in arrays.items():
        out[_renamed(key, renames)] = torch.from_numpy(np.ascontiguousarray(a))
    return out


def save_npz(path, arrays):
    # Uncompressed (np.savez, not savez_compressed): what hopfield-cpp's load_npz reads.
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def load_npz(path):
    with np.load(path, allow_pickle=False) as z:
        return collections.OrderedDict((k, z[k]) for k in z.files)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument("direction", choices=["torch2npz", "npz2torch"])
    p.add_argument("input")
    p.add_argument("output")
    p.add_argument("--dtype", choices=["float32", "float64", "keep"], default="float32",
                   help="floating tensors in the .npz (torch2npz; default float32)")
    p.add_argument("--rename", action="append", default=[], metavar="OLD=NEW",
                   help="replace the key prefix OLD by NEW (repeatable; the first match wins)")
    args = p.parse_args(argv)
    renames = []
    for r in args.rename:
        if "=" not in r:
            p.error(f"--rename {r}: expected OLD=NEW")
        renames.append(tuple(r.split("=", 1)))
    torch = _torch()
    if args.direction == "torch2npz":
        state = state_dict_of(torch.load(args.input, map_location="cpu"))
        arrays = state_dict_to_arrays(state, args.dtype, renames)
        save_npz(args.output, arrays)
    else:
        arrays = load_npz(args.input)
        torch.save(arrays_to_state_dict(arrays, renames), args.output)
    print(f"hflayers_convert: {len(arrays)} tensors {args.input} -> {args.output}")


if __name__ == "__main__":
    main()
