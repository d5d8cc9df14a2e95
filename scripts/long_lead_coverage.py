#!/usr/bin/env python3
"""Offline audit of the long-lead intervals at full history (docs/models.md, "Known miss: long
leads at full history"): MAE and 80% coverage of a classical forecast 1 to 144 steps ahead on
simulated clocks, scored against the *measured* offset at each target.

    python scripts/long_lead_coverage.py 8001-8012                  # the audit's clocks
    python scripts/long_lead_coverage.py 2201-2206 2301-2306        # selection clocks
    python scripts/long_lead_coverage.py 8001-8012 --json a.json    # keep per-clock numbers
    python scripts/long_lead_coverage.py 8001-8012 --compare a.json # ... and compare with them

Clocks: one per seed, 24 h at 64 s polls, the kind cycling over the concatenated seed list
through 12 kinds: the `disciplined` preset under steady / server_load / thermal_cycle /
network_spike, then free-running xo / tcxo / ocxo / vm under steady, then free-running
xo / tcxo / ocxo / vm under thermal_cycle. So 8001-8012 and "2201-2206 2301-2306" hold every kind
once. Origins o at every --every-th measurement (1: all) once --history (512) measurements exist,
while the longest lead's target time lies within the record; each forecast sees every
measurement before its origin (--window N: only the newest N), no delay weights:
chronotick.predict(offsets[:o], times[:o], horizon=144, model="fused"). A target counts where a
measurement exists at its time (the simulator drops some polls). Per lead: MAE against the
measured offset, the share of measured offsets inside fc.interval(0.8) and that interval's score
(Winkler: width + 10 x the distance outside; --json only). Prints per clock and the mean over
clocks; with --compare, each lead's mean coverage before/after and the mean over clocks of the
MAE and interval-score ratios after/before.
"""
import argparse
import json
import re
import sys

import numpy as np

import _sources  # beside this file: sys.path[0] when run as a file

_sources.choose()
import chronotick  # noqa: E402
from chronotick import sim  # noqa: E402

SCENARIOS = ("steady", "server_load", "thermal_cycle", "network_spike")
FREE = ("xo", "tcxo", "ocxo", "vm")
KINDS = ([("disciplined", s, True) for s in SCENARIOS] + [(p, "steady", False) for p in FREE]
         + [(p, "thermal_cycle", False) for p in FREE])


def seed_range(text):
    """"A-B" (seeds, A <= B) or "A" as (A, B); argparse's error naming the value otherwise."""
    m = re.fullmatch(r"(\d+)(?:-(\d+))?", text)
    if not m or (m[2] is not None and int(m[1]) > int(m[2])):
        raise argparse.ArgumentTypeError(f"bad seed range {text!r}: want A-B, seeds A <= B (e.g. 2201-2206), or A")
    return int(m[1]), int(m[2] if m[2] is not None else m[1])


def leads_list(text):
    try:
        out = sorted({int(v) for v in text.split(",")})
    except ValueError:
        out = []
    if not out or out[0] < 1:
        raise argparse.ArgumentTypeError(f"bad leads {text!r}: want comma-separated integers >= 1")
    return out


def clocks(ranges):
    k = 0
    for a, b in ranges:
        for seed in range(a, b + 1):
            preset, scenario, disc = KINDS[k % len(KINDS)]
            k += 1
            r = sim.simulate(preset=preset, scenario=scenario, duration_s=24 * 3600.0, poll_s=64.0, seed=seed,
                             disciplined=disc)
            yield f"{preset}/{scenario}/{seed}", r.trace


def score(tr, leads, every, history, model, window=0):
    t, y = np.asarray(tr.times, float), np.asarray(tr.offsets, float)
    ok = np.isfinite(y)
    t, y = t[ok], y[ok]
    H = max(leads)
    lead_idx = np.asarray(leads) - 1
    err = {L: [] for L in leads}
    cov = {L: [] for L in leads}
    wink = {L: [] for L in leads}
    for o in range(history, t.size, every):
        lo_i = max(0, o - window) if window else 0
        hist_t, hist_y = t[lo_i:o], y[lo_i:o]
        fc = chronotick.predict(hist_y, hist_t, horizon=H, model=model)
        if fc.times[-1] > t[-1]:
            break
        tg = fc.times[lead_idx]
        j = np.searchsorted(t, tg)
        j = np.minimum(j, t.size - 1)
        have = np.abs(t[j] - tg) < 1e-6 * max(1.0, float(np.median(np.diff(hist_t))))
        lo, hi = fc.interval(0.8)
        for n, L in enumerate(leads):
            if not have[n]:
                continue
            m = y[j[n]]
            err[L].append(abs(float(fc.mean[L - 1]) - m))
            cov[L].append(bool(lo[L - 1] <= m <= hi[L - 1]))
            # the 80% interval score (Winkler): width + 2/0.2 x the distance outside
            wink[L].append(float(hi[L - 1] - lo[L - 1]) + 10.0 * max(0.0, float(lo[L - 1]) - m, m - float(hi[L - 1])))
    return ({L: float(np.mean(err[L])) for L in leads}, {L: float(np.mean(cov[L])) for L in leads},
            {L: len(err[L]) for L in leads}, {L: float(np.mean(wink[L])) for L in leads})


