#!/usr/bin/env python3
"""Offline check (docs/models.md, "Known misses of the long-term path" (1)): the Engine's long-term
clock-bolt on regular polls, where the cell boundaries of an even step_factor fall on measurements.
Scored on simulated clocks (the simulator's polls are exact) against their true offset.

    python scripts/long_term_ties.py 10351-10354 10355-10358 --json before.json

First range: disciplined clocks (steady / server_load / thermal_cycle / network_spike in turn),
second: free-running xo / tcxo / ocxo / vm in turn; 48 h at 64 s polls, one seed each. Engine:
{long_term: {model: clock-bolt, step_factor: 8}}. At origins every 25 polls from poll 700 until its
64 targets (512 polls ahead) end inside the record: predict_long_term() (the long-term model alone)
and predict_fused(): per clock the mean signed error of the median against the true offset, the MAE,
and the share of the measurements at the targets inside the 80% interval (what the intervals are
calibrated to cover). With --compare A.json B.json: the per-clock MAE ratios B/A and the means.
"""
import argparse
import json

import numpy as np

import _sources  # beside this file: sys.path[0] when run as a file
from long_term_history import clocks, seed_range

_sources.choose()
from chronotick.engine import Engine  # noqa: E402

CFG = {"long_term": {"model": "clock-bolt", "step_factor": 8}}


def score(r):
    tr = r.trace
    t, y = tr.times, tr.offsets
    eng = Engine(CFG)
    out = {k: {"signed": [], "abs": [], "cov": []} for k in ("long_term", "fused")}
    seen = 0
    for o in range(700, t.size - 520, 25):
        eng.observe_many(t[seen:o], y[seen:o])
        seen = o
        for kind, fc in (("long_term", eng.predict_long_term((0.1, 0.5, 0.9))),
                         ("fused", eng.predict_fused((0.1, 0.5, 0.9)))):
            truth = np.interp(fc.times, r.t, -r.x)
            d = out[kind]
            d["signed"].append(fc.mean - truth)
            d["abs"].append(np.abs(fc.mean - truth))
            lo, hi = fc.interval(0.8)
            j = np.minimum(np.searchsorted(t, fc.times), t.size - 1)
            have = np.abs(t[j] - fc.times) < 1.0
            d["cov"].append(((y[j] >= lo) & (y[j] <= hi))[have])
    eng.close()
    return {k: {"signed": float(np.mean(np.concatenate(d["signed"]))), "mae": float(np.mean(np.concatenate(d["abs"]))),
                "cov": float(np.mean(np.concatenate(d["cov"])))} for k, d in out.items()}


def compare(a, b):
    for kind in ("long_term", "fused"):
        ratio = [b[c][kind]["mae"] / a[c][kind]["mae"] for c in a]
        sa = np.mean([abs(a[c][kind]["signed"]) for c in a])
        sb = np.mean([abs(b[c][kind]["signed"]) for c in a])
        ca = np.mean([abs(a[c][kind]["cov"] - 0.8) for c in a])
        cb = np.mean([abs(b[c][kind]["cov"] - 0.8) for c in a])
        print(f"{kind:10s} mean MAE ratio {np.mean(ratio):.4f} (worst {np.max(ratio):.3f}); mean |signed error| "
              f"{sa * 1e3:.4f} -> {sb * 1e3:.4f} ms; mean |80% coverage - 80%| {ca:.1%} -> {cb:.1%}")


def main():
    ap = argparse.ArgumentParser(description="The Engine's long-term clock-bolt on regular polls (docs/models.md).")
    ap.add_argument("disciplined", nargs="?", type=seed_range)
    ap.add_argument("free_running", nargs="?", type=seed_range)
    ap.add_argument("--json", help="write the per-clock figures here")
    ap.add_argument("--compare", nargs=2, metavar=("A", "B"), help="compare two --json outputs")
    args = ap.parse_args()
    if args.compare:
        a, b = (json.load(open(p)) for p in args.compare)
        compare(a, b)
        return
    if args.disciplined is None or args.free_running is None:
        ap.error("give the two seed ranges (or --compare A B)")
    res = {}
    for name, r in clocks(args.disciplined, args.free_running):
        res[name] = s = score(r)
        print(f"{name:32s} " + "  ".join(
            f"{k}: signed {v['signed'] * 1e3:+8.4f} ms MAE {v['mae'] * 1e3:8.4f} ms 80% {v['cov']:.1%}"
            for k, v in s.items()), flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
