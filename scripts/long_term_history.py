#!/usr/bin/env python3
"""Offline check (docs/models.md, the long-term model's "Its history"): the Engine's long-term ONNX
model fed engine.history measurements (before 2026-12-02, session 13) or the measurements its
window spans (after), scored on simulated clocks against their true offset.

    python scripts/long_term_history.py 9201-9204 9301-9304

First range: disciplined clocks (steady / server_load / thermal_cycle / network_spike in turn),
second: free-running xo / tcxo / ocxo / vm in turn; 48 h at 64 s polls, one seed each. Engine:
the default config with long_term {model: clock-bolt, step_factor: 8}. At origins every 25 polls
from poll 700 (the long-term model then has 87 of its 256 cells with engine.history alone) until
its 64 targets (512 polls ahead) end inside the record: predict_fused()'s MAE against the true
offset at its targets and the share of them inside its 80% interval, and the share of the
measurements at those targets inside it (what the interval is calibrated to cover; since
2026-12-03). Prints per clock and the mean of the per-clock MAE ratios (after / before).
"""
import argparse
import re

import numpy as np

import _sources  # beside this file: sys.path[0] when run as a file

_sources.choose()
from chronotick import sim  # noqa: E402
from chronotick.engine import Engine  # noqa: E402

CFG = {"long_term": {"model": "clock-bolt", "step_factor": 8}}


def seed_range(text):
    """"A-B" (seeds, A <= B) as (A, B); argparse's error naming the value otherwise."""
    m = re.fullmatch(r"(\d+)-(\d+)", text)
    if not m or int(m[1]) > int(m[2]):
        raise argparse.ArgumentTypeError(f"bad seed range {text!r}: want A-B, seeds A <= B (e.g. 9201-9204)")
    return int(m[1]), int(m[2])


def clocks(dspan, fspan):
    scen = ("steady", "server_load", "thermal_cycle", "network_spike")
    a, b = dspan
    for k, seed in enumerate(range(a, b + 1)):
        yield f"disciplined/{scen[k % 4]}/{seed}", sim.simulate(
            preset="disciplined", scenario=scen[k % 4], duration_s=48 * 3600.0, poll_s=64.0, seed=seed)
    a, b = fspan
    for k, seed in enumerate(range(a, b + 1)):
        p = ("xo", "tcxo", "ocxo", "vm")[k % 4]
        yield f"{p}/{seed}", sim.simulate(preset=p, scenario="steady", duration_s=48 * 3600.0, poll_s=64.0,
                                          seed=seed, disciplined=False)


def score(r, old: bool):
    tr = r.trace
    t, y = tr.times, tr.offsets
    eng = Engine(CFG)
    if old:
        eng._long_history = eng._cfg["engine"]["history"]
    err, cov, cov_m, seen = [], [], [], 0
    for o in range(700, t.size - 520, 25):
        eng.observe_many(t[seen:o], y[seen:o])
        seen = o
        fc = eng.predict_fused((0.1, 0.5, 0.9))
        truth = np.interp(fc.times, r.t, -r.x)
        err.append(np.abs(fc.mean - truth))
        lo, hi = fc.interval(0.8)
        cov.append((truth >= lo) & (truth <= hi))
        # the measurement at each target, where the poll there was not lost: what the intervals
        # are calibrated to cover (the true offset lacks the measurement noise: it falls inside
        # more often)
        j = np.minimum(np.searchsorted(t, fc.times), t.size - 1)
        have = np.abs(t[j] - fc.times) < 1.0
        cov_m.append(((y[j] >= lo) & (y[j] <= hi))[have])
    eng.close()
    return float(np.mean(err)), float(np.mean(cov)), float(np.mean(np.concatenate(cov_m)))


def main(dspan, fspan):
    ratios, cov_a, cov_b, cm_a, cm_b = [], [], [], [], []
    for name, r in clocks(dspan, fspan):
        (ma, ca, mca), (mb, cb, mcb) = score(r, True), score(r, False)
        ratios.append(mb / ma)
        cov_a.append(ca)
        cov_b.append(cb)
        cm_a.append(mca)
        cm_b.append(mcb)
        print(f"{name:32s} MAE before {ma * 1e3:9.4f} ms  after {mb * 1e3:9.4f} ms  ratio {mb / ma:6.3f}   "
              f"80% coverage of the true offset {ca:.1%} -> {cb:.1%}, of the measurement {mca:.1%} -> {mcb:.1%}",
              flush=True)
    print(f"mean ratio {np.mean(ratios):.4f} (worst {np.max(ratios):.3f}); 80% coverage of the true offset "
          f"{np.mean(cov_a):.1%} -> {np.mean(cov_b):.1%}, of the measurement {np.mean(cm_a):.1%} -> {np.mean(cm_b):.1%}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description="The long-term model fed engine.history measurements or its "
                                             "window's, scored on simulated clocks (docs/models.md).")
    ap.add_argument("disciplined", type=seed_range, help="seeds A-B of the disciplined clocks, e.g. 9201-9204")
    ap.add_argument("free_running", type=seed_range, help="seeds A-B of the free-running clocks, e.g. 9301-9304")
    args = ap.parse_args()
    main(args.disciplined, args.free_running)
