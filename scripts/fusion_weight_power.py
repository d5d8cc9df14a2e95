#!/usr/bin/env python3
"""Offline check of the fusion's weight rule (docs/models.md, "sharper weights"): auto's members
at every backtest target of simulated clocks, and the fused mean under w ~ 1/MAE^p.

    python scripts/fusion_weight_power.py d:2001-2008,f:2101-2108     # selection clocks
    python scripts/fusion_weight_power.py d:3001-3008,f:3101-3108     # held out

d:A-B: disciplined clocks (the `disciplined` preset, scenarios steady / server_load /
thermal_cycle / network_spike in turn), f:A-B: free-running xo / tcxo / ocxo / vm in turn,
s:A-B: disciplined (steady) clocks whose measured offset shifts once by 2-20 ms (Rule LS);
10 h at a 100 s poll, one seed each. For each target 1, 8 and 32 polls ahead the members see
only the (at most 512) measurements before the origin (no delay weights). p = 2 is the core's
rule (it reproduces the core's fused mean); "best" takes the member with the smallest recent MAE.
Prints MAE / median-of-last-5, mean over the clocks of each kind.
"""
import argparse
import math
import re
import types

import numpy as np

import _sources  # beside this file: sys.path[0] when run as a file

_sources.choose()
from chronotick import _core, api, sim  # noqa: E402

LEADS = (1, 8, 32)
RULES = ("core", "2", "3", "4", "6", "best")


def clock_spec(text):
    """"d:A-B,f:A-B,..." as [(kind, A, B), ...] (kind d, f or s, seeds A <= B); argparse's error naming
    the bad part otherwise."""
    parts = []
    for part in text.split(","):
        m = re.fullmatch(r"([dfs]):(\d+)-(\d+)", part)
        if not m or int(m[2]) > int(m[3]):
            raise argparse.ArgumentTypeError(f"bad clock range {part!r} in {text!r}: want d:A-B, f:A-B or s:A-B "
                                             f"(d disciplined, f free-running, s disciplined with a level shift; "
                                             f"seeds A <= B), comma-separated")
        parts.append((m[1], int(m[2]), int(m[3])))
    return parts


def traces(spec):
    scenarios = ("steady", "server_load", "thermal_cycle", "network_spike")
    for kind, a, b in spec:
        for k, seed in enumerate(range(a, b + 1)):
            if kind == "d":
                r = sim.simulate(preset="disciplined", scenario=scenarios[k % 4], duration_s=10 * 3600.0,
                                 poll_s=100.0, seed=seed)
            elif kind == "s":
                # a disciplined clock whose measured offset shifts once by 2-20 ms (either sign) at a
                # poll between the 120th and the 300th: a change of server or of the path's asymmetry
                # (Rule LS, session 34)
                r = sim.simulate(preset="disciplined", scenario="steady", duration_s=10 * 3600.0,
                                 poll_s=100.0, seed=seed)
                g = np.random.default_rng([seed, 5])
                at = int(g.integers(120, 301))
                size = g.choice([-1.0, 1.0]) * math.exp(g.uniform(math.log(2e-3), math.log(20e-3)))
                y = r.trace.offsets.copy()
                y[at:] += size
                yield kind, types.SimpleNamespace(times=r.trace.times, offsets=y)
                continue
            else:
                r = sim.simulate(preset=("xo", "tcxo", "ocxo", "vm")[k % 4], scenario="steady",
                                 duration_s=10 * 3600.0, poll_s=100.0, seed=seed, disciplined=False)
            yield kind, r.trace


def fused_mean(means, maes, w_core, rule):
    if rule == "core":
        return float(np.sum(w_core * means))
    ok = np.isfinite(maes) & (maes > 0) & np.isfinite(means)
    if not ok.any():
        return float(np.sum(w_core * means))
    if rule == "best":
        return float(means[ok][np.argmin(maes[ok])])
    w = np.zeros_like(maes)
    w[ok] = maes[ok] ** -float(rule)
    return float(np.sum(w[ok] * means[ok]) / w.sum())


def auto_at_targets(t_all, y_all, h, bolt, levels, p):
    """For every target i from the 10th measurement on: (i, the measurements before its origin h
    polls earlier (at most 512), auto's fusion of the core's members and `bolt` from them)."""
    for i in range(10 + h - 1, len(t_all)):
        lo = max(0, i - h + 1 - 512)
        t, y = t_all[lo:i - h + 1], y_all[lo:i - h + 1]
        tg = np.array([t_all[i]])
        fc, *past = bolt.forecast_with_past(t, y, tg, levels, p)
        fused, _ = api.fuse_with_onnx(t, y, None, tg, levels, p, [(fc, *past)] if fc is not None else [])
        yield i, y, fused


def main(spec):
    p = _core.ModelParams()
    levels = np.array(api._BASE_LEVELS)
    bolt = api.onnx_forecaster("clock-bolt")
    ratios = {}
    for kind, tr in traces(spec):
        t_all, y_all = tr.times, tr.offsets
        for h in LEADS:
            err = {r: [] for r in (*RULES, "median-5")}
            for i, y, fused in auto_at_targets(t_all, y_all, h, bolt, levels, p):
                means = np.array([m.mean[0] for m in fused.members])
                maes = np.array([m.recent_mae[0] if len(m.recent_mae) else np.nan for m in fused.members])
                w = np.asarray(fused.weights)[:, 0]
                err["median-5"].append(abs(np.median(y[-5:]) - y_all[i]))
                for r in RULES:
                    err[r].append(abs(fused_mean(means, maes, w, r) - y_all[i]))
            for r in RULES:
                ratios.setdefault((kind, h, r), []).append(np.mean(err[r]) / np.mean(err["median-5"]))
    for kind in sorted({k for k, _, _ in ratios}):
        for h in LEADS:
            print(f"{kind} {h:2d} ahead: " + "  ".join(f"p={r}: {np.mean(ratios[(kind, h, r)]):.4f}"
                                                      if r not in ("core", "best") else
                                                      f"{r}: {np.mean(ratios[(kind, h, r)]):.4f}" for r in RULES))


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description="auto's fused mean under w ~ 1/MAE^p on simulated clocks "
                                             "(docs/models.md).")
    ap.add_argument("clocks", nargs="?", type=clock_spec, default="d:2001-2008,f:2101-2108",
                    help="comma-separated d:A-B (disciplined) and f:A-B (free-running) seed ranges "
                         "(default d:2001-2008,f:2101-2108)")
    main(ap.parse_args().clocks)
