"""`chronotick simulate`: simulate a clock and its NTP-like measurements and
write them as a plain CSV with a header:

    t,offset,uncertainty,delay,true_offset,temperature_c,cpu_load,net_congestion

t: seconds since the start; offset: measured reference - local (s);
uncertainty: NTP bound delay/2 + root dispersion (s); delay: round trip (s);
true_offset: the simulated truth (s); then the covariates at those times.
The first three columns are the plain `t, offset[, uncertainty]` layout.
"""
from __future__ import annotations

import argparse
import sys

import numpy as np


def add_arguments(p: argparse.ArgumentParser) -> None:
    from chronotick.sim import PRESETS, SCENARIOS
    p.add_argument("--preset", default="tcxo", help=f"clock preset: {', '.join(sorted(PRESETS))} (default tcxo)")
    p.add_argument("--scenario", default="steady",
                   help=f"environment: {', '.join(sorted(SCENARIOS))}, combinable with '+' (default steady)")
    p.add_argument("--hours", type=float, default=6.0, help="duration in hours (default 6)")
    p.add_argument("--out", required=True, help="output CSV path ('-' for stdout)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--poll-s", type=float, default=None, help="poll interval in seconds (default 64)")
    p.add_argument("--poll-mode", choices=("fixed", "adaptive"), default=None,
                   help="fixed interval or ntpd-like adaptive 2^n s (default fixed)")
    p.add_argument("--disciplined", action="store_true",
                   help="keep the clock near the reference with an NTP-like servo "
                        "(always on for --preset disciplined)")
    p.add_argument("--dt", type=float, default=1.0, help="simulation step in seconds (default 1)")
    p.add_argument("--servers", type=int, default=None,
                   help="a server pool: each poll asks one of N servers at random (default 1)")
    p.add_argument("--server-delay-spread-s", type=float, default=None,
                   help="each pool server's extra round-trip delay ~ U(0, this) seconds (default 0)")
    p.add_argument("--server-asymmetry-s", type=float, default=None,
                   help="rms of each pool server's own path asymmetry, seconds (default 0)")


def run(args: argparse.Namespace) -> int:
    from chronotick import sim
    for name, v in (("--hours", args.hours), ("--dt", args.dt), ("--poll-s", args.poll_s)):
        if v is not None and not v > 0:  # also catches nan
            print(f"chronotick simulate: {name} must be > 0, got {v!r}", file=sys.stderr)
            return 2
    overrides = {}
    if args.poll_mode is not None:
        overrides["poll_mode"] = args.poll_mode
    for name in ("servers", "server_delay_spread_s", "server_asymmetry_s"):
        if getattr(args, name) is not None:
            overrides[name] = getattr(args, name)
    try:
        r = sim.simulate(preset=args.preset, scenario=args.scenario, duration_s=args.hours * 3600.0,
                         poll_s=args.poll_s, seed=args.seed, disciplined=True if args.disciplined else None,
                         dt=args.dt, **overrides)
    except (ValueError, TypeError) as e:
        print(f"chronotick simulate: {e}", file=sys.stderr)
        return 2
    tr = r.trace
    names = sorted(tr.covariates)
    cols = [tr.times, tr.offsets, tr.uncertainty, tr.delay, r.true_offset] + [tr.covariates[k] for k in names]
    header = ",".join(["t", "offset", "uncertainty", "delay", "true_offset"] + names)
    data = np.column_stack(cols)
    out = sys.stdout if args.out == "-" else open(args.out, "w", encoding="ascii")
    try:
        np.savetxt(out, data, fmt="%.12g", delimiter=",", header=header, comments="")
    finally:
        if out is not sys.stdout:
            out.close()
    if args.out != "-":
        print(f"wrote {len(tr)} measurements over {args.hours:g} h ({r.params.preset}, {r.params.scenario}, "
              f"seed {r.params.seed}{', disciplined' if r.params.disciplined else ''}) to {args.out}",
              file=sys.stderr)
    return 0
