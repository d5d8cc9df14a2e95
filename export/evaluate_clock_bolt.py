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
"""
from __future__ import annotations

import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "python"))

from chronotick.backtest import core_model, run_backtest, summarize, trace_files
from chronotick.io import load_chronotick_csv
from chronotick.models.onnx import OnnxForecaster


def onnx_forecaster(model: OnnxForecaster, calibrate: bool):
    def f(t, y, u, target_t, level):
        a = (1 - level) / 2
        fc = model.forecast(t, y, [target_t], [a, 0.5, 1 - a], calibrate=calibrate)
        q = fc.quantiles[0]
        return float(fc.mean[0]), float(q[0]), float(q[2])
    return f


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=os.path.join(HERE, "..", "python", "chronotick", "models", "data",
                                                     "clock-bolt.onnx"))
    ap.add_argument("--data-dir", default=os.path.join(HERE, "..", "..", "shared", "data"))
    ap.add_argument("--level", type=float, default=0.8)
    args = ap.parse_args(argv)
    model = OnnxForecaster(args.model)
    name = model.name
    results = []
    for path in trace_files(args.data_dir):
        tr = load_chronotick_csv(path)
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
    print("\nper trace MAE (ms):")
    print("| trace | " + " | ".join(summ) + " |")
    print("|---|" + "---:|" * len(summ))
    for r in results:
        tab = r.table()
        print(f"| {r.trace} | " + " | ".join(f"{tab[m]['mae'] * 1e3:.3f}" for m in summ) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
