#!/usr/bin/env python3
"""Offline audit of predict()'s 80% intervals on quantized measurements (docs/models.md,
"Exactly flat records in the fusion"): how often an interval is zero wide, how often a zero-wide
one misses, coverage and MAE, 1 and 8 measurements ahead.

    python scripts/quantized_intervals.py fused                 # LAN-grade clocks, rounded
    python scripts/quantized_intervals.py auto --noisy          # the default NTP-grade noise
    python scripts/quantized_intervals.py fused --json a.json   # keep the numbers

Clocks: chronotick.sim, 12 h at 64 s polls, eight (preset, quantum, seed) cases. By default the
measurements are LAN-grade (min delay 100 us, 2 us mean queueing, 1 us asymmetry jitter, no
spikes: ~1 us noise) and the measured offsets are rounded to the case's quantum (1e-7 to 1e-3 s),
so some records are exactly flat for long stretches; --noisy keeps the presets' NTP-grade
measurement noise (a check that the rounding alone changes nothing there). Origins every 3rd
measurement from the 100th; each forecast sees the newest 512 measurements strictly before its
origin (leakage-free) and is scored against the (rounded) measurement 1 and 8 ahead.
"""
import argparse
import json

import numpy as np

import _sources  # beside this file: sys.path[0] when run as a file

_sources.choose()
import chronotick  # noqa: E402
from chronotick import sim  # noqa: E402

LAN = dict(min_delay_s=1e-4, queue_mean_s=2e-6, asymmetry_jitter_s=1e-6, spike_prob=0.0,
           congestion_spike_prob=0.0)
CASES = [("disciplined", 1e-5, 1), ("disciplined", 1e-4, 2), ("ocxo", 1e-6, 1), ("ocxo", 1e-5, 2),
         ("tcxo", 1e-4, 1), ("tcxo", 1e-3, 2), ("xo", 1e-3, 1), ("vm", 1e-4, 1)]
NOISY = [("disciplined", 1e-3, 1), ("disciplined", 1e-3, 2), ("tcxo", 1e-6, 1), ("tcxo", 1e-5, 2),
         ("ocxo", 1e-6, 1), ("ocxo", 1e-7, 2), ("xo", 1e-3, 1), ("vm", 1e-4, 1)]
AHEAD = (1, 8)


def audit(model: str, cases, overrides: dict, every: int = 3, first: int = 100) -> dict:
    out = {}
    for preset, q, seed in cases:
        r = sim.simulate(preset, duration_s=12 * 3600, seed=seed, **overrides)
        t, y = r.trace.times, np.round(r.trace.offsets / q) * q
        rows = []
        for o in range(first, len(t) - max(AHEAD), every):
            lo_i = max(0, o - 512)
            fc = chronotick.predict(y[lo_i:o], t[lo_i:o], horizon=max(AHEAD), model=model)
            lo, hi = fc.interval(0.8)
            med = fc.quantile(0.5)
            for a in AHEAD:
                j = int(np.argmin(np.abs(fc.times - t[o + a - 1])))
                truth = y[o + a - 1]
                rows.append((a, hi[j] - lo[j] <= 0, lo[j] <= truth <= hi[j], abs(truth - med[j])))
        arr = np.array(rows, dtype=float)
        res = {}
        for a in AHEAD:
            s = arr[arr[:, 0] == a]
            res[str(a)] = dict(n=len(s), zero_width=float(s[:, 1].mean()), coverage=float(s[:, 2].mean()),
                               zero_width_miss=float((s[:, 1] * (1 - s[:, 2])).mean()), mae=float(s[:, 3].mean()))
        out[f"{preset}/q={q:g}/seed={seed}"] = res
        print(f"{preset:12s} q={q:<7g} seed={seed} " + " | ".join(
            f"{a} ahead: zero-width {v['zero_width']:.2f} miss {v['zero_width_miss']:.3f} "
            f"coverage {v['coverage']:.3f} MAE {v['mae']:.3g}" for a, v in res.items()), flush=True)
    return out


def model_name(text: str) -> str:
    """A model predict() knows (a name or an .onnx path); argparse's error naming it otherwise."""
    from chronotick import models as registry
    try:
        if registry.model_path(text) is None:
            registry.check_name(text)
    except (ValueError, OSError) as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", type=model_name, help="predict()'s model: fused, auto, ...")
    ap.add_argument("--noisy", action="store_true", help="NTP-grade measurement noise (the presets')")
    ap.add_argument("--json", help="write the per-case numbers here")
    args = ap.parse_args()
    res = audit(args.model, NOISY if args.noisy else CASES, {} if args.noisy else LAN)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
