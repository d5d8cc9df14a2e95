#!/usr/bin/env python3
"""Score an ONNX forecaster on the real NTP traces: the next-NTP-point task.

    python export/evaluate_clock_bolt.py [--model python/chronotick/models/data/clock-bolt.onnx]

Leakage-free rolling origin (chronotick.backtest.run_backtest): for every
measurement after the 10th, each forecaster sees only the earlier ones and
predicts that measurement. Prints, per trace and on average, MAE, P95 and
max absolute error (ms) and the coverage of the central 80% interval, for
the ONNX model with and without online conformal calibration, hold-last,
median of the last 5 and the classical fusion of the C++ core. This is the
table in docs/models.md.

    python export/evaluate_clock_bolt.py --simulated 16

scores the same way on simulated NTP-disciplined clocks instead (the
`disciplined` preset, the four scenarios in turn, 10 h at a 100 s poll,
seeds 1001, 1002, ...; never in the training data, whose seeds come from
--seed 0's generator): the validation set for choices about the model
(training length, data mix) that leaves the real traces for the report.
The ratio to median-of-5 is printed as well.
"""
from __future__ import annotations

import argparse
import math
import os
import sys

HERE = os.path.dirname(os.path.realpath(__file__))   # (a symlinked script: its real folder)
sys.path.insert(0, os.path.join(HERE, "..", "scripts"))
import _sources  # noqa: E402  scripts/_sources.py: the sources (with a developer build) or the installed package
_sources.choose()

from chronotick.backtest import core_model, run_backtest, summarize, trace_files
from chronotick.errors import ModelError
from chronotick.io import load_chronotick_csv
from chronotick.models.onnx import OnnxForecaster


def onnx_forecaster(model: OnnxForecaster, calibrate: bool):
    def f(t, y, u, target_t, level):
        a = (1 - level) / 2
        fc = model.forecast(t, y, [target_t], [a, 0.5, 1 - a], calibrate=calibrate)
        q = fc.quantiles[0]
        return float(fc.mean[0]), float(q[0]), float(q[2])
    return f


def simulated(n: int):
    """n simulated NTP-disciplined clocks (see the module docstring), as Traces."""
    from chronotick import sim
    scenarios = ("steady", "server_load", "thermal_cycle", "network_spike")
    for k in range(n):
        r = sim.simulate(preset="disciplined", scenario=scenarios[k % 4], duration_s=10 * 3600.0, poll_s=100.0,
                         seed=1001 + k)
        tr = r.trace
        tr.uncertainty = None          # as the real traces: offsets and times only
        tr.source = f"sim-disciplined-{scenarios[k % 4]}-{1001 + k}"
        yield tr


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=os.path.join(HERE, "..", "python", "chronotick", "models", "data",
                                                     "clock-bolt.onnx"))
    ap.add_argument("--data-dir", default=os.path.join(HERE, "..", "..", "shared", "data"))
    ap.add_argument("--level", type=float, default=0.8)
    ap.add_argument("--simulated", type=int, default=0, metavar="N",
                    help="score on N simulated disciplined clocks instead of the real traces (0: the real traces)")
    args = ap.parse_args(argv)
    if not (math.isfinite(args.level) and 0 < args.level < 1):
        ap.error(f"--level must be a number in (0, 1), got {args.level!r}")
    if args.simulated < 0:
        ap.error(f"--simulated must be >= 0 (0: the real traces), got {args.simulated!r}")
    files = [] if args.simulated else trace_files(args.data_dir)
    if not args.simulated and not files:
        ap.error(f"no traces to score: no *.csv in {os.path.join(args.data_dir, 'clock-traces')} (--data-dir; "
                 f"or --simulated N)")
    try:
        model = OnnxForecaster(args.model)
    except (ModelError, ValueError, OSError) as exc:
        print(f"evaluate_clock_bolt.py: {' '.join(str(exc).split())}", file=sys.stderr)
        raise SystemExit(1) from None
    name = model.name
    results = []
    for tr in (simulated(args.simulated) if args.simulated else (load_chronotick_csv(p) for p in files)):
        fs = {name: onnx_forecaster(model, True), f"{name} (raw quantiles)": onnx_forecaster(model, False),
              "fused (classical)": core_model("fused")}
        res = run_backtest(tr, fs, level=args.level, include_prototype=False)
        results.append(res)
        print(res.format("ms"))
        print()
    summ = summarize(results)
    cov = f"cov{int(args.level * 100)}"
    print(f"| model | MAE (ms) | P95 (ms) | max (ms) | {cov} |")
    print("|---|---:|---:|---:|---:|")
    for m, r in summ.items():
        print(f"| {m} | {r['mae'] * 1e3:.3f} | {r['p95'] * 1e3:.3f} | {r['max'] * 1e3:.3f} | {r['coverage'] * 100:.1f}% |")
    base = summ["median-5"]["mae"]
    print("\nMAE / median-5 MAE (of the means over traces): " +
          ", ".join(f"{m} {r['mae'] / base:.4f}" for m, r in summ.items()))
    print("\nper trace MAE (ms):")
    print("| trace | " + " | ".join(summ) + " |")
    print("|---|" + "---:|" * len(summ))
    for r in results:
        tab = r.table()
        print(f"| {r.trace} | " + " | ".join(f"{tab[m]['mae'] * 1e3:.3f}" for m in summ) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