def main():
    ap = argparse.ArgumentParser(description="MAE and 80%% coverage of classical forecasts 1-144 steps ahead "
                                             "at full history on simulated clocks (docs/models.md).")
    ap.add_argument("seeds", nargs="+", type=seed_range,
                    help="seed ranges A-B (or a single seed A); the clock kinds cycle over them in order")
    ap.add_argument("--leads", type=leads_list, default=[1, 8, 32, 64, 144],
                    help="comma-separated leads in polls (default 1,8,32,64,144); the horizon is the largest")
    ap.add_argument("--every", type=int, default=1, help="measurements between origins (default 1: every one)")
    ap.add_argument("--history", type=int, default=512, help="measurements before the first origin (default 512)")
    ap.add_argument("--window", type=int, default=0,
                    help="each forecast sees only the newest WINDOW measurements before its origin "
                         "(default 0: all of them, as chronotick.predict(offsets[:o], times[:o]))")
    ap.add_argument("--model", default="fused", help="model passed to chronotick.predict (default fused)")
    ap.add_argument("--json", metavar="OUT", help="write the per-clock numbers to OUT")
    ap.add_argument("--compare", metavar="BEFORE", help="compare with per-clock numbers written by --json")
    args = ap.parse_args()
    if args.every < 1 or args.history < 8 or not (args.window == 0 or args.window >= 8):
        ap.error(f"--every must be >= 1, --history >= 8, --window 0 or >= 8 "
                 f"(got {args.every}, {args.history}, {args.window})")
    leads = args.leads
    rows = []
    print(f"{'clock':32s} " + " ".join(f"{'MAE@' + str(L):>10s} {'cov':>6s}" for L in leads), flush=True)
    for name, tr in clocks(args.seeds):
        mae, cov, cnt, wink = score(tr, leads, args.every, args.history, args.model, args.window)
        rows.append({"clock": name, "mae": {str(L): mae[L] for L in leads}, "cov": {str(L): cov[L] for L in leads},
                     "n": {str(L): cnt[L] for L in leads}, "interval_score": {str(L): wink[L] for L in leads}})
        print(f"{name:32s} " + " ".join(f"{mae[L] * 1e3:9.4f}m {cov[L]:6.1%}" for L in leads), flush=True)
    print(f"{'mean coverage':32s} " + " ".join(f"{'':10s} {np.mean([r['cov'][str(L)] for r in rows]):6.1%}"
                                              for L in leads))
    print(f"{'worst coverage':32s} " + " ".join(f"{'':10s} {np.min([r['cov'][str(L)] for r in rows]):6.1%}"
                                               for L in leads))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": {"seeds": args.seeds, "every": args.every, "history": args.history,
                                "window": args.window, "model": args.model}, "rows": rows}, f, indent=1)
    if args.compare:
        with open(args.compare) as f:
            before = {r["clock"]: r for r in json.load(f)["rows"]}
        common = [r for r in rows if r["clock"] in before]
        if not common:
            sys.exit(f"--compare {args.compare}: no clock in common")
        print(f"compared on {len(common)} clocks: lead, mean coverage before -> after, mean MAE ratio after/before "
              f"(worst clock)")
        for L in map(str, leads):
            cb = np.mean([before[r["clock"]]["cov"][L] for r in common])
            ca = np.mean([r["cov"][L] for r in common])
            ratio = [r["mae"][L] / before[r["clock"]]["mae"][L] for r in common]
            line = (f"  {L:>4s}: coverage {cb:6.1%} -> {ca:6.1%}  MAE ratio {np.mean(ratio):.4f} "
                    f"(worst {np.max(ratio):.4f})")
            scored = [r for r in common if "interval_score" in r and "interval_score" in before[r["clock"]]]
            if scored:  # files written before the interval score was recorded have none
                iss = [r["interval_score"][L] / before[r["clock"]]["interval_score"][L] for r in scored]
                line += f"  interval-score ratio {np.mean(iss):.4f} (worst {np.max(iss):.4f})"
            print(line, flush=True)


if __name__ == "__main__":
    main()
